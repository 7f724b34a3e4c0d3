"""A message's full story: what it was, every attempt, every event, every error and every
message returned about it - the Message page and ``GET /api/v1/messages/{id}``.

Also the raw returned messages (``GET /api/v1/bounces/{id}/raw``) and the list of mailings
the filters offer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, cast, func, select

from bounceloop.storage.tables import (
    attempts,
    errors,
    events,
    mailings,
    messages,
    received,
    stats,
)

ATTEMPT_FIELDS = ("number", "started_at", "duration_ms", "step", "state", "result", "code",
                  "extended", "description", "errortype", "severity", "mx", "ip", "final")
BOUNCE_FIELDS = ("id", "received_at", "source", "peer", "helo", "mail_from", "size",
                 "status", "tied_by", "reported_recipient", "hint_message_id", "hint_by",
                 "records", "detector", "kind", "error")


def _json(text: str | None, empty: Any) -> Any:
    try:
        return json.loads(text) if text else empty
    except ValueError:  # hand-edited rows must not break the page
        return empty


def message(conn: Connection, message_id: str) -> dict[str, Any] | None:
    """The message with its mailing, attempts, events, errors and returned messages (each
    oldest first); None if there is no such message."""
    m = conn.execute(select(messages).where(messages.c.id == message_id)).first()
    if m is None:
        return None
    g = conn.execute(select(mailings.c.id, mailings.c.name, mailings.c.sender,
                            mailings.c.tags, mailings.c.created_at)
                     .where(mailings.c.id == m.mailing_id)).one()
    out: dict[str, Any] = {
        "id": m.id, "recipient": m.recipient, "domain": m.domain, "sender": m.sender,
        "envelope": m.envelope, "status": m.status, "attempts_made": m.attempts,
        "tags": _json(m.tags, []), "fields": _json(m.fields, {}),
        "created_at": m.created_at, "updated_at": m.updated_at,
        "next_attempt_at": m.next_attempt_at, "expires_at": m.expires_at,
        "finished_at": m.finished_at,
        "last": {k: getattr(m, k) for k in ("step", "state", "code", "extended",
                                           "description", "errortype", "severity")},
        "mailing": {"id": g.id, "name": g.name, "sender": g.sender,
                    "tags": _json(g.tags, []), "created_at": g.created_at},
    }
    out["attempts"] = [{f: getattr(a, f) for f in ATTEMPT_FIELDS} for a in conn.execute(
        select(attempts).where(attempts.c.message_id == message_id)
        .order_by(attempts.c.started_at, attempts.c.id))]
    out["events"] = [{"id": e.id, "time": e.time, "type": e.type,
                      "data": _json(e.data, {})} for e in conn.execute(
        select(events).where(events.c.message_id == message_id)
        .order_by(events.c.time, events.c.id))]
    out["errors"] = [dict(r._mapping) for r in conn.execute(
        select(errors).where(errors.c.message_id == message_id)
        .order_by(errors.c.timestamp, errors.c.id))]
    out["bounces"] = [{f: getattr(r, f) for f in BOUNCE_FIELDS} for r in conn.execute(
        select(*(received.c[f] for f in BOUNCE_FIELDS))
        .where(received.c.message_id == message_id).order_by(received.c.id))]
    return out


@dataclass(frozen=True, slots=True)
class Raw:
    id: int
    received_at: datetime
    message_id: str | None
    raw: bytes


def raw(conn: Connection, received_id: int) -> Raw | None:
    """A returned message's bytes exactly as they arrived."""
    r = conn.execute(select(received.c.id, received.c.received_at, received.c.message_id,
                            received.c.raw).where(received.c.id == received_id)).first()
    if r is None:
        return None
    return Raw(int(r.id), r.received_at, r.message_id, bytes(r.raw))


def bounce(conn: Connection, received_id: int) -> dict[str, Any] | None:
    """A returned message's metadata and the error rows read from it."""
    r = conn.execute(select(*(received.c[f] for f in BOUNCE_FIELDS), received.c.message_id,
                            received.c.mailing_id, received.c.recipient,
                            received.c.rcpts, received.c.digest,
                            received.c.times_processed)
                     .where(received.c.id == received_id)).first()
    if r is None:
        return None
    out = dict(r._mapping)
    out["tied"] = r.message_id is not None
    out["rcpts"] = _json(r.rcpts, [])
    out["errors"] = [dict(e._mapping) for e in conn.execute(
        select(errors).where(errors.c.received_id == received_id).order_by(errors.c.id))]
    return out


def mailing_list(conn: Connection, limit: int = 500) -> list[dict[str, Any]]:
    """The newest mailings with their message counts (from the counters, storage.stats:
    counting the messages table would read every row), for filters and pickers."""
    # SUM of a BIGINT is NUMERIC on PostgreSQL: cast back, so it reads as an int.
    sent = (select(cast(func.coalesce(func.sum(stats.c.count), 0), BigInteger))
            .where(stats.c.mailing_id == mailings.c.id, stats.c.metric == "outcome",
                   stats.c.key == "sent").scalar_subquery())
    stmt = (select(mailings.c.id, mailings.c.name, mailings.c.sender, mailings.c.created_at,
                   sent.label("messages"))
            .order_by(mailings.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in conn.execute(stmt)]
