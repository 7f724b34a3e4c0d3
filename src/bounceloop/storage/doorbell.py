"""A doorbell: whether new jobs may have been queued since the last look, asked cheaply
and often by an idle worker, so a new event is called about in milliseconds rather than
at the next poll.

- SQLite: ``PRAGMA data_version`` on a connection of its own. Its value changes whenever
  another connection (of any process) has committed to the file since the last look
  (https://www.sqlite.org/pragma.html#pragma_data_version); in WAL mode it is read from
  the shared-memory index, with no lock and no I/O (about 6 us here).
- PostgreSQL: ``LISTEN`` on :data:`CHANNEL`, to which :func:`ring` sends a ``NOTIFY``
  in the transaction that queues jobs (storage.webhooks.fan_out); PostgreSQL delivers it
  at that commit, and not at all on a rollback
  (https://www.postgresql.org/docs/current/sql-notify.html).

A ring says "look", not "there is work": the worker still reads what is due. A missed
ring (a connection lost, a commit of another kind) costs at most the poll interval, after
which the worker looks anyway; jobs falling due by time (retries) are found that way too.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

#: The PostgreSQL channel of :func:`ring`.
CHANNEL = "bounceloop_jobs"
#: Seconds between a waiting worker's looks at its doorbell (a look costs microseconds).
LOOK_SECONDS = 0.005


def ring(conn: Connection) -> None:
    """Ring, in the caller's transaction, for the workers listening (PostgreSQL; on SQLite
    the commit itself is the ring)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class Doorbell:
    """Listen on ``engine``'s database. Use from one thread (the worker's event loop)."""

    def __init__(self, engine: Engine) -> None:
        self._raw: Any = None
        self._last: Any = None
        self.dialect = engine.dialect.name
        try:
            self._raw = engine.raw_connection()
            driver = self._raw.driver_connection
            if self.dialect == "sqlite":
                self._last = self._version()
            elif self.dialect == "postgresql":
                driver.autocommit = True
                driver.execute(f"LISTEN {CHANNEL}")
        except Exception:  # no doorbell: the worker polls
            log.warning("no doorbell on the database: polling only", exc_info=True)
            self.close()

    def _version(self) -> Any:
        cursor = self._raw.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            return cursor.fetchone()[0]
        finally:
            cursor.close()

    def rang(self) -> bool:
        """True when a commit (SQLite) or a ring (PostgreSQL) may have queued jobs since
        the last call; never blocks for more than a read of local state."""
        if self._raw is None:
            return False
        try:
            if self.dialect == "sqlite":
                version = self._version()
                changed = version != self._last
                self._last = version
                return bool(changed)
            driver = self._raw.driver_connection
            return any(True for _ in driver.notifies(timeout=0))
        except Exception:
            log.warning("the doorbell failed: polling only", exc_info=True)
            self.close()
            return True  # look once now, in case the failure hid a ring

    def close(self) -> None:
        if self._raw is not None:
            # Not back to the pool: a LISTENing or autocommit connection is not one the
            # others expect.
            with contextlib.suppress(Exception):
                self._raw.invalidate()
            self._raw = None
