"""Mailings and their messages: queueing, loading due ones, and recording every attempt.

One message is one recipient of one mailing. Queueing writes the message and its
``deliver`` job in one transaction (the outbox), so a message is never queued without the
job that will deliver it, nor the other way round. Recording an attempt's outcome likewise
updates the message, adds the attempt row (and for a failure the error row), settles the
job - complete, or back to pending for the retry - and adds an event (storage.events) for
each delivery, retry and failure, in one transaction: one stream carries every outcome.

The in-flight marker: just before the final dot of a transaction, :func:`mark_sending` sets
the messages' status to ``sending`` and commits (where the engine keeps a journal on SQLite,
the journal alone marks them: see delivery.journal). Should the process die before the
reply is read and recorded, the job comes back (its lease runs out) and finds the message
``sending``: the server may well have it, and sending again risks a duplicate, so unless
the sender's journal shows the dot never left, it is recorded as delivered, unconfirmed
(result ``indoubt``) - at most once (RFC 1047's window).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, any_, bindparam, insert, select, text, update

from bounceloop.core import verp
from bounceloop.core.address import domain_of
from bounceloop.core.frozen import by_fields
from bounceloop.core.suppression import Failure, Policy
from bounceloop.delivery.outcome import Verdict
from bounceloop.delivery.result import StepResult
from bounceloop.storage import outbox, stats, suppressions
from bounceloop.storage.engine import chunks, insert_ids
from bounceloop.storage.events import added as added_events
from bounceloop.storage.events import row as event_row
from bounceloop.storage.prepared import Prepared, Times, pieces, timestamps
from bounceloop.storage.tables import (
    attempts,
    errors,
    mailings,
    messages,
)

DELIVER = "deliver"
#: Statuses of a message that still has a delivery job.
OPEN = ("queued", "deferred", "sending")


@dataclass(frozen=True, slots=True)
class NewMessage:
    recipient: str
    tags: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Mailing:
    id: int
    name: str
    sender: str
    mime: bytes
    tags: tuple[str, ...]
    retry_schedule: tuple[int, ...] | None
    max_delivery_time: int | None

    __reduce__ = by_fields  # to the delivery database process (core.frozen)


@dataclass(frozen=True, slots=True)
class Pending:
    """A message whose delivery job a worker holds."""

    job_id: int
    id: str
    mailing_id: int
    sender: str
    recipient: str
    domain: str
    envelope: str
    status: str
    attempts: int
    created_at: datetime
    expires_at: datetime
    sent_by: str | None = None
    """The worker that marked it "sending", if it is."""
    tags: str = "[]"
    """The message's tags, as stored (JSON), for its events."""

    __reduce__ = by_fields  # to the delivery database process (core.frozen)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result for one message, and what it means."""

    message: Pending
    result: StepResult
    verdict: Verdict
    started_at: datetime
    duration_ms: int

    __reduce__ = by_fields  # to the delivery database process (core.frozen)


def new_id() -> str:
    """A message id: 16 lower-case hex digits (64 random bits), as VERP tokens carry."""
    return secrets.token_hex(8)


_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(?:\r?\n[ \t]+)?<?([^\s<>]+)>?", re.I | re.M)


def header_message_id(mime: bytes) -> str | None:
    """The document's Message-ID (without <>), from its header section, or None."""
    end = mime.find(b"\n\n")
    end2 = mime.find(b"\r\n\r\n")
    ends = [e for e in (end, end2) if e >= 0]
    head = mime[:min(ends)] if ends else mime
    m = _MESSAGE_ID.search(head)
    return m.group(1).decode("ascii", "replace")[:255] if m else None


def create_mailing(conn: Connection, *, name: str, sender: str, mime: bytes,
                   tags: Sequence[str], retry_schedule: Sequence[int] | None,
                   max_delivery_time: int | None, now: datetime) -> int:
    values = {
        "name": name, "sender": sender, "mime": mime, "tags": json.dumps(list(tags)),
        "retry_schedule": ",".join(map(str, retry_schedule)) if retry_schedule else None,
        "max_delivery_time": max_delivery_time, "created_at": now,
        "header_message_id": header_message_id(mime),
    }
    return int(conn.execute(insert(mailings).values(values).returning(mailings.c.id))
               .scalar_one())


_QUEUE = Prepared(insert(messages).values({c: bindparam(c) for c in (
    "id", "mailing_id", "sender", "recipient", "domain", "envelope", "tags", "fields", "status",
    "attempts", "created_at", "updated_at", "next_attempt_at", "expires_at")}))


def queue(conn: Connection, mailing_id: int, sender: str, batch: Sequence[NewMessage], *,
          bounce_domain: str, verp_secret: str, max_delivery_time: int,
          now: datetime) -> list[str]:
    """Queue messages, their events and their delivery jobs, in the caller's transaction."""
    ids = [new_id() for _ in batch]
    when = timestamps(conn.dialect)
    # Raw rows (storage.prepared), the two timestamps converted once for the batch, not
    # four times a row: cProfile, 10,000 messages queued, 70,001 conversions were 27% of
    # the time and the per-row parameters through the compiled statement 33%.
    at = when(now)
    expires = when(now + timedelta(seconds=max_delivery_time))
    rows = []
    for mid, msg in zip(ids, batch, strict=True):
        envelope = verp.encode(mid, bounce_domain, verp_secret) if bounce_domain else sender
        rows.append({
            "id": mid, "mailing_id": mailing_id, "sender": sender, "recipient": msg.recipient,
            "domain": domain_of(msg.recipient), "envelope": envelope,
            "tags": json.dumps(list(msg.tags)), "fields": json.dumps(msg.fields),
            "status": "queued", "attempts": 0, "created_at": at, "updated_at": at,
            "next_attempt_at": at, "expires_at": expires,
        })
    if not rows:
        return []
    _QUEUE.many(conn, rows)
    outbox.enqueue_many(conn, [{"kind": DELIVER, "ref": mid, "run_at": now} for mid in ids],
                        returning=False)
    tally = stats.Tally()
    tally.add(mailing_id, "outcome", now.date(), "sent", len(rows))
    stats.bump(conn, tally)
    return ids


def load_mailing(conn: Connection, mailing_id: int) -> Mailing:
    row = conn.execute(select(mailings).where(mailings.c.id == mailing_id)).one()
    return Mailing(
        id=row.id, name=row.name, sender=row.sender, mime=row.mime,
        tags=tuple(json.loads(row.tags)),
        retry_schedule=tuple(int(x) for x in row.retry_schedule.split(","))
        if row.retry_schedule else None,
        max_delivery_time=row.max_delivery_time,
    )


def pending(conn: Connection, jobs: Sequence[outbox.Job]) -> list[Pending]:
    """The messages of claimed delivery jobs, in the jobs' order (due first, then queue
    order); a job whose message is gone is left out."""
    by_ref = {j.ref: j.id for j in jobs if j.ref}
    if not by_ref:
        return []
    out: list[Pending] = []
    refs = list(by_ref)
    times = Times()
    reads: list[tuple[Prepared, dict[str, Any]]]
    if conn.dialect.name == "postgresql":
        reads = [(_PENDING_ANY, {"ids": list(chunk)}) for chunk in chunks(refs)]
    else:
        reads = [(_PENDING[len(run)], {f"id_{i}": ref for i, ref in enumerate(run)})
                 for run in pieces(refs, _PENDING_SIZES)]
    for statement, params in reads:
        out += [_pending(by_ref[row[0]], row, times) for row in statement.one(conn, params)]
    order = {j.id: n for n, j in enumerate(jobs)}
    out.sort(key=lambda p: order[p.job_id])
    return out


_PENDING_COLUMNS = (messages.c.id, messages.c.mailing_id, messages.c.sender,
                    messages.c.recipient, messages.c.domain, messages.c.envelope,
                    messages.c.status, messages.c.attempts, messages.c.created_at,
                    messages.c.expires_at, messages.c.sent_by, messages.c.tags)
#: Messages read per statement on SQLite (storage.prepared.pieces), each size compiled once.
_PENDING_SIZES = (256, 64, 16, 4, 1)
_PENDING = {size: Prepared(
    select(*_PENDING_COLUMNS)
    .where(messages.c.id.in_([bindparam(f"id_{i}") for i in range(size)])))
    for size in _PENDING_SIZES}
#: On PostgreSQL one array parameter: psycopg converts and caches a statement's text only
#: up to 50 parameters (psycopg/_queries.py MAX_CACHED_STATEMENT_PARAMS).
_PENDING_ANY = Prepared(
    select(*_PENDING_COLUMNS).where(messages.c.id == any_(bindparam("ids"))))


def _pending(job_id: int, row: Sequence[Any], times: Times) -> Pending:
    """A Pending from the raw columns of _PENDING."""
    (id_, mailing_id, sender, recipient, domain, envelope, status, tries, created_at,
     expires_at, sent_by, tags) = row
    return Pending(job_id=job_id, id=id_, mailing_id=mailing_id, sender=sender,
                   recipient=recipient, domain=domain, envelope=envelope, status=status,
                   attempts=tries, created_at=times.required(created_at),
                   expires_at=times.required(expires_at), sent_by=sent_by, tags=tags)


#: Prepared once: the statements of the delivery hot path (one compile, cached).
_MARK_SENDING = Prepared(
    update(messages).where(messages.c.id == bindparam("m_id"))
    .values(status=bindparam("m_sending"), updated_at=bindparam("m_now"),
            sent_by=bindparam("m_worker"))
)
_SETTLE = Prepared(
    update(messages).where(messages.c.id == bindparam("m_id")).values(
        status=bindparam("m_status"), attempts=bindparam("m_attempts"),
        updated_at=bindparam("m_now"), next_attempt_at=bindparam("m_next"),
        finished_at=bindparam("m_finished"), step=bindparam("m_step"),
        state=bindparam("m_state"), code=bindparam("m_code"),
        extended=bindparam("m_extended"), description=bindparam("m_description"),
        errortype=bindparam("m_errortype"), severity=bindparam("m_severity"))
)
_ATTEMPT_COLUMNS = ("message_id", "number", "started_at", "duration_ms", "step", "state",
                    "result", "code", "extended", "description", "errortype", "severity",
                    "mx", "ip", "final")
_ATTEMPT = Prepared(insert(attempts).values({c: bindparam(c) for c in _ATTEMPT_COLUMNS}))


def mark_sending(bind: Engine | Connection, ids: Sequence[str], now: datetime,
                 worker: str = "", *, flushed: bool = True) -> None:
    """Record, before the final dot, that these messages are in flight (see module doc);
    committed when this returns.

    ``bind`` may be a connection the caller keeps for this (it runs for every message
    sent: a pool checkout each time costs more than the statement). ``flushed=False``
    commits without waiting for the WAL flush on PostgreSQL (``SET LOCAL
    synchronous_commit = off``: visible to every session at once, lost only if the
    database server itself crashes within its WAL writer's delay); SQLite commits as always.
    """
    stamp = timestamps(bind.dialect)(now)
    rows = [{"m_id": i, "m_sending": "sending", "m_now": stamp, "m_worker": worker or None}
            for i in ids]
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            _mark(conn, rows, flushed)
    else:
        _mark(bind, rows, flushed)


_UNFLUSHED = text("SET LOCAL synchronous_commit = off")
_UNFLUSHED_SESSION = text("SET synchronous_commit = off")
_AUTOCOMMIT = "AUTOCOMMIT"


def mark_connection(engine: Engine) -> Connection:
    """A connection to keep for :func:`mark_sending` with ``flushed=False``, one statement
    a mark: on PostgreSQL in autocommit, its session's commits not flushed (what the
    ``SET LOCAL`` of each mark does otherwise, for two round trips more: a final dot waits
    for them; bench/send.py --postgres, 5,000 messages: about 1,430 messages/s with them,
    1,700 without). Give it back with :func:`close_mark_connection` only: the pool must
    never hand its session to anyone else."""
    conn = engine.connect()
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level=_AUTOCOMMIT)
        conn.execute(_UNFLUSHED_SESSION)
    return conn


def close_mark_connection(conn: Connection) -> None:
    """Close a :func:`mark_connection`; on PostgreSQL its database connection is closed
    too, not pooled, so that its unflushed session is no one else's."""
    if conn.dialect.name == "postgresql":
        conn.invalidate()
    conn.close()


def _mark(conn: Connection, rows: list[dict[str, Any]], flushed: bool) -> None:
    # A mark connection (mark_connection) is in autocommit, unflushed for its whole
    # session: each statement commits as it runs (a commit() on it would only cost time).
    autocommit = conn.get_execution_options().get("isolation_level") == _AUTOCOMMIT
    if autocommit and flushed:
        raise ValueError("a mark connection's commits are not flushed: flushed=False")
    try:
        if not flushed and not autocommit and conn.dialect.name == "postgresql":
            conn.execute(_UNFLUSHED)
        _MARK_SENDING.many(conn, rows)
        if not autocommit:
            conn.commit()
    except BaseException:
        conn.rollback()
        raise


def record(engine: Engine, worker: str, outcomes: Sequence[Outcome], now: datetime,
           policy: Policy | None = None) -> None:
    """Store a batch of outcomes and settle their jobs, in one transaction; failures go
    through the suppression rules (``policy``; None: none) in it too.

    Each table gets one executemany, whatever the batch size: this runs for every
    message delivered, and per-row statements would cost more than the SMTP dialogue.
    """
    if not outcomes:
        return
    attempt_rows: list[dict[str, Any]] = []
    message_rows: list[dict[str, Any]] = []
    error_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    done: list[int] = []
    later: list[tuple[int, datetime, str]] = []
    senders: list[str] = []
    when = timestamps(engine.dialect)  # the Prepared statements take stored values
    stamp = when(now)
    for o in outcomes:
        m, r, v = o.message, o.result, o.verdict
        final = v.status in ("delivered", "failed")
        errortype = "" if r.ok or r.result == "indoubt" else r.errortype
        attempt_rows.append({
            "message_id": m.id, "number": m.attempts, "started_at": when(o.started_at),
            "duration_ms": o.duration_ms, "step": r.step, "state": r.state,
            "result": r.result, "code": r.code or None, "extended": r.extended or None,
            "description": r.description, "errortype": errortype or None,
            "severity": v.severity or None, "mx": r.mx or None, "ip": r.ip or None,
            "final": final,
        })
        message_rows.append({
            "m_id": m.id, "m_status": v.status, "m_attempts": m.attempts + 1, "m_now": stamp,
            "m_next": when(v.next_attempt_at), "m_finished": stamp if final else None,
            "m_step": r.step, "m_state": r.state, "m_code": r.code or None,
            "m_extended": r.extended or None, "m_description": r.description,
            "m_errortype": errortype or None, "m_severity": v.severity or None,
        })
        data = {"id": m.id, "recipient": m.recipient, "mailing": m.mailing_id,
                "tags": json.loads(m.tags), "attempt": m.attempts, "step": r.step,
                "state": r.state, "result": r.result, "code": r.code,
                "extended": r.extended, "description": r.description, "mx": r.mx,
                "ip": r.ip}
        if v.status == "delivered":
            event_rows.append(_event(now, "delivery", f"delivery:{m.id}", m, data))
            done.append(m.job_id)
            continue
        if v.status == "deferred":
            assert v.next_attempt_at is not None
            data["next_attempt_at"] = v.next_attempt_at.isoformat()
            event_rows.append(_event(now, "retry", f"retry:{m.id}:{m.attempts}", m, data))
            later.append((m.job_id, v.next_attempt_at, r.description))
        else:
            data.update(action="failed", reason=v.reason, severity=v.severity,
                        errortype=errortype or "other", hardbounce=v.hardbounce,
                        expired=v.expired, rule=v.rule, matched=v.matched)
            event_rows.append(_event(now, "failure", f"failure:{m.id}", m, data))
            error_rows.append({
                "timestamp": now, "message_id": m.id, "mailing_id": m.mailing_id,
                "recipient": m.recipient, "code": r.code or None,
                "extended": r.extended or None, "description": r.description,
                "errortype": errortype or "other", "step": r.step, "state": r.state,
                "severity": v.severity or "", "reason": v.reason,
                "hardbounce": v.hardbounce, "domain": m.domain,
                "rule": v.rule or None, "matched": v.matched or None, "expired": v.expired,
            })
            senders.append(m.sender)
            done.append(m.job_id)
    with engine.begin() as conn:
        _SETTLE.many(conn, message_rows)
        _ATTEMPT.many(conn, attempt_rows)
        tally = stats.Tally()
        for ev in added_events(conn, event_rows):
            tally.event(ev.type, ev.mailing_id, now)
        if error_rows:
            ids = insert_ids(conn, errors, error_rows)
            if policy is not None and policy.enabled:
                suppressions.apply(conn, [
                    suppressions.Signal(e["recipient"], now, failure_of(e, i), sender)
                    for e, i, sender in zip(error_rows, ids, senders, strict=True)],
                    policy, now)
        outbox.complete_many(conn, done, worker)
        outbox.reschedule_many(conn, later, worker)
        for e in error_rows:
            tally.error(e)
        # Last: the counters are the rows every worker shares (see storage.stats).
        stats.bump(conn, tally)


def failure_of(row: dict[str, Any], error_id: int) -> Failure:
    """The rules' view of an error row."""
    return Failure(row["timestamp"], row["reason"], row["code"] or "", row["extended"] or "",
                   row["step"], row["description"] or "", error_id)


def _event(now: datetime, kind: str, key: str, m: Pending, data: dict[str, Any]
           ) -> dict[str, Any]:
    return event_row(time=now, type=kind, key=key, message_id=m.id, mailing_id=m.mailing_id,
                     recipient=m.recipient, data=data)


def settle_closed(engine: Engine, worker: str, job_ids: Iterable[int]) -> None:
    """Complete jobs whose message is already final (a job run twice after a lost lease)."""
    with engine.begin() as conn:
        outbox.complete_many(conn, job_ids, worker)


def summaries(conn: Connection, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The ``send --wait`` line of each message, in the order of ``ids``."""
    rows: dict[str, Any] = {}
    for chunk in chunks(ids):
        for row in conn.execute(select(messages).where(messages.c.id.in_(chunk))):
            rows[row.id] = row
    out = []
    for mid in ids:
        if mid not in rows:
            continue
        row = rows[mid]
        out.append({
            "id": row.id, "recipient": row.recipient, "envelope": row.envelope,
            "status": row.status if row.status != "sending" else "deferred",
            "step": row.step, "state": row.state, "code": row.code or "",
            "extended": row.extended or "", "description": row.description or "",
            "errortype": row.errortype or "", "severity": row.severity or "",
            "attempts": row.attempts,
        })
    return out
