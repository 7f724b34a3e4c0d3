"""storage.outbox on both backends: enqueue, claim, complete, reschedule, fail, extend,
release, lease expiry, purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from bounceloop.storage import outbox
from bounceloop.storage.engine import utcnow
from bounceloop.storage.tables import jobs

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _enqueue(engine: Engine, n: int = 1, kind: str = "send", start: float = 0) -> list[int]:
    with engine.begin() as conn:
        return [outbox.enqueue(conn, kind, ref=f"m{i}", payload={"i": i}, run_at=_at(start + i))
                for i in range(n)]


def _get(engine: Engine, job_id: int) -> outbox.Job:
    with engine.connect() as conn:
        job = outbox.get(conn, job_id)
    assert job is not None
    return job


def test_enqueue_stores_a_pending_job(engine: Engine) -> None:
    before = utcnow()
    with engine.begin() as conn:
        job_id = outbox.enqueue(conn, "send", ref="msg-1", payload={"to": "a@b", "n": [1]})
    job = _get(engine, job_id)
    assert (job.kind, job.ref, dict(job.payload), job.status) == (
        "send", "msg-1", {"to": "a@b", "n": [1]}, "pending")
    assert job.attempts == 0 and job.locked_by is None and job.locked_until is None
    assert before <= job.run_at == job.created_at <= utcnow()
    assert job.run_at.tzinfo is UTC


def test_enqueue_belongs_to_the_callers_transaction(engine: Engine) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), engine.begin() as conn:
        outbox.enqueue(conn, "send")
        raise Boom
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(jobs)).scalar() == 0


def test_enqueue_many_returns_ids_in_order(engine: Engine) -> None:
    rows = [{"kind": "send", "ref": f"r{i}", "payload": {"i": i}, "run_at": _at(i)}
            for i in range(250)]
    with engine.begin() as conn:
        ids = outbox.enqueue_many(conn, rows)
        assert outbox.enqueue_many(conn, []) == []
    assert len(set(ids)) == 250
    for i in (0, 137, 249):
        job = _get(engine, ids[i])
        assert (job.ref, job.payload["i"], job.run_at) == (f"r{i}", i, _at(i))


def test_enqueue_many_without_ids_adds_the_same_jobs(engine: Engine) -> None:
    rows = [{"kind": "send", "ref": f"r{i}", "payload": {"i": i}, "run_at": _at(i)}
            for i in range(250)]
    with engine.begin() as conn:
        assert outbox.enqueue_many(conn, rows, returning=False) == []
        got = conn.execute(select(jobs.c.id).order_by(jobs.c.id)).scalars().all()
    jobs_ = [_get(engine, i) for i in got]
    assert [(j.ref, j.payload["i"], j.run_at, j.status) for j in jobs_] == [
        (f"r{i}", i, _at(i), outbox.PENDING) for i in range(250)]


def test_enqueue_many_rejects_unknown_fields(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match="priority"):
        outbox.enqueue_many(conn, [{"kind": "send", "priority": 1}])


def test_claim_takes_due_jobs_in_order_up_to_limit(engine: Engine) -> None:
    ids = _enqueue(engine, 5)  # due at T0+0 .. T0+4
    claimed = outbox.claim(engine, ["send"], "w1", limit=2, lease_seconds=60, now=_at(10))
    assert [j.id for j in claimed] == ids[:2]
    for job in claimed:
        assert (job.status, job.locked_by, job.attempts) == ("running", "w1", 1)
        assert job.locked_until == _at(70)
    rest = outbox.claim(engine, ["send"], "w2", limit=10, lease_seconds=60, now=_at(10))
    assert [j.id for j in rest] == ids[2:]
    assert outbox.claim(engine, ["send"], "w3", limit=10, lease_seconds=60, now=_at(10)) == []


def test_claim_skips_jobs_not_yet_due(engine: Engine) -> None:
    ids = _enqueue(engine, 3)  # T0, T0+1, T0+2
    claimed = outbox.claim(engine, ["send"], "w1", limit=10, lease_seconds=60, now=_at(1))
    assert [j.id for j in claimed] == ids[:2]


def test_claim_filters_by_kind(engine: Engine) -> None:
    send = _enqueue(engine, 2, kind="send")
    hook = _enqueue(engine, 2, kind="webhook")
    got = outbox.claim(engine, ["webhook"], "w", limit=10, lease_seconds=60, now=_at(5))
    assert [j.id for j in got] == hook
    assert outbox.claim(engine, [], "w", limit=10, lease_seconds=60, now=_at(5)) == []
    anything = outbox.claim(engine, None, "w", limit=10, lease_seconds=60, now=_at(5))
    assert [j.id for j in anything] == send


def test_complete_only_by_the_holder(engine: Engine) -> None:
    (job_id,) = _enqueue(engine)
    outbox.claim(engine, ["send"], "w1", limit=1, lease_seconds=60, now=_at(1))
    with engine.begin() as conn:
        assert not outbox.complete(conn, job_id, "w2")
        assert outbox.complete(conn, job_id, "w1")
        assert not outbox.complete(conn, job_id, "w1")  # done already
    job = _get(engine, job_id)
    assert (job.status, job.locked_by, job.locked_until) == ("done", None, None)
    assert outbox.claim(engine, ["send"], "w1", limit=1, lease_seconds=60, now=_at(99)) == []


def test_reschedule_makes_it_pending_again_later(engine: Engine) -> None:
    (job_id,) = _enqueue(engine)
    outbox.claim(engine, ["send"], "w1", limit=1, lease_seconds=60, now=_at(1))
    with engine.begin() as conn:
        assert not outbox.reschedule(conn, job_id, "w2", _at(600), error="nope")
        assert outbox.reschedule(conn, job_id, "w1", _at(600), error="421 try later")
    job = _get(engine, job_id)
    assert (job.status, job.run_at, job.last_error, job.locked_by) == (
        "pending", _at(600), "421 try later", None)
    assert outbox.claim(engine, ["send"], "w1", limit=1, lease_seconds=60, now=_at(599)) == []
    again = outbox.claim(engine, ["send"], "w2", limit=1, lease_seconds=60, now=_at(600))
    assert [(j.id, j.attempts, j.last_error) for j in again] == [(job_id, 2, "421 try later")]
    with engine.begin() as conn:  # no error given: the last one is kept
        assert outbox.reschedule(conn, job_id, "w2", _at(700))
    assert _get(engine, job_id).last_error == "421 try later"


def test_fail_makes_it_dead(engine: Engine) -> None:
    (job_id,) = _enqueue(engine)
    outbox.claim(engine, ["send"], "w1", limit=1, lease_seconds=60, now=_at(1))
    with engine.begin() as conn:
        assert not outbox.fail(conn, job_id, "w2", "x")
        assert outbox.fail(conn, job_id, "w1", "550 no such user")
    job = _get(engine, job_id)
    assert (job.status, job.last_error, job.locked_by) == ("dead", "550 no such user", None)
    assert outbox.claim(engine, None, "w1", limit=1, lease_seconds=60, now=_at(10**6)) == []


def test_expired_lease_is_claimed_again_and_fences_the_old_holder(engine: Engine) -> None:
    (job_id,) = _enqueue(engine)
    first = outbox.claim(engine, ["send"], "crashed", limit=1, lease_seconds=30, now=_at(1))
    assert first[0].locked_until == _at(31)
    # Within the lease nobody else gets it, even at the last moment.
    assert outbox.claim(engine, ["send"], "w2", limit=1, lease_seconds=30, now=_at(31)) == []
    second = outbox.claim(engine, ["send"], "w2", limit=1, lease_seconds=30, now=_at(32))
    assert [(j.id, j.locked_by, j.attempts) for j in second] == [(job_id, "w2", 2)]
    # The claim says whose lease it ended (the first claim took a pending job: nobody's).
    assert (first[0].taken_from, second[0].taken_from) == (None, "crashed")
    with engine.begin() as conn:
        # The old holder comes back: its result no longer counts.
        assert not outbox.complete(conn, job_id, "crashed")
        assert outbox.extend(conn, [job_id], "crashed", 30, now=_at(33)) == set()
        assert outbox.complete(conn, job_id, "w2")


def test_extend_renews_the_lease(engine: Engine) -> None:
    ids = _enqueue(engine, 3)
    outbox.claim(engine, ["send"], "w1", limit=2, lease_seconds=30, now=_at(5))
    with engine.begin() as conn:
        held = outbox.extend(conn, [*ids, 12345], "w1", 30, now=_at(25))
        assert outbox.extend(conn, [], "w1", 30) == set()
    assert held == set(ids[:2])  # the third was never claimed, 12345 does not exist
    assert _get(engine, ids[0]).locked_until == _at(55)
    # Past the original lease but within the renewed one: still held.
    assert outbox.claim(engine, ["send"], "w2", limit=5, lease_seconds=30, now=_at(40)) != []
    assert {j.id for j in outbox.claim(engine, ["send"], "w3", limit=5, lease_seconds=30,
                                       now=_at(56))} == set(ids[:2])


def test_release_gives_everything_back(engine: Engine) -> None:
    ids = _enqueue(engine, 4)
    outbox.claim(engine, ["send"], "w1", limit=3, lease_seconds=300, now=_at(10))
    outbox.claim(engine, ["send"], "w2", limit=1, lease_seconds=300, now=_at(10))
    with engine.begin() as conn:
        assert outbox.release(conn, "w1", job_ids=[ids[0]]) == 1
        assert outbox.release(conn, "w1", job_ids=[]) == 0
        assert outbox.release(conn, "w1") == 2
        assert outbox.release(conn, "w1") == 0
    for job_id in ids[:3]:
        job = _get(engine, job_id)
        assert (job.status, job.locked_by, job.attempts) == ("pending", None, 0)
    assert _get(engine, ids[3]).locked_by == "w2"  # another worker's job is left alone
    back = outbox.claim(engine, ["send"], "w3", limit=10, lease_seconds=300, now=_at(11))
    assert [j.id for j in back] == ids[:3]


def test_a_released_or_rescheduled_job_is_not_taken_over(engine: Engine) -> None:
    a, b = _enqueue(engine, 2)
    outbox.claim(engine, ["send"], "w1", limit=2, lease_seconds=30, now=_at(2))
    with engine.begin() as conn:
        outbox.release(conn, "w1", [a])
        outbox.reschedule(conn, b, "w1", _at(3))
    again = outbox.claim(engine, ["send"], "w2", limit=2, lease_seconds=30, now=_at(40))
    assert sorted((j.id, j.taken_from) for j in again) == [(a, None), (b, None)]


def test_purge_deletes_old_done_jobs_only(engine: Engine) -> None:
    done, dead, pending = _enqueue(engine, 3)
    outbox.claim(engine, ["send"], "w", limit=2, lease_seconds=60, now=_at(1))
    with engine.begin() as conn:
        outbox.complete(conn, done, "w")
        outbox.fail(conn, dead, "w", "x")
    with engine.begin() as conn:
        assert outbox.purge(conn, utcnow() - timedelta(hours=1)) == 0
        assert outbox.purge(conn, utcnow() + timedelta(seconds=1)) == 1
        assert outbox.get(conn, done) is None
        assert outbox.get(conn, dead) is not None and outbox.get(conn, pending) is not None


def test_purge_in_batches_and_the_service_sweep_purges_after_the_retention(
        engine: Engine) -> None:
    import asyncio

    from bounceloop.service import PURGE_BATCH, sweep

    ids = _enqueue(engine, 7)
    outbox.claim(engine, ["send"], "w", limit=7, lease_seconds=10**6, now=_at(10))
    with engine.begin() as conn:
        assert outbox.complete_many(conn, ids[:6], "w") == 6
        assert [outbox.purge(conn, utcnow() + timedelta(seconds=1), batch=4)
                for _ in range(3)] == [4, 2, 0]
        assert outbox.get(conn, ids[6]) is not None  # still running: kept
    more = _enqueue(engine, PURGE_BATCH + 5)
    outbox.claim(engine, ["send"], "w", limit=len(more), lease_seconds=60,
                 now=_at(len(more) + 1))
    with engine.begin() as conn:
        assert outbox.complete_many(conn, more, "w") == len(more)

    async def one_sweep(retention: float) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(sweep(engine, 60, stop, retention))
        await asyncio.sleep(0.5)
        stop.set()
        await task

    asyncio.run(one_sweep(3600))  # done a moment ago: younger than the retention
    with engine.connect() as conn:
        assert all(outbox.get(conn, i) is not None for i in more)
    asyncio.run(one_sweep(0.001))  # past it: every batch goes in one sweep
    with engine.connect() as conn:
        assert [i for i in more if outbox.get(conn, i) is not None] == []
        assert outbox.get(conn, ids[6]) is not None


def test_claim_takes_no_more_than_limit_from_a_large_backlog(engine: Engine) -> None:
    rows = [{"kind": "send", "run_at": _at(i % 7)} for i in range(500)]
    with engine.begin() as conn:
        outbox.enqueue_many(conn, rows)
    got = outbox.claim(engine, ["send"], "w", limit=37, lease_seconds=60, now=_at(100))
    assert len(got) == 37
    assert [j.run_at for j in got] == sorted(j.run_at for j in got)
    with engine.connect() as conn:
        running = conn.execute(select(func.count()).select_from(jobs)
                               .where(jobs.c.status == "running")).scalar()
    assert running == 37
