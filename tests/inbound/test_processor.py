"""The Processor in the service: a parse budget per message, and a batch whose write failed
done again as soon as the database answers (issue 16).

Real parser processes (spawned), a real SQLite database locked by another connection.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from bounceloop.cli import cli
from bounceloop.config import Settings
from bounceloop.core.severity import Convention
from bounceloop.inbound.parser import Parsed, parse_all
from bounceloop.inbound.process import Processor
from bounceloop.storage import migrate, outbox
from bounceloop.storage import received as received_store
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import jobs, received
from bounceloop.testing import bounces
from tests.inbound.test_process import DOMAIN, SECRET, World

process_module = importlib.import_module("bounceloop.inbound.process")

#: A returned message that takes far longer than BUDGET to read, however fast the machine:
#: 200,000 MIME parts (9 MB; about 1.7 s here), where a normal DSN takes milliseconds.
HUGE = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + (
    b"--b\r\nContent-Type: text/plain\r\n\r\nhello world\r\n" * 200_000) + b"--b--\r\n"
BUDGET = 0.3


def settings(**extra: object) -> Settings:
    return Settings(**{"bounce_domain": DOMAIN, "verp_secret": SECRET, "job_lease": 300,
                       "poll_interval": 0.1, **extra})  # type: ignore[arg-type]


@pytest.fixture
def world(engine: Engine) -> World:
    return World(engine)


def status(w: World, rid: int) -> tuple[str, str | None]:
    # A read that takes no write lock (SQLite): another connection may hold it.
    with w.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        row = conn.execute(select(received.c.status, received.c.error).where(
            received.c.id == rid)).one()
    return row.status, row.error


async def test_a_message_over_its_parse_budget_fails_alone(world: World) -> None:
    processor = Processor(settings(parse_timeout=BUDGET), world.engine, "budget",
                          parse_processes=1)
    try:
        slow = world.receive(HUGE, (world.envelope["ann@dest.test"],))
        fine = world.receive(bounces.dsn("bob@dest.test", world.copy("bob@dest.test")),
                             (world.envelope["bob@dest.test"],))
        assert await processor.round() == 2  # one batch, both in it
    finally:
        processor.close()
    state, error = status(world, slow)
    assert state == "failed" and f"longer than its budget of {BUDGET:g} s" in (error or "")
    # Still kept, and tied: the VERP address names ann's message.
    assert world.row(slow).message_id == world.id["ann@dest.test"]
    assert status(world, fine) == ("processed", None)
    assert [e.reason for e in world.errors(fine)] == ["userunknown"]


def test_the_budget_holds_where_reprocess_parses(tmp_path: Path) -> None:
    """``bounceloop reprocess`` (and ``ingest``) parse as the service does: in parser
    processes, each message within the budget."""
    env = {"BOUNCELOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
           "BOUNCELOOP_BOUNCE_DOMAIN": DOMAIN, "BOUNCELOOP_VERP_SECRET": SECRET}
    db = create_engine(env["BOUNCELOOP_DATABASE_URL"])
    try:
        migrate.upgrade(db)
        world = World(db)
        slow = world.receive(HUGE, (world.envelope["ann@dest.test"],))
        fine = world.receive(bounces.dsn("bob@dest.test", world.copy("bob@dest.test")),
                             (world.envelope["bob@dest.test"],))
        for budget, expected in ((BUDGET, "failed"), (60, "processed")):
            done = CliRunner().invoke(cli, ["reprocess"], env={
                **env, "BOUNCELOOP_PARSE_TIMEOUT": str(budget)})
            assert done.exit_code == 0, done.output
            assert json.loads(done.stdout)["processed"] == 2
            state, error = status(world, slow)
            assert state == expected and (budget == 60) == (error is None), error
            assert status(world, fine) == ("processed", None)
    finally:
        db.dispose()


def stall(raws: Sequence[bytes], convention: Convention, seconds: float = 0.0
          ) -> list[Parsed]:
    """parse_all, but a message holding b"STALL" stalls inside one C call the timer cannot
    interrupt (a backtracking regular expression: sre checks for no signal), as a parser
    bug of that kind would."""
    for raw in raws:
        if b"STALL" in raw:
            re.match(r"(a+)+$", "a" * 32 + "b")
    return parse_all(raws, convention, seconds)


async def test_a_stall_the_timer_cannot_stop_costs_only_its_own_message(world: World) -> None:
    processor = Processor(settings(parse_timeout=0.5), world.engine, "stall",
                          parse_processes=1)
    assert processor.parser is not None
    processor.parser.target = stall
    try:
        stuck = world.receive(bounces.dsn("ann@dest.test", b"Subject: STALL\r\n\r\n"),
                              (world.envelope["ann@dest.test"],))
        fine = world.receive(bounces.dsn("bob@dest.test", world.copy("bob@dest.test")),
                             (world.envelope["bob@dest.test"],))
        start = time.monotonic()
        assert await processor.round() == 2
        took = time.monotonic() - start
    finally:
        processor.close()
    state, error = status(world, stuck)
    assert state == "failed" and "parser process was stopped" in (error or "")
    assert status(world, fine) == ("processed", None)
    # The batch's budget (2 x 0.5 s + 5 s of grace), then the stuck one's alone: the
    # stall itself would run for minutes.
    assert took < 30


@pytest.fixture
def locked_db(tmp_path: Path) -> Iterator[Engine]:
    db = create_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    migrate.upgrade(db)
    yield db
    db.dispose()


async def test_a_batch_whose_write_failed_is_done_when_the_database_answers(
        locked_db: Engine) -> None:
    world = World(locked_db)
    processor = Processor(settings(), locked_db, "retry", parse_processes=0)
    rid = world.receive(bounces.dsn("ann@dest.test", world.copy("ann@dest.test")),
                        (world.envelope["ann@dest.test"],))
    # The round has claimed its batch ...
    assert [j.ref for j in processor._claim()] == [str(rid)]
    # ... and the database stops taking writes (another writer holds SQLite's lock past
    # the 5 s busy timeout).
    blocker = locked_db.raw_connection()
    blocker.execute("BEGIN IMMEDIATE")
    stop = asyncio.Event()
    runner = asyncio.create_task(processor.run(stop))
    try:
        await asyncio.sleep(7)
        assert status(world, rid)[0] == "pending"
        blocker.rollback()
        released = time.monotonic()
        while status(world, rid)[0] == "pending" and time.monotonic() - released < 30:
            await asyncio.sleep(0.1)
        waited = time.monotonic() - released
    finally:
        blocker.close()
        stop.set()
        await runner
        processor.close()
    # Done within seconds of the lock's release: not after the 300 s lease.
    assert status(world, rid) == ("processed", None) and waited < 15, waited
    with locked_db.connect() as conn:
        assert conn.execute(select(jobs.c.status, jobs.c.attempts).where(
            jobs.c.ref == str(rid))).one() == (outbox.DONE, 1)
        assert conn.execute(select(received.c.times_processed)).scalar_one() == 1


async def test_a_backlog_is_processed_once_while_the_next_batch_is_taken_ahead(
        world: World) -> None:
    """Processor.run claims and parses the next batch while it ties and saves this one
    (issue 17): every message of a backlog of several batches processed exactly once, each
    job claimed once, none left over."""
    ids = [world.receive(make(rcpt, world.copy(rcpt)), (world.envelope[rcpt],))
           for rcpt in world.envelope for make in (bounces.dsn, bounces.exim)]
    processor = Processor(settings(), world.engine, "backlog", batch=3, parse_processes=1)
    stop = asyncio.Event()
    runner = asyncio.create_task(processor.run(stop))
    try:
        deadline = time.monotonic() + 60
        while (any(status(world, rid)[0] == "pending" for rid in ids)
               and time.monotonic() < deadline):
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await runner
        processor.close()
    with world.engine.connect() as conn:
        rows = conn.execute(select(received.c.status, received.c.times_processed)).all()
        claims = conn.execute(select(jobs.c.status, jobs.c.attempts).where(
            jobs.c.kind == "bounce")).all()
    assert len(ids) == 8
    assert sorted(rows) == [("processed", 1)] * 8
    assert sorted(claims) == [(outbox.DONE, 1)] * 8


async def test_returned_mail_stored_by_another_process_is_processed_at_the_doorbell(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker in another process than the smtp role is not woken by it: the doorbell
    (storage.doorbell) tells it, idle, that a message was stored, well before its poll
    (30 s here); gathering a batch, that the burst is over, before the pause (30 s)."""
    monkeypatch.setattr(process_module, "BUSY_POLL", 30.0)
    other = create_engine(world.engine.url.render_as_string(hide_password=False))
    rcpts = list(world.envelope)

    def store(rcpt: str) -> int:
        [rid] = received_store.store_many(other, [received_store.Incoming(
            raw=bounces.dsn(rcpt, world.copy(rcpt)), mail_from="",
            rcpts=(world.envelope[rcpt],), received_at=datetime.now(UTC))])
        return rid

    async def processed_within(rid: int, seconds: float) -> float:
        start = time.monotonic()
        while status(world, rid)[0] == "pending":
            assert time.monotonic() - start < seconds, "not processed at the doorbell"
            await asyncio.sleep(0.01)
        return time.monotonic() - start

    processor = Processor(settings(poll_interval=30.0), world.engine, "bell",
                          parse_processes=0)
    stop = asyncio.Event()
    runner = asyncio.create_task(processor.run(stop))
    try:
        await asyncio.sleep(0.5)  # the first round found nothing: idle, on a 30 s poll
        await processed_within(store(rcpts[0]), 5.0)
        # That round found work: the worker gathers the next batch, for up to BUSY_POLL.
        await processed_within(store(rcpts[1]), 5.0)
    finally:
        stop.set()
        await runner
        processor.close()
        other.dispose()


async def test_a_database_error_while_waiting_does_not_end_the_worker(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The look at what is due after a ring fails (PostgreSQL restarting, say): the worker
    goes on, and processes the message once the database answers."""
    calls = {"n": 0}
    real = outbox.any_due

    def failing(*args: Any, **kwargs: Any) -> bool:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OperationalError("SELECT", {}, Exception("the server is restarting"))
        return real(*args, **kwargs)

    monkeypatch.setattr(outbox, "any_due", failing)
    processor = Processor(settings(poll_interval=30.0), world.engine, "survivor",
                          parse_processes=0)
    stop = asyncio.Event()
    runner = asyncio.create_task(processor.run(stop))
    try:
        await asyncio.sleep(0.3)  # idle, on a 30 s poll
        rcpt = next(iter(world.envelope))
        rid = world.receive(bounces.dsn(rcpt, world.copy(rcpt)), (world.envelope[rcpt],))
        deadline = time.monotonic() + 10
        while status(world, rid)[0] == "pending" and time.monotonic() < deadline:
            assert not runner.done(), runner
            await asyncio.sleep(0.02)
        assert status(world, rid)[0] == "processed"
        assert calls["n"] >= 1
    finally:
        stop.set()
        await runner
        processor.close()
