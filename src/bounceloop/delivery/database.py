"""The delivery engine's database work, and where it runs.

Each round's claim and reads, the recording of outcomes, lease extensions and releases are
:class:`Side` methods. One worker runs them, in the order the engine submits them:

- :class:`InThread`, a thread of the engine's process (the engine's default, and the only
  choice for an in-memory SQLite database, which another process cannot open);
- :class:`InProcess`, a process of its own with its own connections
  (``BOUNCELOOP_DELIVERY_DATABASE_PROCESS``, on by default in ``bounceloop serve``, and
  in ``bounceloop send --wait`` from 3,000 messages). The event loop that speaks SMTP to
  every MX and the database work otherwise share one interpreter lock: SQLAlchemy's and
  sqlite3's Python code took it from the lanes for every statement. bench/send.py,
  interleaved: 1.38-1.43x the messages a second on SQLite, 1.06-1.17x on PostgreSQL.

Either way the order holds: a claim never overtakes an outcome batch submitted before it,
so ``Round.seen`` counts the batches written before the round's suppression check (see
``Engine._deliver_jobs``), and on SQLite the engine is never two writers at once.

A worker process that dies takes its calls with it: they raise :class:`Lost`, the engine
starts a new one at its next round (its jobs stay leased until then; see
delivery.journal for the messages in flight).
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine as Database

from bounceloop.config import Settings
from bounceloop.delivery.journal import written
from bounceloop.delivery.outcome import verdict
from bounceloop.delivery.result import StepResult
from bounceloop.storage import messages as store
from bounceloop.storage import outbox, suppressions
from bounceloop.storage.engine import create_engine, in_memory

P = ParamSpec("P")
T = TypeVar("T")

INDOUBT = StepResult("message", "indoubt", "", "", (
    "delivered, unconfirmed: the process stopped after the final dot, before reading the "
    "reply (RFC 1047)"))


class Lost(Exception):
    """The database worker process died; the call's work may or may not have been done."""


@dataclass(slots=True)
class Round:
    """A round's work, read by the database worker: the claimed jobs, their messages,
    mailings not yet known, and which recipients are suppressed."""

    jobs: list[outbox.Job]
    claimed: int = 0
    """Jobs claimed, those settled at once included (see :meth:`Side.read_round`)."""
    items: list[store.Pending] = field(default_factory=list)
    mailings: dict[int, store.Mailing] = field(default_factory=dict)
    blocked: dict[tuple[str, str], suppressions.Entry] = field(default_factory=dict)
    seen: int = 0
    """Outcome batches known written before the suppression check ran."""
    settled: list[store.Outcome] = field(default_factory=list)
    """Messages a dead worker may have sent, recorded as delivered, unconfirmed."""
    heartbeat: asyncio.Task[None] | None = None
    """Set by the engine: keeps the jobs' lease (never sent between processes)."""


def entry(p: store.Pending) -> str:
    """A message's attempt as the journal lists it: a retry is a new entry."""
    return f"{p.id}:{p.attempts}"


def in_doubt(journals_dir: Path | None, p: store.Pending, taken_from: str | None,
             journals: dict[str, set[str] | None]) -> bool:
    """Whether a worker that died with this message may have written its final dot.

    Marked "sending" in the database (by ``sent_by``): yes, unless that worker's journal
    is here and does not list this attempt. Not marked, but taken over from a dead worker
    (SQLite, where the journal alone does the marking): only if its journal lists this
    attempt. See delivery.journal. ``journals`` caches the journals read.
    """
    if p.status == "sending":
        listed = _listed(journals_dir, p.sent_by, p, journals)
        return True if listed is None else listed
    if taken_from:
        return _listed(journals_dir, taken_from, p, journals) is True
    return False


def _listed(journals_dir: Path | None, worker: str | None, p: store.Pending,
            journals: dict[str, set[str] | None]) -> bool | None:
    """Whether ``worker``'s journal lists this attempt of ``p``; None: no journal."""
    if journals_dir is None or not worker:
        return None
    if worker not in journals:
        journals[worker] = written(journals_dir, worker)
    found = journals[worker]
    return None if found is None else entry(p) in found


def outcome(settings: Settings, p: store.Pending, result: StepResult, started: datetime,
            ms: int, mailing: store.Mailing | None, now: datetime) -> store.Outcome:
    """What an attempt's result means for its message, under the mailing's retry schedule
    (or the settings')."""
    schedule = (mailing.retry_schedule if mailing and mailing.retry_schedule
                else tuple(settings.retry_schedule))
    v = verdict(result, p.recipient, p.attempts + 1, now, p.expires_at, schedule,
                settings.severity_convention)
    return store.Outcome(p, result, v, started, ms)


class Side:
    """The database work of one engine, where its worker runs it."""

    def __init__(self, db: Database, settings: Settings, worker: str, batch: int,
                 journals_dir: Path | None) -> None:
        self.db = db
        self.settings = settings
        self.worker = worker
        self.batch = batch
        self.journals_dir = journals_dir
        self.policy = settings.suppression_policy()
        self.recorded = 0
        """Outcome batches written: in submission order, so a round's ``seen``."""

    def read_round(self, known: set[int], now: datetime) -> Round:
        """Claim a round's jobs and read what it needs; ``known``: mailings the engine
        has already."""
        jobs = outbox.claim(self.db, [store.DELIVER], self.worker, self.batch,
                            self.settings.job_lease, now=now)
        claimed = len(jobs)
        if not jobs:
            return Round(jobs)
        with self.db.connect() as conn:
            items = store.pending(conn, jobs)
            mailings = {mailing_id: store.load_mailing(conn, mailing_id)
                        for mailing_id in {p.mailing_id for p in items} - known}
        # Messages a dead worker may have sent are settled now, not when this round's turn
        # comes: the round may wait while the one before it delivers, and a kill meanwhile
        # would leave their jobs taken over from this worker, whose journal does not list
        # them, so the next worker would send them again (tests/test_service.py's SIGKILL
        # test caught 160 sent twice). The window left is this worker's two commits.
        taken = {j.id: j.taken_from for j in jobs if j.taken_from}
        journals: dict[str, set[str] | None] = {}
        doubt = [p for p in items if p.status in store.OPEN
                 and in_doubt(self.journals_dir, p, taken.get(p.job_id), journals)]
        settled: list[store.Outcome] = []
        if doubt:
            settled = [outcome(self.settings, p, INDOUBT, now, 0,
                               mailings.get(p.mailing_id), now) for p in doubt]
            store.record(self.db, self.worker, settled, now, self.policy)
            done = {p.job_id for p in doubt}
            jobs = [j for j in jobs if j.id not in done]
            items = [p for p in items if p.job_id not in done]
        seen = self.recorded  # before the check: it can only count too few
        blocked = self.check(items, now)
        return Round(jobs, claimed, items, mailings, blocked, seen, settled)

    def check(self, items: Sequence[store.Pending], now: datetime
              ) -> dict[tuple[str, str], suppressions.Entry]:
        with self.db.connect() as conn:
            return suppressions.check(conn, [(p.recipient, p.sender) for p in items], now)

    def record(self, outcomes: Sequence[store.Outcome], now: datetime) -> None:
        store.record(self.db, self.worker, outcomes, now, self.policy)
        self.recorded += 1

    def extend(self, job_ids: list[int]) -> None:
        with self.db.begin() as conn:
            outbox.extend(conn, job_ids, self.worker, self.settings.job_lease)

    def release(self, job_ids: list[int]) -> None:
        with self.db.begin() as conn:
            outbox.release(conn, self.worker, job_ids)

    def settle_closed(self, job_ids: list[int]) -> None:
        store.settle_closed(self.db, self.worker, job_ids)


class InThread:
    """The engine's database work in one thread of its process."""

    def __init__(self, side: Side) -> None:
        self.side = side
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        """Nothing to start ahead: a thread starts at once."""

    async def ready(self) -> None:
        """Ready at once."""

    async def call(self, method: Callable[Concatenate[Side, P], T], *args: P.args,
                   **kwargs: P.kwargs) -> T:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="delivery-db")
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, functools.partial(method, self.side, *args, **kwargs))

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)


#: The worker process's Side (see _start).
_SIDE: Side | None = None


def _start(url: str, settings: Settings, worker: str, batch: int, journals_dir: Path | None,
           parent: int) -> None:
    global _SIDE  # the worker process's one Side, made once at its start
    from bounceloop import orphans  # here: the engine's process does not need ctypes

    orphans.guard(parent)  # a killed engine's database process must not live on
    _SIDE = Side(create_engine(url), settings, worker, batch, journals_dir)


def _run(method: Callable[..., T], args: tuple[Any, ...]) -> T:
    assert _SIDE is not None, "the worker process was not started by InProcess"
    return method(_SIDE, *args)


class InProcess:
    """The engine's database work in a process of its own, started on the first call.

    Spawned, not forked: the engine's process has threads (the web server's, the
    parser's), and a fork copies their locks in whatever state they are."""

    def __init__(self, url: str, settings: Settings, worker: str, batch: int,
                 journals_dir: Path | None) -> None:
        self._args = (url, settings, worker, batch, journals_dir)
        self._pool: ProcessPoolExecutor | None = None
        self._started: Future[int] | None = None

    def start(self) -> None:
        """Start the process now (it takes a few tenths of a second), if not running."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                initargs=(*self._args, os.getpid()))
            self._started = self._pool.submit(int)  # spawns it now, not at the first call

    @property
    def pid(self) -> int | None:
        """The process's id, once started."""
        if self._pool is None:
            return None
        running = list(self._pool._processes or {})  # the pool has no public accessor
        return running[0] if running else None

    async def ready(self) -> None:
        """Start the process and wait until it runs."""
        self.start()
        started = self._started
        assert started is not None
        await self._outcome(lambda: started)

    async def call(self, method: Callable[Concatenate[Side, P], T], *args: P.args,
                   **kwargs: P.kwargs) -> T:
        assert not kwargs, "calls go to another process by position"
        self.start()
        assert self._pool is not None
        pool = self._pool
        return await self._outcome(lambda: pool.submit(_run, method, args))

    async def _outcome(self, submit: Callable[[], Future[T]]) -> T:
        # A pool that knows its process died refuses the call at once; one that does not
        # know yet fails it later: both are Lost.
        try:
            return await asyncio.wrap_future(submit())
        except BrokenProcessPool as exc:
            self.close()
            raise Lost(f"the delivery database process died: {exc}") from None

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)  # what was submitted still runs, as in a thread


Worker = InThread | InProcess


def worker_for(db: Database, settings: Settings, worker: str, batch: int,
               journals_dir: Path | None, process: bool) -> Worker:
    """A process when asked for and the database can be opened from another process (not
    an in-memory SQLite database), else a thread."""
    if process and not in_memory(db.url):
        return InProcess(db.url.render_as_string(hide_password=False), settings, worker,
                         batch, journals_dir)
    return InThread(Side(db, settings, worker, batch, journals_dir))


__all__ = ["INDOUBT", "InProcess", "InThread", "Lost", "Round", "Side", "Worker", "entry",
           "in_doubt", "outcome", "worker_for"]
