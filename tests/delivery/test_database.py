"""Where the delivery engine's database work runs (delivery.database): a thread, or a process
of its own that the engine replaces when it dies.

The engine's behaviour with the work in a process is tested by tests/delivery/test_engine.py
(its tests marked database_process run both ways); here: the choice of worker, that the
work really leaves the engine's process, and a worker process killed mid-run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import func, select

from bounceloop.config import Settings
from bounceloop.delivery.database import InProcess, InThread, Lost, Side, worker_for
from bounceloop.delivery.engine import Engine
from bounceloop.storage import messages as store
from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import jobs
from bounceloop.testing import FakeDNS, FakeMX

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def settings(**extra: object) -> Settings:
    values: dict[str, object] = {
        "database_url": "unused", "hostname": "client.sender.test",
        "allowed_target_networks": ["127.0.0.0/8"], "bounce_domain": "bounce.sender.test",
        "verp_secret": "s3cret", "poll_interval": 0.05, "connect_timeout": 2.0}
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


def queue(db: Database, recipients: list[str], now: datetime) -> list[str]:
    with db.begin() as conn:
        mailing = store.create_mailing(
            conn, name="t", sender="news@sender.test", mime=b"Subject: hi\r\n\r\nHi.\r\n",
            tags=[], retry_schedule=None, max_delivery_time=None, now=now)
        return store.queue(conn, mailing, "news@sender.test",
                           [store.NewMessage(r) for r in recipients],
                           bounce_domain="bounce.sender.test", verp_secret="s3cret",
                           max_delivery_time=86400, now=now)


@pytest.mark.parametrize(("url", "process", "kind"), [
    ("sqlite:///{tmp}/file.db", True, InProcess),
    ("sqlite:///{tmp}/file.db", False, InThread),
    ("sqlite://", True, InThread),
    ("sqlite:///:memory:", True, InThread),
])
def test_a_process_only_where_another_process_can_open_the_database(
        tmp_path: Path, url: str, process: bool, kind: type) -> None:
    db = create_engine(url.format(tmp=tmp_path))
    try:
        worker = worker_for(db, settings(), "w", 10, None, process)
        assert type(worker) is kind
        worker.close()
    finally:
        db.dispose()


async def test_the_work_runs_in_another_process_in_submission_order(engine: Database) -> None:
    # Two records submitted before a claim: the claim's round counts both as written
    # (Round.seen), as the engine's suppression recheck relies on (see Engine._deliver_jobs).
    worker = worker_for(engine, settings(), "w", 10, None, True)
    assert isinstance(worker, InProcess)
    try:
        await worker.ready()
        assert worker.pid is not None and worker.pid != os.getpid()
        os.kill(worker.pid, 0)  # alive
        queue(engine, ["a@dest.test", "b@dest.test"], T0)
        first = await worker.call(Side.read_round, set(), T0)
        assert [p.recipient for p in first.items] == ["a@dest.test", "b@dest.test"]
        assert first.seen == 0
        pending = [asyncio.ensure_future(worker.call(Side.record, [], T0)) for _ in range(2)]
        again = await worker.call(Side.read_round, set(), T0)
        await asyncio.gather(*pending)
        assert (again.claimed, again.seen) == (0, 0)  # nothing due: no round read
        queue(engine, ["c@dest.test"], T0)
        third = await worker.call(Side.read_round, set(), T0)
        assert ([p.recipient for p in third.items], third.seen) == (["c@dest.test"], 2)
        with engine.connect() as conn:
            held = conn.execute(select(func.count()).select_from(jobs)
                                .where(jobs.c.locked_by == "w")).scalar_one()
        assert held == 3
    finally:
        worker.close()


async def test_a_dead_worker_process_fails_its_calls_and_a_new_one_takes_over(
        engine: Database) -> None:
    worker = worker_for(engine, settings(), "w", 10, None, True)
    assert isinstance(worker, InProcess)
    try:
        await worker.ready()
        dead = worker.pid
        assert dead is not None
        os.kill(dead, signal.SIGKILL)
        with pytest.raises(Lost, match="database process died"):
            for _ in range(50):  # the pool notices the death on its own thread
                await worker.call(Side.read_round, set(), T0)
                await asyncio.sleep(0.05)
        queue(engine, ["a@dest.test"], T0)
        fetched = await worker.call(Side.read_round, set(), T0)
        assert [p.recipient for p in fetched.items] == ["a@dest.test"]
        assert worker.pid not in (None, dead)
    finally:
        worker.close()


async def test_the_engine_delivers_on_after_its_database_process_is_killed(
        engine: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "bounceloop.delivery.engine")
    now = [T0]
    async with FakeDNS() as dns, FakeMX() as mx:
        dns.zone.update({("dest.test", "MX"): ["10 mx.dest.test."],
                         ("mx.dest.test", "A"): ["127.0.0.1"]})
        delivery = Engine(settings(dns_servers=[f"{dns.host}:{dns.port}"], mx_port=mx.port),
                          engine, worker="test", clock=lambda: now[0],
                          database_process=True)
        stop = asyncio.Event()
        task = asyncio.create_task(delivery.run(stop))
        try:
            queue(engine, ["a@dest.test"], T0)
            for _ in range(200):
                if mx.messages:
                    break
                await asyncio.sleep(0.05)
            assert len(mx.messages) == 1
            assert isinstance(delivery.database, InProcess)
            pid = delivery.database.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            queue(engine, ["b@dest.test"], T0)
            for _ in range(200):
                if len(mx.messages) == 2:
                    break
                now[0] += timedelta(seconds=1)
                await asyncio.sleep(0.05)
            assert len(mx.messages) == 2
            assert delivery.database.pid not in (None, pid)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
    assert "delivery round failed" in caplog.text
    assert "database process died" in caplog.text


def test_settings_and_outcomes_travel_to_the_process(tmp_path: Path) -> None:
    # What InProcess sends: the settings at its start, the engine's batches at each call.
    import pickle
    s = settings(retry_schedule=[60, 120], severity_convention="steps-1-3")
    back = pickle.loads(pickle.dumps(s))
    assert back == s and back.verp_secret.get_secret_value() == "s3cret"
    db = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        migrate.upgrade(db)
        queue(db, ["a@dest.test"], T0)
        side = Side(db, s, "w", 10, None)
        fetched = side.read_round(set(), T0)
        assert pickle.loads(pickle.dumps(fetched.items)) == fetched.items
    finally:
        db.dispose()


#: A process that starts an engine's database process, prints its pid and dies by SIGKILL,
#: as a service killed by the OOM killer does.
_KILLED = """
import asyncio, os, signal, sys
from bounceloop.config import Settings
from bounceloop.delivery.database import worker_for
from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine

db = create_engine(sys.argv[1])
migrate.upgrade(db)
worker = worker_for(db, Settings(database_url="unused", verp_secret="x"), "w", 10, None, True)
asyncio.run(worker.ready())
print(worker.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_database_process_ends_when_the_engines_process_is_killed(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    run = subprocess.run([sys.executable, "-c", _KILLED, f"sqlite:///{tmp_path / 'x.db'}"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == -signal.SIGKILL, run.stderr
    child = int(run.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return  # gone (reaped by init)
        with open(f"/proc/{child}/stat") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                return  # exited; init has not reaped it yet
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("the database process outlived the engine's by 10 s")



async def test_calls_submitted_before_a_close_still_run(engine: Database) -> None:
    # As in a thread: closing the worker (the engine does after a failed round) gives up
    # no work already handed to it, such as outcome batches being recorded.
    worker = worker_for(engine, settings(), "w", 10, None, True)
    assert isinstance(worker, InProcess)
    try:
        await worker.ready()
        queue(engine, [f"r{i}@dest.test" for i in range(6)], T0)
        claimed = await worker.call(Side.read_round, set(), T0)
        calls = [asyncio.ensure_future(worker.call(Side.release, [j.id]))
                 for j in claimed.jobs]
        await asyncio.sleep(0)  # each submitted to the pool
    finally:
        worker.close()
    await asyncio.gather(*calls)
    with engine.connect() as conn:
        held = conn.execute(select(func.count()).select_from(jobs)
                            .where(jobs.c.locked_by == "w")).scalar_one()
    assert (len(calls), held) == (6, 0)
