"""Webhook subscriptions, their queues (``webhook`` jobs in the outbox) and failed calls.

A webhook is a URL, the triggers it wants (failure, bounce, delivery, complaint: the event
types of the same names), optional filters (one mailing; any of some tags) and its state::

    unverified ──verify──> active <──resume── paused
                             └──pause / 410 Gone / failing for days──┘

Fan-out happens where events are written (:func:`fan_out`, called by storage.events.add in
the caller's transaction): each *new* event that a webhook wants becomes one job of kind
``webhook``, ``ref`` the webhook's id, payload ``{"event": <events.id>}``. So an event and
the deliveries it owes are committed together or not at all (the transactional outbox),
and an event written twice (its key already there) owes nothing twice.

A job of a webhook that is not active is ``held``: kept, never claimed, released to
``pending`` when the webhook is resumed or verified. A dead job (retries ran out) is kept
and may be replayed, one by one or in bulk.
"""

from __future__ import annotations

import json
import secrets as random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from bounceloop.storage import doorbell, outbox
from bounceloop.storage.engine import chunks, utcnow
from bounceloop.storage.tables import events, jobs, received, webhook_failures, webhooks

KIND = "webhook"
TRIGGERS = ("failure", "bounce", "delivery", "complaint")
FORMATS = ("form", "json")
ACTIVE = "active"
PAUSED = "paused"
UNVERIFIED = "unverified"

#: What a user may change with :func:`change`.
CHANGEABLE = frozenset({"url", "triggers", "mailing_id", "tags", "format", "extras",
                        "concurrency", "timeout", "description"})


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    url: str
    triggers: tuple[str, ...]
    mailing_id: int | None
    tags: tuple[str, ...]
    format: str
    extras: bool
    concurrency: int
    timeout: int
    secret: str
    previous_secret: str | None
    previous_until: datetime | None
    status: str
    paused_reason: str | None
    flagged: bool
    verify_token: str | None
    verified_at: datetime | None
    description: str
    created_at: datetime
    updated_at: datetime
    last_success_at: datetime | None
    failing_since: datetime | None

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a call made at ``now``: the current one, and the previous
        one while a rotation's overlap lasts."""
        out = [self.secret]
        if self.previous_secret and self.previous_until and now < self.previous_until:
            out.append(self.previous_secret)
        return out

    def wants(self, event_type: str, mailing_id: int | None, tags: Collection[str]) -> bool:
        """Whether an event of this type, mailing and tags goes to this webhook."""
        if event_type not in self.triggers:
            return False
        if self.mailing_id is not None and mailing_id != self.mailing_id:
            return False
        return not self.tags or any(t in tags for t in self.tags)

    def public(self) -> dict[str, Any]:
        """Everything but the secrets, as plain values (CLI and API listings)."""
        return {
            "id": self.id, "url": self.url, "triggers": list(self.triggers),
            "mailing": self.mailing_id, "tags": list(self.tags), "format": self.format,
            "extras": self.extras, "concurrency": self.concurrency, "timeout": self.timeout,
            "status": self.status, "paused_reason": self.paused_reason or "",
            "flagged": self.flagged, "description": self.description,
            "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
            "verified_at": _iso(self.verified_at),
            "last_success_at": _iso(self.last_success_at),
            "failing_since": _iso(self.failing_since),
            "rotating_until": _iso(self.previous_until) if self.previous_secret else None,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _webhook(row: Row[Any]) -> Webhook:
    return Webhook(
        id=row.id, url=row.url, triggers=tuple(json.loads(row.triggers)),
        mailing_id=row.mailing_id, tags=tuple(json.loads(row.tags)), format=row.format,
        extras=bool(row.extras), concurrency=row.concurrency, timeout=row.timeout,
        secret=row.secret, previous_secret=row.previous_secret,
        previous_until=row.previous_until, status=row.status,
        paused_reason=row.paused_reason, flagged=bool(row.flagged),
        verify_token=row.verify_token, verified_at=row.verified_at,
        description=row.description, created_at=row.created_at, updated_at=row.updated_at,
        last_success_at=row.last_success_at, failing_since=row.failing_since)


def new_secret() -> str:
    return "whsec_" + random.token_urlsafe(32)


def check(values: Mapping[str, Any]) -> None:
    """ValueError for values no webhook may have (the URL's own check is the guard's)."""
    triggers = values.get("triggers")
    if triggers is not None:
        if not triggers:
            raise ValueError(f"a webhook needs a trigger: {', '.join(TRIGGERS)}")
        bad = [t for t in triggers if t not in TRIGGERS]
        if bad:
            raise ValueError(f"unknown trigger {bad[0]!r}: one of {', '.join(TRIGGERS)}")
    if values.get("format", "form") not in FORMATS:
        raise ValueError(f"format is one of {', '.join(FORMATS)}")
    for name, low, high in (("concurrency", 1, 100), ("timeout", 1, 300)):
        value = values.get(name)
        if value is not None and not low <= int(value) <= high:
            raise ValueError(f"{name} is from {low} to {high}, not {value}")


def create(conn: Connection, *, url: str, triggers: Sequence[str], concurrency: int,
           timeout: int, mailing_id: int | None = None, tags: Sequence[str] = (),
           format: str = "form", extras: bool = True, verify: bool = False,
           description: str = "", now: datetime | None = None) -> Webhook:
    """A new webhook; ``verify``: unverified until the receiver echoes its token."""
    values = {"triggers": list(dict.fromkeys(triggers)), "format": format,
              "concurrency": concurrency, "timeout": timeout}
    check(values)
    now = now or utcnow()
    row_id = conn.execute(insert(webhooks).values(
        url=url, triggers=json.dumps(values["triggers"]), mailing_id=mailing_id,
        tags=json.dumps(list(dict.fromkeys(tags)), ensure_ascii=False), format=format,
        extras=extras, concurrency=concurrency, timeout=timeout, secret=new_secret(),
        status=UNVERIFIED if verify else ACTIVE, flagged=False,
        verify_token=("whverify_" + random.token_urlsafe(24)) if verify else None,
        description=description, created_at=now, updated_at=now,
    ).returning(webhooks.c.id)).scalar_one()
    found = get(conn, int(row_id))
    assert found is not None
    return found


def get(conn: Connection, webhook_id: int) -> Webhook | None:
    row = conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).one_or_none()
    return None if row is None else _webhook(row)


def listing(conn: Connection, ids: Collection[int] | None = None) -> list[Webhook]:
    stmt = select(webhooks).order_by(webhooks.c.id)
    if ids is not None:
        stmt = stmt.where(webhooks.c.id.in_(sorted(ids)))
    return [_webhook(row) for row in conn.execute(stmt)]


def change(conn: Connection, webhook_id: int, values: Mapping[str, Any],
           now: datetime | None = None) -> Webhook | None:
    """Change what a user may change (:data:`CHANGEABLE`); None if there is no such
    webhook."""
    unknown = set(values) - CHANGEABLE
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
    check(values)
    out = dict(values)
    for name in ("triggers", "tags"):
        if name in out:
            out[name] = json.dumps(list(dict.fromkeys(out[name])), ensure_ascii=False)
    if out:
        conn.execute(update(webhooks).where(webhooks.c.id == webhook_id)
                     .values(**out, updated_at=now or utcnow()))
    return get(conn, webhook_id)


def _jobs_of(webhook_id: int) -> Any:
    return (jobs.c.kind == KIND) & (jobs.c.ref == str(webhook_id))


def remove(conn: Connection, webhook_id: int) -> bool:
    """Delete a webhook and its queue. A worker with a call in flight finds its job gone
    when it settles it (the outbox's fencing), and that is all."""
    gone = conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id)).rowcount
    conn.execute(delete(jobs).where(_jobs_of(webhook_id), jobs.c.status != outbox.DONE))
    return bool(gone)


def pause(conn: Connection, webhook_id: int, reason: str, *, flagged: bool = False,
          now: datetime | None = None) -> bool:
    """Stop calling a webhook; its queue is held, not dropped. ``flagged``: bounceloop
    paused it itself (410 Gone, failing for days), so the user should look."""
    now = now or utcnow()
    done = conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(
        status=PAUSED, paused_reason=reason, flagged=flagged, updated_at=now)).rowcount
    hold(conn, [webhook_id])
    return bool(done)


def hold(conn: Connection, webhook_ids: Iterable[int]) -> None:
    """Move the pending jobs of (not active) webhooks to held."""
    refs = sorted({str(i) for i in webhook_ids})
    if refs:
        conn.execute(update(jobs).where(jobs.c.kind == KIND, jobs.c.ref.in_(refs),
                                        jobs.c.status == outbox.PENDING)
                     .values(status=outbox.HELD))


def resume(conn: Connection, webhook_id: int, now: datetime | None = None) -> bool:
    """Call a paused webhook again: its held queue becomes due at once."""
    now = now or utcnow()
    done = conn.execute(update(webhooks).where(webhooks.c.id == webhook_id,
                                               webhooks.c.status == PAUSED).values(
        status=ACTIVE, paused_reason=None, flagged=False, failing_since=None,
        updated_at=now)).rowcount
    if done:
        _release(conn, webhook_id, now)
    return bool(done)


def _release(conn: Connection, webhook_id: int, now: datetime) -> None:
    conn.execute(update(jobs).where(_jobs_of(webhook_id), jobs.c.status == outbox.HELD)
                 .values(status=outbox.PENDING, run_at=now, updated_at=now))
    doorbell.ring(conn)


def verified(conn: Connection, webhook_id: int, now: datetime | None = None) -> bool:
    """The receiver echoed the token: the webhook becomes active, its queue due."""
    now = now or utcnow()
    done = conn.execute(update(webhooks).where(webhooks.c.id == webhook_id,
                                               webhooks.c.status == UNVERIFIED).values(
        status=ACTIVE, verified_at=now, updated_at=now)).rowcount
    if done:
        _release(conn, webhook_id, now)
    return bool(done)


def rotate(conn: Connection, webhook_id: int, overlap: float,
           now: datetime | None = None) -> str | None:
    """A new secret; the old one keeps signing for ``overlap`` seconds. Returns the new
    secret (None: no such webhook)."""
    now = now or utcnow()
    hook = get(conn, webhook_id)
    if hook is None:
        return None
    secret = new_secret()
    conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(
        secret=secret, previous_secret=hook.secret if overlap > 0 else None,
        previous_until=now + timedelta(seconds=overlap) if overlap > 0 else None,
        updated_at=now))
    return secret


class NewEvent(Protocol):
    """An event just inserted (events.New)."""

    @property
    def id(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def mailing_id(self) -> int | None: ...
    @property
    def data(self) -> str: ...


def fan_out(conn: Connection, new_events: Sequence[NewEvent]) -> int:
    """Queue one ``webhook`` job per (webhook, new event) it wants, in the caller's
    transaction. ``new_events`` have ``id``, ``type``, ``mailing_id`` and ``data`` (JSON
    text with ``tags``). Returns the number of jobs queued."""
    wanted = [e for e in new_events if e.type in TRIGGERS]
    if not wanted:
        return 0
    hooks = [_webhook(r) for r in conn.execute(select(webhooks))]
    if not hooks:
        return 0
    rows: list[dict[str, Any]] = []
    by_tag = any(h.tags for h in hooks)  # else the data need not be decoded
    for event in wanted:
        tags: list[str] = []
        if by_tag:
            tags = list(json.loads(event.data).get("tags") or [])
        for hook in hooks:
            if hook.wants(event.type, event.mailing_id, tags):
                rows.append({"kind": KIND, "ref": str(hook.id),
                             "payload": {"event": int(event.id)},
                             "status": outbox.PENDING if hook.status == ACTIVE
                             else outbox.HELD})
    outbox.enqueue_many(conn, rows, returning=False)
    if any(r["status"] == outbox.PENDING for r in rows):
        doorbell.ring(conn)  # idle webhook workers call at this commit, not at their poll
    return len(rows)


def queue(conn: Connection, webhook_id: int) -> dict[str, int]:
    """How many of a webhook's jobs are in each status (pending, running, held, dead,
    done)."""
    counts = dict.fromkeys((outbox.PENDING, outbox.RUNNING, outbox.HELD, outbox.DEAD,
                            outbox.DONE), 0)
    for status, n in conn.execute(select(jobs.c.status, func.count())
                                  .where(_jobs_of(webhook_id)).group_by(jobs.c.status)):
        counts[str(status)] = int(n)
    return counts


def dead(conn: Connection, webhook_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """Dead-lettered deliveries of a webhook, newest first."""
    stmt = (select(jobs).where(_jobs_of(webhook_id), jobs.c.status == outbox.DEAD)
            .order_by(jobs.c.id.desc()).limit(limit))
    return [{"job": r.id, "event": json.loads(r.payload).get("event"),
             "attempts": r.attempts, "queued_at": r.created_at.isoformat(),
             "dead_at": r.updated_at.isoformat(), "last_error": r.last_error or ""}
            for r in conn.execute(stmt)]


def replay(conn: Connection, webhook_id: int, job_ids: Collection[int] | None = None,
           now: datetime | None = None) -> int:
    """Queue dead-lettered deliveries again (all of the webhook's, or ``job_ids``), with a
    fresh retry period. Returns how many."""
    now = now or utcnow()
    hook = get(conn, webhook_id)
    if hook is None:
        return 0
    stmt = update(jobs).where(_jobs_of(webhook_id), jobs.c.status == outbox.DEAD)
    if job_ids is not None:
        stmt = stmt.where(jobs.c.id.in_(sorted(job_ids)))
    result = conn.execute(stmt.values(
        status=outbox.PENDING if hook.status == ACTIVE else outbox.HELD, run_at=now,
        attempts=0, created_at=now, updated_at=now, last_error=None))
    if result.rowcount and hook.status == ACTIVE:
        doorbell.ring(conn)
    return int(result.rowcount)


FAILURE_FIELDS = ("id", "time", "webhook", "event", "attempt", "url", "ip", "status",
                  "error", "description", "duration_ms", "headers", "body")


def failures(conn: Connection, webhook_id: int | None = None, since: datetime | None = None,
             limit: int | None = 100) -> list[dict[str, Any]]:
    """The failed-call log, newest first."""
    stmt = select(webhook_failures).order_by(webhook_failures.c.id.desc())
    if webhook_id is not None:
        stmt = stmt.where(webhook_failures.c.webhook_id == webhook_id)
    if since is not None:
        stmt = stmt.where(webhook_failures.c.time >= since)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [{"id": r.id, "time": r.time.isoformat(), "webhook": r.webhook_id,
             "event": r.event_id, "attempt": r.attempt, "url": r.url, "ip": r.ip,
             "status": r.status, "error": r.error, "description": r.description,
             "duration_ms": r.duration_ms, "headers": json.loads(r.headers), "body": r.body}
            for r in conn.execute(stmt)]


def log_failures(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(webhook_failures), list(rows))


@dataclass(frozen=True, slots=True)
class Event:
    """An event as a webhook call needs it."""

    id: int
    type: str
    time: datetime
    data: dict[str, Any]
    """The event's data, plus ``mime`` (the raw returned message) for a bounce."""


def events_for(conn: Connection, ids: Collection[int]) -> dict[int, Event]:
    """The events of ``ids`` (missing ones are left out), bounces with their MIME."""
    out: dict[int, Event] = {}
    for chunk in chunks(sorted(set(ids))):
        for r in conn.execute(select(events.c.id, events.c.type, events.c.time,
                                     events.c.data).where(events.c.id.in_(chunk))):
            out[int(r.id)] = Event(int(r.id), r.type, r.time, json.loads(r.data))
    raws = {int(e.data["received"]) for e in out.values()
            if e.type == "bounce" and e.data.get("received") is not None}
    mime: dict[int, bytes] = {}
    for chunk in chunks(sorted(raws)):
        for rid, raw in conn.execute(select(received.c.id, received.c.raw)
                                     .where(received.c.id.in_(chunk))):
            mime[int(rid)] = bytes(raw)
    for e in out.values():
        if e.type == "bounce":
            e.data["mime"] = mime.get(int(e.data.get("received") or 0), b"")
    return out


def called(conn: Connection, ok: Collection[int], failed: Collection[int],
           now: datetime, pause_after: float) -> list[int]:
    """Note calls' results on their webhooks: ``ok`` had a 2xx (no longer failing),
    ``failed`` did not (failing since its first failure). A webhook failing for
    ``pause_after`` seconds, with no success now, is paused and flagged. Returns the ids
    of the webhooks paused."""
    if ok:
        conn.execute(update(webhooks).where(webhooks.c.id.in_(sorted(ok))).values(
            last_success_at=now, failing_since=None))
    bad = sorted(set(failed) - set(ok))
    if not bad:
        return []
    conn.execute(update(webhooks).where(webhooks.c.id.in_(bad),
                                        webhooks.c.failing_since.is_(None))
                 .values(failing_since=now))
    limit = now - timedelta(seconds=pause_after)
    stale = [(int(r.id), r.failing_since) for r in conn.execute(
        select(webhooks.c.id, webhooks.c.failing_since).where(
            webhooks.c.id.in_(bad), webhooks.c.status == ACTIVE,
            webhooks.c.failing_since <= limit))]
    for webhook_id, since in stale:
        pause(conn, webhook_id, f"every call failed since {since:%Y-%m-%d %H:%M:%S} UTC",
              flagged=True, now=now)
    return [i for i, _ in stale]
