"""The event stream: one row per outcome, for the webhooks, the UI and the suppression rules.

Types, and what makes each unique (its ``key``)::

    delivery   a message accepted by the recipient's server        delivery:<message>
    retry      a temporary failure; another attempt is scheduled    retry:<message>:<attempt>
    failure    a final failure: synchronous (steps 1-4) or a        failure:<message>
               recognised bounce (step 5)                           failure:r<received>:<rcpt>
    bounce     any message returned to us, recognised or not        bounce:r<received>
    complaint  an ARF feedback report                               complaint:r<received>:<rcpt>
    delay      a DSN saying delivery is delayed (not a failure)     delay:r<received>:<rcpt>
    report     a DSN saying delivered/relayed/expanded              report:r<received>:<rcpt>
    autoreply  an RFC 3834 auto-reply (errortype mailmessage)       autoreply:r<received>
    reclassified  reprocessing changed a bounce's error rows         reclassified:r<received>:<n>

Each new event of a type a webhook wants (failure, bounce, delivery, complaint) queues its
delivery in the same transaction (storage.webhooks). An insert that meets an existing key
is dropped (``ON CONFLICT DO NOTHING`` on both
backends), so whatever writes events may run twice - a job taken over after a lost lease, a
reprocessing - and the stream still holds each event once.

``data`` is a JSON object with the fields a consumer needs (the webhook wire format of issue
5 is built from it): at least ``id`` (the message), ``recipient`` and ``tags``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, cast, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import Executable

from bounceloop.storage import webhooks
from bounceloop.storage.engine import conflict_insert
from bounceloop.storage.plan import Unindexed
from bounceloop.storage.prepared import Prepared, pieces, timestamps
from bounceloop.storage.tables import events

TYPES = ("delivery", "retry", "failure", "bounce", "complaint", "delay", "report",
         "autoreply", "reclassified")


def row(*, time: datetime, type: str, key: str, message_id: str | None,
        mailing_id: int | None, recipient: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """An events row ready for :func:`add`."""
    return {"time": time, "type": type, "key": key, "message_id": message_id,
            "mailing_id": mailing_id, "recipient": recipient or None,
            "data": json.dumps(dict(data), separators=(",", ":"), ensure_ascii=False)}


def add(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert events, dropping those whose key is already there (see module doc), and
    queue the webhook deliveries the new ones owe, in the caller's transaction
    (storage.webhooks.fan_out). Returns the number of new events."""
    return len(added(conn, rows))


@dataclass(frozen=True, slots=True)
class New:
    """An event just inserted, as :func:`added` returns it."""

    id: int
    type: str
    mailing_id: int | None
    data: str
    """JSON text."""


_COLUMNS = ("time", "type", "key", "message_id", "mailing_id", "recipient", "data")
#: Rows per INSERT on SQLite: a batch goes in as few multi-row statements of these sizes as
#: add up to it (250 rows: 3 x 64, 3 x 16, 2 x 4, 2 x 1), each compiled once.
_SIZES = (64, 16, 4, 1)


def _insert(size: int) -> Prepared:
    def build(dialect: Dialect) -> Executable:
        stmt = conflict_insert(dialect, events).values(
            [{c: bindparam(f"{c}_{i}") for c in _COLUMNS} for i in range(size)])
        # RETURNING gives back only the rows inserted: an event met again owes nothing.
        return stmt.on_conflict_do_nothing(index_elements=["key"]).returning(  # type: ignore[no-any-return]
            events.c.id, events.c.key)
    return Prepared(build)


_INSERTS = {size: _insert(size) for size in _SIZES}


def _insert_arrays(dialect: Dialect) -> Executable:
    # PostgreSQL: one statement for any number of rows, a column an array parameter,
    # unnested in step (set-returning functions in a select list run in lockstep,
    # PostgreSQL 10+). psycopg converts and caches a statement's text only up to 4,096
    # bytes and 50 parameters (psycopg/_queries.py MAX_CACHED_STATEMENT_LENGTH, _PARAMS):
    # the multi-row VALUES of SQLite were converted again at every execution.
    from sqlalchemy.dialects.postgresql import ARRAY
    arrays = select(*[func.unnest(cast(bindparam(c), ARRAY(events.c[c].type)))
                      for c in _COLUMNS])
    stmt = conflict_insert(dialect, events).from_select(list(_COLUMNS), arrays)
    return stmt.on_conflict_do_nothing(index_elements=["key"]).returning(  # type: ignore[no-any-return]
        events.c.id, events.c.key)


_INSERT_ARRAYS = Prepared(_insert_arrays, binary=True)


def added(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[New]:
    """:func:`add`, returning the new events, in the order of ``rows``."""
    if not rows:
        return []
    when = timestamps(conn.dialect)
    by_key = {r["key"]: r for r in rows}
    inserted: dict[str, int] = {}
    if conn.dialect.name == "postgresql":
        params: dict[str, Any] = {c: [r[c] for r in rows] for c in _COLUMNS[1:]}
        params["time"] = [when(r["time"]) for r in rows]
        inserted.update((row.key, int(row.id)) for row in _INSERT_ARRAYS.one(conn, params))
    else:
        for run in pieces(rows, _SIZES):
            params = {}
            for i, r in enumerate(run):
                params[f"time_{i}"] = when(r["time"])
                for c in _COLUMNS[1:]:
                    params[f"{c}_{i}"] = r[c]
            inserted.update((row.key, int(row.id))
                            for row in _INSERTS[len(run)].one(conn, params))
    new = [New(inserted[key], r["type"], r["mailing_id"], r["data"])
           for key, r in by_key.items() if key in inserted]
    webhooks.fan_out(conn, new)
    return new


@dataclass(frozen=True, slots=True)
class Filters:
    """What ``bounceloop events`` filters on (empty: everything). Error rows have their
    own, richer filters: storage.errorlist."""

    mailing: int | None = None
    recipient: str = ""
    since: datetime | None = None
    type: str = ""
    limit: int | None = None
    tied: bool | None = None
    """False: only events of untied returned mail (``bounce`` events naming no message of
    ours); True: only events of a message of ours; None: both."""


def listing(conn: Connection, f: Filters) -> Iterator[dict[str, Any]]:
    """Events in id order, as plain values (``data`` decoded)."""
    stmt = select(events).order_by(events.c.id)
    # With a recipient, its index finds the rows and the other terms only filter them
    # (storage.plan): SQLite without statistics took the mailing's index, every event of
    # the mailing.
    c: Any = Unindexed(events) if f.recipient else events.c
    if f.recipient:
        stmt = stmt.where(events.c.recipient == f.recipient)
    if f.mailing is not None:
        stmt = stmt.where(c.mailing_id == f.mailing)
    if f.since is not None:
        stmt = stmt.where(c.time >= f.since)
    if f.type:
        stmt = stmt.where(c.type == f.type)
    if f.tied is not None:
        stmt = stmt.where(events.c.message_id.is_not(None) if f.tied
                          else events.c.message_id.is_(None))
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    for r in conn.execute(stmt):
        yield {"id": r.id, "time": r.time, "type": r.type, "message_id": r.message_id or "",
               "mailing_id": r.mailing_id, "recipient": r.recipient or "",
               "data": json.loads(r.data)}
