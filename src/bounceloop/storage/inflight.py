"""In-flight marks on PostgreSQL, committed from the event loop on a connection of their own.

Every final dot waits for its mark (delivery.engine, RFC 1047's window), so a mark's
latency is every lane's. Through SQLAlchemy in a thread a batch of marks took 1.25 ms
(median, bench/send.py --postgres, 10,000 messages, 2.6 marks a batch): the thread waited
for the interpreter lock the lanes hold, to run Python for a statement that PostgreSQL
answers in 0.2 ms. Here the statement is sent by psycopg's asyncio connection from the loop
itself: no thread, one round trip, one statement for the whole batch (``= ANY``).

Same statement and the same session setting as :func:`bounceloop.storage.messages.mark_sending`
on a :func:`~bounceloop.storage.messages.mark_connection`: autocommit, ``synchronous_commit``
off for the session. Not flushed, because what a mark guards against is sending twice: a
mark lost with the database server's crash can only make one message go out twice (RFC
1047's duplicate), as the journal's unsynced line can. A flush per batch would hold every
lane for the disk (bench/send.py: 553 messages/s flushed, where the lanes' batches held 1.6
marks on average). What we promise not to lose (the outcome of each attempt,
storage.messages.record) is flushed before it is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import any_, bindparam, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from bounceloop.storage.tables import messages, stored_utc

_DIALECT = postgresql.dialect(paramstyle="pyformat")  # type: ignore[no-untyped-call]
_MARK = str(update(messages).where(messages.c.id == any_(bindparam("ids")))
            .values(status=bindparam("status"), updated_at=bindparam("now"),
                    sent_by=bindparam("worker"))
            .compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True}))


def conninfo(url: URL) -> str:
    """libpq's URI for a SQLAlchemy PostgreSQL URL (the driver name dropped)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Marks:
    """Marks messages in flight, one batch at a time (the engine never sends two at once)."""

    def __init__(self, url: URL) -> None:
        self._conninfo = conninfo(url)
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def mark(self, ids: Sequence[str], now: datetime, worker: str) -> None:
        """Committed when this returns. A database error is raised as SQLAlchemy's (as
        every other statement of the engine's), and drops the connection: the next mark
        opens another."""
        try:
            if self._conn is None:
                self._conn = await psycopg.AsyncConnection.connect(self._conninfo,
                                                                   autocommit=True)
                await self._conn.execute("SET synchronous_commit = off")
            await self._conn.execute(_MARK, {"ids": list(ids), "status": "sending",
                                             "now": stored_utc(now), "worker": worker or None})
        except psycopg.Error as exc:
            self.close()
            raise DBAPIError.instance(_MARK, None, exc, psycopg.Error) from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # AsyncConnection.close() does no more than this (psycopg 3), and the engine
            # closes from synchronous code.
            conn.pgconn.finish()


__all__ = ["Marks", "conninfo"]
