"""Returned messages: stored raw before we answer 250, processed later by a worker.

:func:`store_many` writes each message (raw bytes, envelope, receive time) and its
``bounce`` job in one transaction, the outbox pattern: a message is never stored without the
job that will process it. The inbound server calls it through a group committer
(inbound.inbox), so many sessions' messages share one commit.

:func:`save_many` writes what processing made of a batch of messages - each row's
classification, its error rows and its events - in the caller's transaction. Error rows of
an earlier processing that differ from the new ones are kept with ``current`` false
(history), and events are idempotent by key (storage.events), so processing a message
twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, literal_column, select, update

from bounceloop.core.suppression import COMPLAINT, Failure, Policy, Side
from bounceloop.storage import doorbell, events, outbox, stats, suppressions
from bounceloop.storage.engine import chunks, insert_ids
from bounceloop.storage.plan import unindexed
from bounceloop.storage.prepared import Prepared, timestamps
from bounceloop.storage.tables import errors, messages, received
from bounceloop.storage.tables import suppressions as suppressions_table

#: The outbox job kind of a stored message waiting to be processed.
PROCESS = "bounce"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One returned message as it arrived."""

    raw: bytes
    mail_from: str
    rcpts: tuple[str, ...]
    received_at: datetime
    source: str = "smtp"
    """smtp (our inbound server) or ingest (``bounceloop ingest``)."""
    peer: str = ""
    """The client's IP address (smtp) or the file it came from (ingest)."""
    helo: str = ""


def store_many(engine: Engine, items: Sequence[Incoming]) -> list[int]:
    """Store messages and their processing jobs in one committed transaction; their ids."""
    if not items:
        return []
    rows = [{
        "received_at": i.received_at, "source": i.source, "peer": i.peer[:255],
        "helo": i.helo[:255], "mail_from": i.mail_from[:320],
        "rcpts": json.dumps(list(i.rcpts)), "size": len(i.raw),
        "digest": hashlib.sha256(i.raw).hexdigest(), "status": "pending",
        "times_processed": 0, "tied_by": "", "detector": "", "kind": "", "raw": i.raw,
    } for i in items]
    with engine.begin() as conn:
        ids = insert_ids(conn, received, rows)
        outbox.enqueue_many(conn, [{"kind": PROCESS, "ref": str(i)} for i in ids],
                            returning=False)
        doorbell.ring(conn)  # an idle worker in another process processes it now
    return ids


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored message, as a worker processes it."""

    id: int
    raw: bytes
    mail_from: str
    rcpts: tuple[str, ...]
    received_at: datetime
    times_processed: int
    copy_of: int | None = None
    """The first stored message with the same bytes, envelope sender and recipients: this
    one is the same message sent again (its sender did not see our 250, RFC 1047)."""


def load(conn: Connection, ids: Sequence[int]) -> list[Stored]:
    """The stored messages with these ids, in id order (missing ids are left out)."""
    out: list[Stored] = []
    first = received.alias("first")
    copy_of = select(func.min(first.c.id)).where(
        first.c.digest == received.c.digest, first.c.id < received.c.id,
        first.c.mail_from == received.c.mail_from, first.c.rcpts == received.c.rcpts,
    ).scalar_subquery()
    for chunk in chunks(ids):
        for r in conn.execute(select(
                received.c.id, received.c.raw, received.c.mail_from, received.c.rcpts,
                received.c.received_at, received.c.times_processed, copy_of.label("copy_of"))
                .where(received.c.id.in_(chunk))):
            out.append(Stored(id=r.id, raw=bytes(r.raw), mail_from=r.mail_from,
                              rcpts=tuple(json.loads(r.rcpts)), received_at=r.received_at,
                              times_processed=r.times_processed, copy_of=r.copy_of))
    out.sort(key=lambda s: s.id)
    return out


def ids_since(conn: Connection, since: datetime | None) -> list[int]:
    """Ids of every stored message received at or after ``since`` (all when None)."""
    stmt = select(received.c.id).order_by(received.c.id)
    if since is not None:
        stmt = stmt.where(received.c.received_at >= since)
    return [int(i) for i in conn.execute(stmt).scalars()]


@dataclass(slots=True)
class Processed:
    """What processing made of one stored message (see inbound.process)."""

    id: int
    status: str
    """processed, or failed (the parser could not read it: ``error`` says why)."""
    message_id: str | None
    mailing_id: int | None
    recipient: str | None
    tied_by: str
    detector: str
    kind: str
    error: str | None
    errors: list[dict[str, Any]] = field(default_factory=list)
    """New error rows (without id, received_id, current)."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """Event rows (storage.events.row)."""
    reported_recipient: str | None = None
    hint_message_id: str | None = None
    hint_by: str = ""
    records: int = 0


#: The error-row fields whose change makes a reprocessing a reclassification.
_COMPARED = ("message_id", "mailing_id", "recipient", "code", "extended", "description",
             "errortype", "step", "state", "severity", "reason", "hardbounce", "tied",
             "reported_recipient", "expired")
#: The error-row fields that explain a classification (issue 18 item 6), and the Status
#: field as the report wrote it: a reprocessing that leaves the classification as it was
#: fills them in place (rows from before migrations 0010 and 0011 have none), without a
#: "reclassified" event.
_EXPLAINED = ("rule", "matched", "detector", "status_field")


def _key(values: Any) -> tuple[Any, ...]:
    return tuple("" if values[f] is None else values[f] for f in _COMPARED)


def _same(old: Sequence[Any], new: Sequence[dict[str, Any]]) -> bool:
    if not old or not new:  # a first processing: nothing to compare
        return not old and not new
    return sorted(map(_key, (r._mapping for r in old))) == sorted(map(_key, new))


def _explained(old: Sequence[Any], new: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Updates of the explanation of ``old`` rows from the ``new`` rows of the same
    classification (:func:`_same`), paired in the order of their compared fields."""
    out = []
    pairs = zip(sorted(old, key=lambda r: _key(r._mapping)), sorted(new, key=_key),
                strict=True)
    for row, fresh in pairs:
        if any(row._mapping[f] != fresh.get(f) for f in _EXPLAINED):
            out.append({"e_id": row.id, **{f"e_{f}": fresh.get(f) for f in _EXPLAINED}})
    return out


_EXPLAIN = Prepared(update(errors).where(errors.c.id == bindparam("e_id")).values(
    rule=bindparam("e_rule"), matched=bindparam("e_matched"),
    detector=bindparam("e_detector"), status_field=bindparam("e_status_field")))


#: storage.prepared: run for every returned message processed.
_SETTLE = Prepared(update(received).where(received.c.id == bindparam("r_id")).values(
    status=bindparam("r_status"), processed_at=bindparam("r_now"),
    times_processed=received.c.times_processed + literal_column("1"),
    message_id=bindparam("r_message"),
    mailing_id=bindparam("r_mailing"), recipient=bindparam("r_recipient"),
    tied_by=bindparam("r_tied_by"), detector=bindparam("r_detector"),
    kind=bindparam("r_kind"), error=bindparam("r_error"),
    reported_recipient=bindparam("r_reported"), hint_message_id=bindparam("r_hint"),
    hint_by=bindparam("r_hint_by"), records=bindparam("r_records")))


def save_many(conn: Connection, batch: Sequence[Processed], now: datetime,
              policy: Policy | None = None) -> int:
    """Write processing results in the caller's transaction, a statement per table for
    the whole batch; the number whose error rows changed (reclassifications). New
    failures and complaints go through the suppression rules (``policy``; None: none)."""
    if not batch:
        return 0
    old: dict[int, list[Any]] = {p.id: [] for p in batch}
    ids = list(old)
    times: dict[int, int] = {}
    before_rows: dict[int, Any] = {}
    for chunk in chunks(ids):
        # By received_id alone (storage.plan): SQLite without statistics took the
        # (current, timestamp) index, every current row, for each batch.
        for r in conn.execute(select(errors).where(
                errors.c.received_id.in_(chunk) & unindexed(errors.c.current).is_(True))):
            old[r.received_id].append(r)
        for r in conn.execute(select(received.c.id, received.c.times_processed,
                                     received.c.kind, received.c.recipient)
                              .where(received.c.id.in_(chunk))):
            times[int(r.id)] = int(r.times_processed)
            before_rows[int(r.id)] = r
    retired: list[int] = []
    gone: list[Any] = []
    new_errors: list[dict[str, Any]] = []
    new_events: list[dict[str, Any]] = []
    explained: list[dict[str, Any]] = []
    changed = 0
    for p in batch:
        before = old[p.id]
        same = _same(before, p.errors)
        if same and before:
            explained += _explained(before, p.errors)
        elif not same:
            if before:
                changed += 1
                retired += [r.id for r in before]
                gone += before
                n = times.get(p.id, 0) + 1
                new_events.append(events.row(
                    time=now, type="reclassified", key=f"reclassified:r{p.id}:{n}",
                    message_id=p.message_id, mailing_id=p.mailing_id,
                    recipient=p.recipient or "",
                    data={"id": p.message_id or "", "recipient": p.recipient or "",
                          "received": p.id, "before": [_brief(r._mapping) for r in before],
                          "after": [_brief(e) for e in p.errors]}))
            new_errors += [{**e, "received_id": p.id, "current": True} for e in p.errors]
        new_events += p.events
    if retired:
        conn.execute(update(errors).where(errors.c.id.in_(retired)).values(current=False))
    if explained:
        _EXPLAIN.many(conn, explained)
    error_ids: Sequence[int] = []
    if new_errors:
        error_ids = insert_ids(conn, errors, new_errors)
    stamp = timestamps(conn.dialect)(now)
    _SETTLE.many(conn, [{
        "r_id": p.id, "r_status": p.status, "r_now": stamp, "r_message": p.message_id,
        "r_mailing": p.mailing_id, "r_recipient": p.recipient, "r_tied_by": p.tied_by,
        "r_detector": p.detector, "r_kind": p.kind, "r_error": p.error,
        "r_reported": p.reported_recipient, "r_hint": p.hint_message_id,
        "r_hint_by": p.hint_by, "r_records": p.records} for p in batch])
    added = events.added(conn, new_events)
    if policy is not None and policy.enabled:
        _rules(conn, new_errors, error_ids, added, policy, now)
    if gone or any(r is not None and r.kind == "complaint" for r in before_rows.values()):
        _lift(conn, batch, gone, before_rows, new_errors, error_ids,
              policy or Policy(enabled=False), now)
    tally = stats.Tally()
    # Untied rows are evidence about no address: they count in no statistic.
    for r in gone:
        if r.tied:
            tally.error(r._mapping, -1)
    for e in new_errors:
        if e["tied"]:
            tally.error(e)
    for ev in added:
        tally.event(ev.type, ev.mailing_id, now)
    stats.bump(conn, tally)
    return changed


def _rules(conn: Connection, new_errors: Sequence[dict[str, Any]], ids: Sequence[int],
           added: Sequence[Any], policy: Policy, now: datetime) -> None:
    """Suppression rules on the failures (error rows of type mailerror) just written and
    the complaints just added (a complaint's scope is the sender of the message it is
    about; unknown: every sender)."""
    signals = [suppressions.Signal(e["recipient"], e["timestamp"], Failure(
        e["timestamp"], e["reason"], e["code"] or "", e["extended"] or "", e["step"],
        e["description"] or "", i)) for e, i in zip(new_errors, ids, strict=True)
        if e["errortype"] == "mailerror" and e["tied"] and e["recipient"]]
    for ev in added:
        if ev.type != "complaint":
            continue
        data = json.loads(ev.data)
        if not data.get("recipient"):
            continue
        sender = ""
        if data.get("id"):
            sender = conn.execute(select(messages.c.sender).where(
                messages.c.id == data["id"])).scalar() or ""
        signals.append(suppressions.Signal(data["recipient"], now, None, sender,
                                           data.get("feedback_type") or ""))
    suppressions.apply(conn, signals, policy, now)


#: How a returned message may be tied under the rules of issue 16 (inbound.correlate.BY);
#: a row of an older processing may say "recipient", which ties nothing now.
_SIGNED_TIES = ("verp", "header", "envid", "message-id", "fbl")


def _lift(conn: Connection, batch: Sequence[Processed], gone: Sequence[Any],
          before: dict[int, Any], new_errors: Sequence[dict[str, Any]],
          new_ids: Sequence[int], policy: Policy, now: datetime) -> None:
    """On reprocessing: take off the list what an earlier processing of these messages put
    there and the current rules no longer support - a failure or complaint that was
    recorded against an address the message was not tied to (an untied report, or one
    that named another address than our message's recipient) - with an audit entry that
    says why. What else the address has against it is then weighed again."""
    by_id = {p.id: p for p in batch}
    supported: dict[tuple[int, str], int] = {}
    for e, i in zip(new_errors, new_ids, strict=True):
        if e["tied"] and e["errortype"] == "mailerror" and e["recipient"]:
            supported.setdefault((e["received_id"], e["recipient"].lower()), i)
    lifted: set[str] = set()
    retired = {int(r.id): r for r in gone if r.errortype == "mailerror"}
    for chunk in chunks(list(retired)):
        for entry in conn.execute(select(suppressions_table).where(
                suppressions_table.c.error_id.in_(chunk),
                suppressions_table.c.source == suppressions.RULE,
                suppressions_table.c.type == "address")).all():
            row = retired[int(entry.error_id)]
            p = by_id[int(row.received_id)]
            new_id = supported.get((p.id, entry.value))
            if new_id is not None:  # the same failure of the same address, read anew
                conn.execute(update(suppressions_table).where(
                    suppressions_table.c.id == entry.id).values(error_id=new_id))
                continue
            suppressions.remove(conn, "address", entry.value, entry.sender,
                                note=_why(conn, p, entry.value, "failure"), actor="reprocess",
                                now=now)
            lifted.add(entry.value)
    for rid, r in before.items():
        if rid not in by_id or r.kind != "complaint" or not r.recipient:
            continue
        p = by_id[rid]
        address = r.recipient.lower()
        if (p.kind == "complaint" and p.message_id and p.tied_by in _SIGNED_TIES
                and (p.recipient or "").lower() == address):
            continue
        others = conn.execute(select(func.count()).select_from(received).where(
            received.c.id != rid, received.c.kind == "complaint",
            received.c.tied_by.in_(_SIGNED_TIES),
            func.lower(received.c.recipient) == address)).scalar_one()
        if others:
            continue
        for entry in conn.execute(select(suppressions_table).where(
                suppressions_table.c.type == "address",
                suppressions_table.c.value == address,
                suppressions_table.c.reason == COMPLAINT,
                suppressions_table.c.source == suppressions.RULE)).all():
            suppressions.remove(conn, "address", entry.value, entry.sender,
                                note=_why(conn, p, address, "complaint"), actor="reprocess",
                                now=now)
    for address in sorted(lifted):
        _reconsider(conn, address, policy, now)


def _why(conn: Connection, p: Processed, address: str, what: str) -> str:
    """The audit note of a lifted entry: which message made it, and why that no longer
    counts against ``address``."""
    head = f"lifted on reprocessing: the {what} came from returned message r{p.id}, which"
    answers, to = p.message_id, p.recipient
    if answers is None and p.hint_message_id and p.hint_by in _SIGNED_TIES:
        # Tied by a signed reference to another message, whose recipient it did not name.
        answers = p.hint_message_id
        to = conn.execute(select(messages.c.recipient).where(
            messages.c.id == answers)).scalar()
    if answers is None:
        return (f"{head} is not tied to mail we sent to {address} (no valid signed VERP "
                "address, header, ENVID or Message-ID of ours)")
    return f"{head} answers our message {answers} to {to}; {address} was only named in it"


def _reconsider(conn: Connection, address: str, policy: Policy, now: datetime) -> None:
    """Run the rules again on the newest failure still held against ``address`` (one that
    the lifted entry had hidden: the list keeps one entry per address)."""
    if not policy.enabled:
        return
    # By the address's index alone (storage.plan): SQLite without statistics took (tied,
    # current, timestamp) for the order, and read every tied row until it found 20.
    e = errors.c
    for r in conn.execute(select(errors).where(
            func.lower(e.recipient) == address, unindexed(e.current).is_(True),
            unindexed(e.tied).is_(True),
            (unindexed(e.step) < 5) | (unindexed(e.errortype) == "mailerror"))
            .order_by(e.timestamp.desc(), e.id.desc()).limit(20)):
        if policy.side(r.reason, r.code or "", r.extended or "") not in (Side.HARD, Side.SOFT):
            continue
        suppressions.apply(conn, [suppressions.Signal(r.recipient, r.timestamp, Failure(
            r.timestamp, r.reason, r.code or "", r.extended or "", r.step,
            r.description or "", r.id))], policy, now)
        return


def _brief(values: Any) -> dict[str, Any]:
    return {f: values[f] for f in ("recipient", "code", "extended", "errortype", "severity",
                                   "reason")}
