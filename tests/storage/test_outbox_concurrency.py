"""storage.outbox under real concurrency: worker PROCESSES claiming from one table.

Every job must be done exactly once when no worker dies (0 duplicates, 0 missed), and a
worker that dies holding jobs must not lose them. Each process opens its own engine, as the
service's workers do; spawn (not fork) so no connection or lock state is inherited.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from typing import Any

from sqlalchemy import Engine, func, select

from bounceloop.storage import outbox
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import jobs

JOBS = 3000
WORKERS = 4
TIMEOUT = 120.0


def _worker(url: str, name: str, barrier: Any, results: Any, lease: float,
            crash_after: int | None) -> None:
    """Claim and complete until nothing is due; report the ids it completed.

    With ``crash_after``, claim that many jobs, then die without completing or releasing
    them (os._exit: no cleanup runs, as after a kill -9)."""
    engine = create_engine(url)
    done: list[int] = []
    barrier.wait(TIMEOUT)
    if crash_after is not None:
        outbox.claim(engine, ["send"], name, limit=crash_after, lease_seconds=lease)
        os._exit(0)
    while True:
        claimed = outbox.claim(engine, ["send"], name, limit=10, lease_seconds=lease)
        if not claimed:
            # Nothing due now. Stop when every job is finished; otherwise some are held by
            # others (or by a dead worker, until its lease runs out): look again shortly.
            with engine.connect() as conn:
                left = conn.execute(select(func.count()).select_from(jobs)
                                    .where(jobs.c.status != "done")).scalar()
            if not left:
                break
            time.sleep(0.05)
            continue
        # The work on the jobs, outside any transaction, as a worker's is: SQLite's lock is
        # then free between one worker's transactions, and the others (asleep in its busy
        # handler) get their turn, instead of one worker taking every job.
        time.sleep(0.005)
        with engine.begin() as conn:
            for job in claimed:
                if outbox.complete(conn, job.id, name):
                    done.append(job.id)
    engine.dispose()
    results.put((name, done))


def _run(url: str, workers: int, lease: float, crash_after: int | None = None,
         crash_lease: float = 0.0) -> dict[str, list[int]]:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    if crash_after is not None:
        # The crasher goes first, alone, so it surely holds its jobs when it dies (racing
        # the others, it could find every job taken on a slow machine).
        alone = ctx.Barrier(1)  # kept referenced until the child has it
        crasher = ctx.Process(target=_worker, args=(url, "crasher", alone, results,
                                                    crash_lease, crash_after))
        crasher.start()
        crasher.join(TIMEOUT)
        assert crasher.exitcode == 0
    barrier = ctx.Barrier(workers)
    procs = [ctx.Process(target=_worker, args=(url, f"w{i}", barrier, results, lease, None))
             for i in range(workers)]
    for proc in procs:
        proc.start()
    try:
        out = dict(results.get(timeout=TIMEOUT) for _ in range(workers))
    finally:
        for proc in procs:
            proc.join(TIMEOUT)
            if proc.is_alive():
                proc.kill()
    assert [p.exitcode for p in procs] == [0] * len(procs)
    return out


def _fill(engine: Engine) -> list[int]:
    with engine.begin() as conn:
        return outbox.enqueue_many(conn, [{"kind": "send", "ref": str(i)} for i in range(JOBS)])


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_four_processes_claim_every_job_exactly_once(engine: Engine) -> None:
    ids = _fill(engine)
    results = _run(_url(engine), WORKERS, lease=60.0)
    counts = Counter(job_id for done in results.values() for job_id in done)
    duplicates = [job_id for job_id, n in counts.items() if n > 1]
    missed = set(ids) - set(counts)
    assert duplicates == [] and missed == set()
    # Real concurrency: the work was shared (how evenly is up to the scheduler; on a busy
    # machine one process may start late and find little left).
    split = {name: len(done) for name, done in results.items()}
    assert sum(1 for n in split.values() if n) >= 2, f"one worker did everything: {split}"
    with engine.connect() as conn:
        rows = conn.execute(select(jobs.c.status, jobs.c.attempts, func.count())
                            .group_by(jobs.c.status, jobs.c.attempts)).all()
    assert [tuple(r) for r in rows] == [("done", 1, JOBS)]  # each claimed exactly once


def test_jobs_of_a_crashed_worker_are_taken_over_after_the_lease(engine: Engine) -> None:
    ids = _fill(engine)
    # Only the dead worker's lease is short: a live worker's must outlast its slowest
    # batch on a loaded machine, or its jobs are taken over too and counted as retried.
    results = _run(_url(engine), WORKERS, lease=60.0, crash_after=50, crash_lease=2.0)
    counts = Counter(job_id for done in results.values() for job_id in done)
    assert set(counts) == set(ids) and max(counts.values()) == 1
    with engine.connect() as conn:
        retried = conn.execute(select(func.count()).select_from(jobs)
                               .where(jobs.c.attempts == 2)).scalar()
        statuses = conn.execute(select(jobs.c.status).distinct()).scalars().all()
    assert statuses == ["done"]
    assert retried == 50  # the crashed worker's jobs, claimed a second time
