"""The jobs outbox: durable work, enqueued with the domain write and claimed under a lease.

Why an outbox: a message is queued, a retry scheduled, a webhook owed *in the same
transaction* as the row that makes it so; the job cannot be lost after the commit nor exist
without it (the transactional outbox pattern). Any number of worker processes, on one host
(SQLite) or several (PostgreSQL), then take the work from the ``jobs`` table.

Life of a job::

    enqueue ──> pending ──claim──> running ──complete──> done
                held  (kept, never claimed: a paused webhook's queue)
                   ^                  │ ├──reschedule──> pending (run_at later)
                   │                  │ ├──fail────────> dead
                   └──release─────────┘ └──lease runs out: claimable again

Guarantees:

- **At-least-once.** A claimed job belongs to one worker until ``locked_until``. A worker
  that dies (crash, kill, power loss) simply stops renewing its lease; once the lease has run
  out, :func:`claim` hands the job to another worker, with ``attempts`` counted up. So a job
  is never lost, but it may run more than once: handlers must be idempotent (for mail: check
  the message's state before sending).
- **No double claim of a live lease.** :func:`claim` moves jobs to ``running`` in one
  statement: ``WITH due AS (SELECT id ... ORDER BY run_at LIMIT n) UPDATE jobs ... WHERE id
  IN (SELECT id FROM due) RETURNING``. On PostgreSQL the inner SELECT takes ``FOR UPDATE
  SKIP LOCKED``, so concurrent claimers skip each other's rows instead of queueing behind
  them (PostgreSQL docs, SELECT, "The Locking Clause"); on SQLite, ``BEGIN IMMEDIATE`` (see
  :mod:`bounceloop.storage.engine`) makes claimers take turns. SQLite supports RETURNING
  from 3.35.0.
- **Fencing.** :func:`complete`, :func:`reschedule`, :func:`fail` and :func:`extend` act only
  while the job is ``running`` and ``locked_by`` the caller; they return False (or leave
  the id out) when the lease was lost to another worker, whose result then stands. A lease
  that ran out but that nobody took over yet is still the caller's.
- **Due order.** Jobs are claimed oldest ``run_at`` first (ties by id); no other order is
  promised, and jobs of one ``ref`` may run concurrently unless the caller prevents it.

Times are aware UTC datetimes taken from the caller's clock (``now`` arguments let tests say
what time it is), so workers on several hosts need their clocks in step (NTP): a worker
whose clock runs ahead sees other leases run out early.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    delete,
    insert,
    literal_column,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import Executable

from bounceloop.core.frozen import by_fields
from bounceloop.storage.engine import insert_ids, utcnow
from bounceloop.storage.prepared import Prepared, Times, timestamps
from bounceloop.storage.tables import jobs

PENDING = "pending"
RUNNING = "running"
DONE = "done"
DEAD = "dead"
#: Kept but not claimable: a paused or unverified webhook's queue (storage.webhooks).
HELD = "held"


@dataclass(frozen=True, slots=True)
class Job:
    """One row of ``jobs`` as a worker sees it."""

    id: int
    kind: str
    ref: str | None
    payload: Mapping[str, Any]
    status: str
    run_at: datetime
    attempts: int
    """Times the job was claimed, this claim included."""
    locked_by: str | None
    locked_until: datetime | None
    last_error: str | None
    taken_from: str | None
    """The worker this claim took the job over from, its lease having run out (it died
    or hung while holding the job); None for a job that was pending."""
    created_at: datetime
    updated_at: datetime

    __reduce__ = by_fields  # to the delivery database process (core.frozen)


_JOB_COLUMNS = (jobs.c.id, jobs.c.kind, jobs.c.ref, jobs.c.payload, jobs.c.status,
                jobs.c.run_at, jobs.c.attempts, jobs.c.locked_by, jobs.c.locked_until,
                jobs.c.last_error, jobs.c.taken_from, jobs.c.created_at, jobs.c.updated_at)


def _job(row: Sequence[Any], times: Times) -> Job:
    """A job from the columns of _JOB_COLUMNS, raw (storage.prepared) or read through
    SQLAlchemy (``times`` takes either)."""
    (id_, kind, ref, payload, status, run_at, attempts, locked_by, locked_until,
     last_error, taken_from, created_at, updated_at) = row
    return Job(id=id_, kind=kind, ref=ref, payload=json.loads(payload), status=status,
               run_at=times.required(run_at), attempts=attempts, locked_by=locked_by,
               locked_until=times(locked_until), last_error=last_error,
               taken_from=taken_from, created_at=times.required(created_at),
               updated_at=times.required(updated_at))


def _values(kind: str, ref: str | None, payload: Mapping[str, Any] | None,
            run_at: datetime | None, now: datetime, status: str = PENDING) -> dict[str, Any]:
    if not kind:
        raise ValueError("a job needs a kind")
    if status not in (PENDING, HELD):
        raise ValueError(f"a new job is {PENDING} or {HELD}, not {status!r}")
    return {
        "kind": kind,
        "ref": ref,
        "payload": json.dumps(dict(payload or {}), separators=(",", ":"), sort_keys=True),
        "status": status,
        "run_at": run_at or now,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


_ENQUEUE = Prepared(insert(jobs).values({c: bindparam(c) for c in (
    "kind", "ref", "payload", "status", "run_at", "attempts", "created_at", "updated_at")}))
_TIMES = ("run_at", "created_at", "updated_at")


def enqueue(conn: Connection, kind: str, ref: str | None = None,
            payload: Mapping[str, Any] | None = None, run_at: datetime | None = None) -> int:
    """Add a pending job, due at ``run_at`` (default: now), in the caller's transaction.

    ``payload`` must be JSON-serialisable; ``ref`` names what the job is about (a message id)
    and is indexed. Returns the job's id.
    """
    values = _values(kind, ref, payload, run_at, utcnow())
    job_id = conn.execute(insert(jobs).values(values).returning(jobs.c.id)).scalar_one()
    return int(job_id)


_FIELDS = frozenset({"kind", "ref", "payload", "run_at", "status"})


def enqueue_many(conn: Connection, rows: Iterable[Mapping[str, Any]], *,
                 returning: bool = True) -> list[int]:
    """Add many pending jobs in one statement batch, in the caller's transaction.

    Each row has the keyword arguments of :func:`enqueue` (``kind`` required; ``ref``,
    ``payload``, ``run_at`` optional, and ``status``: pending or held). Returns the new
    ids in the order of ``rows``; with ``returning=False`` none (an empty list): a plain
    executemany, several times faster than the multi-row INSERT ... RETURNING that
    collecting the ids takes (bench/send.py's queueing).
    """
    now = utcnow()
    params: list[dict[str, Any]] = []
    for row in rows:
        unknown = set(row) - _FIELDS
        if unknown:
            raise ValueError(f"unknown job field(s): {', '.join(sorted(unknown))}")
        params.append(_values(row["kind"], row.get("ref"), row.get("payload"),
                              row.get("run_at"), now, row.get("status", PENDING)))
    if not params:
        return []
    if not returning:
        # Raw rows (storage.prepared), each distinct timestamp converted once: a batch's
        # jobs share ``now`` and mostly one ``run_at``.
        when = timestamps(conn.dialect)
        stored: dict[datetime, Any] = {}
        for p in params:
            for c in _TIMES:
                t = p[c]
                if t not in stored:
                    stored[t] = when(t)
                p[c] = stored[t]
        _ENQUEUE.many(conn, params)
        return []
    return insert_ids(conn, jobs, params)


def _due(now: Any, pending: Any = PENDING, running: Any = RUNNING) -> Any:
    """Due at ``now``; the claim gives parameters for all three (storage.prepared)."""
    return or_(
        and_(jobs.c.status == pending, jobs.c.run_at <= now),
        # An expired lease: the worker died or hung; the job is up for grabs again.
        and_(jobs.c.status == running, jobs.c.locked_until < now),
    )


def any_due(engine: Engine, kinds: Collection[str], now: datetime | None = None) -> bool:
    """Whether a job of ``kinds`` is due: a read in a transaction of its own that does not
    queue behind writers, so an idle worker that looks often takes no write lock (SQLite)
    until there is something to claim."""
    stmt = select(jobs.c.id).where(jobs.c.kind.in_(sorted(kinds)), _due(now or utcnow()))
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return conn.execute(stmt.limit(1)).first() is not None


def claim(engine: Engine, kinds: Collection[str] | None, worker: str, limit: int,
          lease_seconds: float, now: datetime | None = None,
          refs: Collection[str] | None = None) -> list[Job]:
    """Take up to ``limit`` due jobs of ``kinds`` (None: any kind) for ``worker``.

    Due means pending with ``run_at <= now``, or running with a lease that ran out. The
    jobs come back running, locked by ``worker`` until ``now + lease_seconds``, with
    ``attempts`` counted up, in due order. Runs in a transaction of its own, committed
    before returning, so the lease is visible to every other worker at once. ``refs``
    narrows the claim to jobs about those refs (one webhook's deliveries).
    """
    if limit <= 0 or (kinds is not None and not kinds) or (refs is not None and not refs):
        return []
    with engine.begin() as conn:
        return claim_in(conn, kinds, worker, limit, lease_seconds, now, refs)


def claim_in(conn: Connection, kinds: Collection[str] | None, worker: str, limit: int,
             lease_seconds: float, now: datetime | None = None,
             refs: Collection[str] | None = None) -> list[Job]:
    """:func:`claim` in the caller's transaction (the webhook worker writes its results
    and claims its next jobs in one); the lease counts once that commits."""
    if limit <= 0 or (kinds is not None and not kinds) or (refs is not None and not refs):
        return []
    if not worker:
        raise ValueError("a worker needs a name")
    now = now or utcnow()
    key = (None if kinds is None else len(kinds), None if refs is None else len(refs))
    claim = _CLAIMS.get(key)
    if claim is None:
        if len(_CLAIMS) >= 64:  # refs lists of many lengths: keep the cache bounded
            _CLAIMS.clear()
        claim = _CLAIMS[key] = Prepared(functools.partial(_claim, *key))
    when = timestamps(conn.dialect)
    params: dict[str, Any] = {
        "pending": PENDING, "running": RUNNING, "now": when(now), "limit": limit,
        "offset": 0, "worker": worker,
        "until": when(now + timedelta(seconds=lease_seconds))}
    params.update((f"kind_{i}", k) for i, k in enumerate(sorted(kinds or ())))
    params.update((f"ref_{i}", r) for i, r in enumerate(sorted(refs or ())))
    times = Times()
    claimed = [_job(row, times) for row in claim.one(conn, params)]
    # RETURNING gives rows in no particular order.
    claimed.sort(key=lambda job: (job.run_at, job.id))
    return claimed


#: The claim statements, by (number of kinds, number of refs); None: not narrowed.
_CLAIMS: dict[tuple[int | None, int | None], Prepared] = {}


def _claim(kinds: int | None, refs: int | None, dialect: Dialect) -> Executable:
    """The claim as one statement, its values all parameters (storage.prepared: on
    bench/send.py the claim's parameters and result rows through SQLAlchemy's processing
    held the GIL longer than its SQL ran)."""
    now: Any = bindparam("now")
    due = select(jobs.c.id).where(_due(now, bindparam("pending"), bindparam("running")))
    if kinds is not None:
        due = due.where(jobs.c.kind.in_([bindparam(f"kind_{i}") for i in range(kinds)]))
    if refs is not None:
        due = due.where(jobs.c.ref.in_([bindparam(f"ref_{i}") for i in range(refs)]))
    due = (due.order_by(jobs.c.run_at, jobs.c.id).limit(bindparam("limit"))
           .offset(bindparam("offset")))
    if dialect.name == "postgresql":
        # Lock the chosen rows; rows another claimer locked are skipped, not waited for.
        due = due.with_for_update(skip_locked=True)
    # The choice is a MATERIALIZED CTE on PostgreSQL, so it runs exactly once: as a plain
    # "IN (subquery)" the planner may pick a nested loop that rescans the subquery, and
    # each rescan skips the rows it locked before and locks *more*, so LIMIT is exceeded
    # (a known trap of SKIP LOCKED queues). SQLite gets the same statement without the
    # lock clause; its writers already take turns.
    chosen = due.cte("due").prefix_with("MATERIALIZED", dialect="postgresql")
    return (
        update(jobs)
        .where(jobs.c.id.in_(select(chosen.c.id)))
        .values(
            # SET reads the row as it was: a job still "running" is taken over.
            taken_from=case((jobs.c.status == bindparam("running"), jobs.c.locked_by),
                            else_=null()),
            status=bindparam("running"),
            locked_by=bindparam("worker"),
            locked_until=bindparam("until"),
            attempts=jobs.c.attempts + literal_column("1"),
            updated_at=now,
        )
        .returning(*_JOB_COLUMNS)
    )


def _held(job_id: int, worker: str) -> Any:
    return and_(jobs.c.id == job_id, jobs.c.status == RUNNING, jobs.c.locked_by == worker)


def complete(conn: Connection, job_id: int, worker: str) -> bool:
    """Mark a job done. False (and nothing changed) if ``worker`` no longer holds it."""
    result = conn.execute(
        update(jobs).where(_held(job_id, worker)).values(
            status=DONE, locked_by=None, locked_until=None, updated_at=utcnow()))
    return result.rowcount == 1


def reschedule(conn: Connection, job_id: int, worker: str, run_at: datetime,
               error: str | None = None) -> bool:
    """Give a job back as pending, due again at ``run_at`` (a retry), noting ``error`` if
    given. False if ``worker`` no longer holds it."""
    values: dict[str, Any] = {"status": PENDING, "run_at": run_at, "locked_by": None,
                              "locked_until": None, "updated_at": utcnow()}
    if error is not None:
        values["last_error"] = error
    result = conn.execute(update(jobs).where(_held(job_id, worker)).values(values))
    return result.rowcount == 1


#: One prepared statement for every job of a batch (executemany; storage.prepared): jobs
#: ``worker`` no longer holds are left alone.
_COMPLETE = Prepared(
    update(jobs)
    .where(jobs.c.id == bindparam("job_id"), jobs.c.status == bindparam("running"),
           jobs.c.locked_by == bindparam("worker"))
    .values(status=bindparam("done"), locked_by=null(), locked_until=null(),
            updated_at=bindparam("now"))
)
_RESCHEDULE = Prepared(
    update(jobs)
    .where(jobs.c.id == bindparam("job_id"), jobs.c.status == bindparam("running"),
           jobs.c.locked_by == bindparam("worker"))
    .values(status=bindparam("pending"), run_at=bindparam("due"), locked_by=null(),
            locked_until=null(), updated_at=bindparam("now"), last_error=bindparam("error"))
)


def complete_many(conn: Connection, job_ids: Iterable[int], worker: str) -> int:
    """:func:`complete` for many jobs in one executemany; returns how many ``worker``
    still held (and so completed)."""
    when = timestamps(conn.dialect)(utcnow())
    rows = [{"job_id": job_id, "running": RUNNING, "worker": worker, "done": DONE,
             "now": when} for job_id in sorted(set(job_ids))]
    if not rows:
        return 0
    return _COMPLETE.many(conn, rows)


def reschedule_many(conn: Connection, items: Iterable[tuple[int, datetime, str]],
                    worker: str) -> None:
    """:func:`reschedule` for many ``(job_id, run_at, error)`` at once (one executemany;
    jobs ``worker`` no longer holds are left alone, as there)."""
    when = timestamps(conn.dialect)
    now = when(utcnow())
    rows = [{"job_id": job_id, "running": RUNNING, "worker": worker, "pending": PENDING,
             "due": when(run_at), "now": now, "error": error}
            for job_id, run_at, error in items]
    if rows:
        _RESCHEDULE.many(conn, rows)


def fail(conn: Connection, job_id: int, worker: str, error: str) -> bool:
    """Give up on a job for good (status ``dead``), keeping ``error``. False if ``worker``
    no longer holds it."""
    result = conn.execute(
        update(jobs).where(_held(job_id, worker)).values(
            status=DEAD, last_error=error, locked_by=None, locked_until=None,
            updated_at=utcnow()))
    return result.rowcount == 1


def extend(conn: Connection, job_ids: Iterable[int], worker: str, lease_seconds: float,
           now: datetime | None = None) -> set[int]:
    """Renew ``worker``'s lease on ``job_ids`` to ``now + lease_seconds`` (the heartbeat of a
    long job). Returns the ids still held; one missing was lost (its lease ran out and
    another worker claimed it, or it was released), and the caller should stop working on
    it."""
    ids = sorted(set(job_ids))
    if not ids:
        return set()
    now = now or utcnow()
    result = conn.execute(
        update(jobs)
        .where(jobs.c.id.in_(ids), jobs.c.status == RUNNING, jobs.c.locked_by == worker)
        .values(locked_until=now + timedelta(seconds=lease_seconds), updated_at=now)
        .returning(jobs.c.id))
    return {int(job_id) for job_id in result.scalars()}


def release(conn: Connection, worker: str, job_ids: Iterable[int] | None = None) -> int:
    """Give back every job ``worker`` holds (or just ``job_ids``) as pending, due as before:
    a graceful shutdown hands its unfinished work to the other workers at once instead of
    after the lease. The claim is not counted as an attempt. Returns how many were given
    back."""
    stmt = update(jobs).where(jobs.c.status == RUNNING, jobs.c.locked_by == worker)
    if job_ids is not None:
        ids = sorted(set(job_ids))
        if not ids:
            return 0
        stmt = stmt.where(jobs.c.id.in_(ids))
    result = conn.execute(stmt.values(
        status=PENDING, locked_by=None, locked_until=None, updated_at=utcnow(),
        # The worker gave the job back unfinished of its own accord: not the job's fault,
        # so it does not use up an attempt (attempts are what a retry limit counts).
        attempts=jobs.c.attempts - 1))
    return int(result.rowcount)


def get(conn: Connection, job_id: int) -> Job | None:
    """One job by id, whatever its status."""
    row = conn.execute(select(*_JOB_COLUMNS).where(jobs.c.id == job_id)).one_or_none()
    return None if row is None else _job(row, Times())


def purge(conn: Connection, before: datetime, batch: int | None = None) -> int:
    """Delete done jobs last updated before ``before`` (dead ones are kept for inspection),
    at most ``batch`` of them (None: all). Returns how many were deleted."""
    done = and_(jobs.c.status == DONE, jobs.c.updated_at < before)
    if batch is None:
        return int(conn.execute(delete(jobs).where(done)).rowcount)
    chosen = select(jobs.c.id).where(done).order_by(jobs.c.id).limit(batch)
    ids = list(conn.execute(chosen).scalars())
    if ids:
        conn.execute(delete(jobs).where(jobs.c.id.in_(ids)))
    return len(ids)
