"""Log exports: one UTC day of one kind of record, streamed in id order.

MailerQ and Copernica hand out their logs per day and per kind; so do we::

    errors          error rows (synchronous and bounces; replaced ones with current false)
    retries         attempts that failed temporarily (another attempt was scheduled)
    deliveries      attempts the recipient's server accepted
    attempts        every attempt
    bounces         every message returned to us (without its bytes: see the bounces API)
    webhook-errors  every failed webhook call

Rows are read in keyset batches of the day's index (time, then id), so a day of a million
attempts streams in constant memory. Attempts carry their message's recipient, mailing and
sender, so a log line stands on its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Column, Connection, Select, Table, or_, select

from bounceloop.storage.errorlist import FIELDS as ERROR_FIELDS
from bounceloop.storage.story import ATTEMPT_FIELDS
from bounceloop.storage.tables import attempts, errors, messages, received, webhook_failures

KINDS = ("errors", "retries", "deliveries", "attempts", "bounces", "webhook-errors")
_ATTEMPT_COLUMNS = ("id", "message_id", "recipient", "mailing_id", "sender",
                    *ATTEMPT_FIELDS)
_BOUNCE_COLUMNS = ("id", "received_at", "source", "peer", "helo", "mail_from", "rcpts",
                   "size", "digest", "status", "processed_at", "message_id", "mailing_id",
                   "recipient", "tied_by", "reported_recipient", "hint_message_id",
                   "hint_by", "records", "detector", "kind", "error")
_WEBHOOK_COLUMNS = ("id", "time", "webhook_id", "event_id", "job_id", "attempt", "url", "ip",
                    "status", "error", "description", "duration_ms")


def columns(kind: str) -> tuple[str, ...]:
    """The fields of a log's rows, in order (the CSV header)."""
    if kind == "errors":
        return ERROR_FIELDS
    if kind in ("retries", "deliveries", "attempts"):
        return _ATTEMPT_COLUMNS
    if kind == "bounces":
        return _BOUNCE_COLUMNS
    if kind == "webhook-errors":
        return _WEBHOOK_COLUMNS
    raise ValueError(f"a log is one of {', '.join(KINDS)}, not {kind!r}")


def _source(kind: str) -> tuple[Select[Any], Table, Column[Any]]:
    if kind == "errors":
        return select(*(errors.c[f] for f in ERROR_FIELDS)), errors, errors.c.timestamp
    if kind in ("retries", "deliveries", "attempts"):
        stmt = select(attempts.c.id, attempts.c.message_id, messages.c.recipient,
                      messages.c.mailing_id, messages.c.sender,
                      *(attempts.c[f] for f in ATTEMPT_FIELDS)
                      ).join(messages, messages.c.id == attempts.c.message_id)
        if kind == "retries":
            stmt = stmt.where(attempts.c.final.is_(False), attempts.c.result != "accepted")
        elif kind == "deliveries":
            stmt = stmt.where(attempts.c.result == "accepted")
        return stmt, attempts, attempts.c.started_at
    if kind == "bounces":
        return select(*(received.c[f] for f in _BOUNCE_COLUMNS)), received, \
            received.c.received_at
    if kind == "webhook-errors":
        return select(*(webhook_failures.c[f] for f in _WEBHOOK_COLUMNS)), webhook_failures, \
            webhook_failures.c.time
    raise ValueError(f"a log is one of {', '.join(KINDS)}, not {kind!r}")


def day_log(conn: Connection, kind: str, day: date, batch: int = 5000
            ) -> Iterator[dict[str, Any]]:
    """Every ``kind`` row of the UTC ``day``, oldest first."""
    stmt, table, when = _source(kind)
    start = datetime.combine(day, time(), tzinfo=UTC)
    stmt = stmt.where(when >= start, when < start + timedelta(days=1))
    last: tuple[datetime, int] | None = None
    ident = table.c.id
    while True:
        page = stmt
        if last is not None:
            page = page.where(or_(when > last[0], (when == last[0]) & (ident > last[1])))
        rows = [dict(r._mapping) for r in conn.execute(page.order_by(when, ident)
                                                      .limit(batch))]
        for row in rows:
            if kind == "bounces":
                row["rcpts"] = json.loads(row["rcpts"] or "[]")
            yield row
        if len(rows) < batch:
            return
        last = (rows[-1][when.name], rows[-1]["id"])

