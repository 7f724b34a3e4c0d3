"""The webhook worker against real HTTP receivers on loopback, on both databases."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from bounceloop.config import Settings
from bounceloop.storage import outbox
from bounceloop.storage import webhooks as store
from bounceloop.storage.tables import jobs
from bounceloop.testing import Receiver
from bounceloop.webhooks import dispatch, verify
from bounceloop.webhooks.dispatch import Dispatcher
from bounceloop.webhooks.wire import EXTRA_FIELDS, SPEC_FIELDS
from tests.webhooks.support import failure, hook, write


@asynccontextmanager
async def running(settings: Settings, db: Engine, worker: str = "w1"
                  ) -> AsyncIterator[Dispatcher]:
    stop = asyncio.Event()
    dispatcher = Dispatcher(settings, db, worker)
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield dispatcher
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def job_status(db: Engine) -> list[str]:
    with db.connect() as conn:
        return [r.status for r in conn.execute(
            select(jobs.c.status).where(jobs.c.kind == "webhook").order_by(jobs.c.id))]


async def test_a_failure_is_posted_with_the_spec_fields_and_a_valid_signature(
        engine: Engine, settings: Settings) -> None:
    async with Receiver() as rx:
        h = hook(engine, rx.url)
        write(engine, [failure("m1", tags=["a&b", "x=y", "[z]", "ünï"])])
        async with running(settings, engine):
            await until(lambda: len(rx.requests) == 1)
            await until(lambda: job_status(engine) == ["done"])
    r = rx.requests[0]
    assert r.method == "POST" and r.target == "/hook"
    assert r.headers["content-type"] == "application/x-www-form-urlencoded"
    assert r.headers["x-bounceloop-attempt"] == "1"
    assert r.headers["x-bounceloop-webhook"] == str(h.id)
    assert r.event.isdigit()
    assert verify(r.headers["x-bounceloop-signature"], r.body, h.secret, int(time.time()))
    assert not verify(r.headers["x-bounceloop-signature"], r.body + b"x", h.secret,
                      int(time.time()))
    form = r.form
    assert list(form)[:11] == ["id", "type", "timestamp", "time", "recipient", "action",
                               "state", "code", "extended", "description", "tags[]"]
    assert form["id"] == ["m1"] and form["type"] == ["failure"]
    assert form["timestamp"] == ["2026-11-22 10:30:05"]
    assert form["time"] == [str(int(datetime(2026, 11, 22, 10, 30, 5, tzinfo=UTC).timestamp()))]
    assert form["tags[]"] == ["a&b", "x=y", "[z]", "ünï"]
    assert form["code"] == ["550"] and form["extended"] == ["5.1.1"]
    assert form["reason"] == ["userunknown"] and form["step"] == ["4"]


async def test_json_format_and_extras_off(engine: Engine, settings: Settings) -> None:
    async with Receiver() as rx:
        hook(engine, rx.url, format="json", extras=False)
        write(engine, [failure("m2", tags=[])])
        async with running(settings, engine):
            await until(lambda: len(rx.requests) == 1)
    body = json.loads(rx.requests[0].body)
    assert rx.requests[0].headers["content-type"] == "application/json"
    assert list(body) == ["id", "type", "timestamp", "time", "recipient", "action", "state",
                          "code", "extended", "description", "tags"]
    assert body["tags"] == []


async def test_filters_by_trigger_mailing_and_tag(engine: Engine, settings: Settings) -> None:
    async with Receiver() as rx:
        hook(engine, rx.url, mailing_id=7, tags=["vip"])
        hook(engine, rx.url, triggers=["delivery"])
        write(engine, [failure("a", mailing=7, tags=["vip"]), failure("b", mailing=7, tags=[]),
                       failure("c", mailing=8, tags=["vip"])])
        async with running(settings, engine):
            await until(lambda: len(rx.requests) == 1)
            await asyncio.sleep(0.3)
    assert [r.form["id"] for r in rx.requests] == [["a"]]
    assert job_status(engine) == ["done"]


async def test_an_event_written_twice_is_delivered_once(engine: Engine,
                                                        settings: Settings) -> None:
    async with Receiver() as rx:
        hook(engine, rx.url)
        row = failure("m1")
        assert write(engine, [row]) == 1
        assert write(engine, [row]) == 0
        async with running(settings, engine):
            await until(lambda: job_status(engine) == ["done"])
    assert len(rx.requests) == 1


async def test_receiver_down_then_up_gets_every_event_with_stable_ids(
        engine: Engine, settings: Settings) -> None:
    rx = Receiver()
    await rx.up()
    url = rx.url
    await rx.down()
    hook(engine, url)
    write(engine, [failure(f"m{i}") for i in range(30)])
    async with running(settings, engine) as d:
        await until(lambda: _failed_calls(engine) >= 30)
        await rx.up()  # same port
        await until(lambda: job_status(engine) == ["done"] * 30)
        assert d.lanes
    await rx.down()
    ok = rx.events()
    assert len(ok) == len(set(ok)) == 30
    with engine.connect() as conn:
        log = store.failures(conn, limit=None)
    assert {f["error"] for f in log} == {"refused"}
    assert all(f["ip"] == "127.0.0.1" and f["status"] is None for f in log)


def _failed_calls(db: Engine) -> int:
    with db.connect() as conn:
        return len(store.failures(conn, limit=None))


async def test_500_is_retried_with_the_same_event_id_and_logged(
        engine: Engine, settings: Settings) -> None:
    async with Receiver(status=500, body=b"boom: database is down") as rx:
        hook(engine, rx.url)
        write(engine, [failure("m1")])
        async with running(settings, engine):
            await until(lambda: len(rx.requests) >= 3)
            rx.status = 200
            await until(lambda: job_status(engine) == ["done"])
    ids = {r.event for r in rx.requests}
    assert len(ids) == 1
    attempts = [int(r.headers["x-bounceloop-attempt"]) for r in rx.requests]
    assert attempts == list(range(1, len(attempts) + 1))
    with engine.connect() as conn:
        log = store.failures(conn, limit=None)
        h = store.listing(conn)[0]
    assert len(log) == len(rx.requests) - 1
    first = log[-1]
    assert first["status"] == 500 and first["error"] == "http"
    assert first["body"] == "boom: database is down"
    assert ["X-Receiver", "test"] in first["headers"]
    assert h.failing_since is None and h.last_success_at is not None


async def test_slow_receiver_times_out_and_is_retried(engine: Engine,
                                                      settings: Settings) -> None:
    async with Receiver(delay=1.5) as rx:
        hook(engine, rx.url, timeout=1)
        write(engine, [failure("m1")])
        async with running(settings, engine):
            await until(lambda: _failed_calls(engine) >= 1)
            rx.delay = 0
            await until(lambda: job_status(engine) == ["done"])
    with engine.connect() as conn:
        assert store.failures(conn)[-1]["error"] == "timeout"


async def test_receiver_closing_the_connection_is_retried(engine: Engine,
                                                          settings: Settings) -> None:
    async with Receiver(close=True) as rx:
        hook(engine, rx.url)
        write(engine, [failure("m1")])
        async with running(settings, engine):
            await until(lambda: _failed_calls(engine) >= 2)
            rx.close = False
            await until(lambda: job_status(engine) == ["done"])
    with engine.connect() as conn:
        assert {f["error"] for f in store.failures(conn)} == {"closed"}


async def test_410_pauses_the_webhook_and_keeps_its_queue(engine: Engine,
                                                          settings: Settings) -> None:
    async with Receiver(status=410) as rx:
        h = hook(engine, rx.url, concurrency=1)
        write(engine, [failure(f"m{i}") for i in range(5)])
        async with running(settings, engine):
            await until(lambda: _status(engine, h.id) == "paused")
            await asyncio.sleep(0.3)
            calls = len(rx.requests)
            assert sorted(job_status(engine)) == ["held"] * 5
            write(engine, [failure("later")])  # queued while paused: held too
            assert sorted(job_status(engine)) == ["held"] * 6
            rx.status = 200
            with engine.begin() as conn:
                assert store.resume(conn, h.id)
            await until(lambda: job_status(engine) == ["done"] * 6)
    assert calls == 1
    with engine.connect() as conn:
        h2 = store.get(conn, h.id)
    assert h2 is not None and h2.status == "active" and not h2.flagged
    assert len(set(rx.events())) == 6


def _status(db: Engine, hook_id: int) -> str:
    with db.connect() as conn:
        h = store.get(conn, hook_id)
    return h.status if h else ""


async def test_failing_for_the_pause_period_pauses_and_flags(engine: Engine,
                                                             settings: Settings) -> None:
    quick = settings.model_copy(update={"webhook_pause_after": 0.5})
    async with Receiver(status=503) as rx:
        h = hook(engine, rx.url)
        write(engine, [failure("m1")])
        async with running(quick, engine):
            await until(lambda: _status(engine, h.id) == "paused")
    with engine.connect() as conn:
        h2 = store.get(conn, h.id)
    assert h2 is not None and h2.flagged and "every call failed since" in (h2.paused_reason or "")
    assert job_status(engine) == ["held"]


async def test_retries_end_in_a_dead_letter_which_replays(engine: Engine,
                                                          settings: Settings) -> None:
    short = settings.model_copy(update={"webhook_retry_period": 0.4})
    async with Receiver(status=500) as rx:
        h = hook(engine, rx.url)
        write(engine, [failure("m1"), failure("m2")])
        async with running(short, engine):
            await until(lambda: job_status(engine) == ["dead", "dead"])
            with engine.connect() as conn:
                dead = store.dead(conn, h.id)
            assert len(dead) == 2 and "HTTP 500" in dead[0]["last_error"]
            rx.status = 200
            with engine.begin() as conn:
                assert store.replay(conn, h.id, [dead[0]["job"]]) == 1
            await until(lambda: sorted(job_status(engine)) == ["dead", "done"])
            with engine.begin() as conn:
                assert store.replay(conn, h.id) == 1
            await until(lambda: job_status(engine) == ["done", "done"])
    assert len(set(rx.events())) == 2


@pytest.mark.parametrize(("host", "named"), [
    ("127.0.0.1", "(127.0.0.1)"),
    ("[::127.0.0.1]", "which carries 127.0.0.1"),                # IPv4-compatible
    ("[64:ff9b::7f00:1]", "which carries 127.0.0.1"),            # NAT64 (RFC 6052)
    ("[2002:7f00:1::1]", "which carries 127.0.0.1"),             # 6to4 (RFC 3056)
    ("[64:ff9b::a9fe:a9fe]", "which carries 169.254.169.254"),   # NAT64 to the metadata
])
async def test_the_guard_refuses_an_internal_url_at_delivery(engine: Engine, settings: Settings,
                                                             host: str, named: str) -> None:
    # The webhook was added while loopback was allowed (or, for the IPv6 forms, by a
    # version that let them in); the operator then closed loopback. The call is vetted
    # again and refused: nothing leaves the machine.
    strict = settings.model_copy(update={"allowed_target_networks": []})
    async with Receiver() as rx:
        hook(engine, f"http://{host}:{rx.port}/hook")
        write(engine, [failure("m1")])
        async with running(strict, engine):
            await until(lambda: _failed_calls(engine) >= 1)
    assert rx.requests == []
    with engine.connect() as conn:
        f = store.failures(conn)[0]
    assert f["error"] == "refused-address" and named in f["description"]
    assert job_status(engine) in (["pending"], ["running"])


async def test_per_webhook_concurrency_is_kept(engine: Engine, settings: Settings) -> None:
    async with Receiver(delay=0.2) as rx:
        hook(engine, rx.url, concurrency=3)
        write(engine, [failure(f"m{i}") for i in range(12)])
        active = 0
        peak = 0

        async def watch() -> None:
            nonlocal active, peak
            while True:
                # The receiver counts a request from its arrival to its answer.
                active = len(rx.requests) - len(rx.answers)
                peak = max(peak, active)
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        async with running(settings, engine):
            await until(lambda: job_status(engine) == ["done"] * 12)
        watcher.cancel()
    assert peak == 3


async def test_a_stop_releases_claimed_jobs_for_the_next_worker(
        engine: Engine, settings: Settings) -> None:
    async with Receiver(delay=0.3) as rx:
        hook(engine, rx.url, concurrency=1)
        write(engine, [failure(f"m{i}") for i in range(6)])
        async with running(settings, engine):
            await until(lambda: len(rx.requests) >= 1)
        statuses = job_status(engine)
        assert "running" not in statuses and "pending" in statuses
        async with running(settings, engine, worker="w2"):
            await until(lambda: job_status(engine) == ["done"] * 6)
    assert len(set(rx.events())) == 6


async def test_a_lost_lease_is_taken_over(engine: Engine, settings: Settings) -> None:
    """A worker that died holding jobs: another calls them once the lease ran out."""
    async with Receiver() as rx:
        hook(engine, rx.url)
        write(engine, [failure("m1")])
        got = outbox.claim(engine, ["webhook"], "dead-worker", 10, 30.0)
        assert len(got) == 1
        with engine.begin() as conn:
            conn.execute(update(jobs).values(
                locked_until=datetime.now(UTC) - timedelta(seconds=1)))
        async with running(settings, engine):
            await until(lambda: job_status(engine) == ["done"])
    assert rx.requests[0].headers["x-bounceloop-attempt"] == "2"


@pytest.mark.parametrize("trigger", ["bounce", "complaint", "delivery"])
async def test_other_triggers_carry_their_fields(engine: Engine, settings: Settings,
                                                 trigger: str) -> None:
    from bounceloop.storage import events
    from bounceloop.storage.tables import received

    raw = b"From: MAILER-DAEMON@mx.example\r\nSubject: failure\r\n\r\nbody \xe9\r\n"
    with engine.begin() as conn:
        rid = conn.execute(received.insert().values(
            received_at=datetime.now(UTC), source="smtp", peer="", helo="", mail_from="",
            rcpts="[]", size=len(raw), digest="x", status="processed", times_processed=1,
            tied_by="", detector="", kind="failure", raw=raw).returning(received.c.id)
        ).scalar_one()
    data = {"id": "m9", "recipient": "bo@example.net", "mailing": 3, "tags": ["t"],
            "envelope": "b-xyz@bounces.example", "received": rid, "code": "250",
            "extended": "2.0.0", "description": "ok", "feedback_type": "abuse",
            "state": "data", "kind": "failure", "reason": "userunknown"}
    async with Receiver() as rx:
        hook(engine, rx.url, triggers=[trigger])
        write(engine, [events.row(time=datetime.now(UTC), type=trigger, key=f"{trigger}:1",
                                  message_id="m9", mailing_id=3, recipient="bo@example.net",
                                  data=data)])
        async with running(settings, engine):
            await until(lambda: len(rx.requests) == 1)
    form = rx.requests[0].form
    names = [n if n != "tags" else "tags[]" for n in SPEC_FIELDS[trigger]]
    assert list(form) == ["id", "type", "timestamp", "time", *names, *EXTRA_FIELDS[trigger]]
    assert form["type"] == [trigger] and form["id"] == ["m9"] and form["tags[]"] == ["t"]
    if trigger == "bounce":
        assert form["envelope"] == ["b-xyz@bounces.example"]
        from urllib.parse import parse_qs
        exact = parse_qs(rx.requests[0].body.decode(), encoding="latin-1")["mime"][0]
        assert exact.encode("latin-1") == raw  # byte for byte, 8-bit included
    elif trigger == "complaint":
        assert form["feedback_type"] == ["abuse"]
    else:
        assert form["code"] == ["250"] and form["extended"] == ["2.0.0"]


async def test_a_new_event_is_called_about_at_once_not_at_the_poll(
        engine: Engine, settings: Settings) -> None:
    """An idle worker with a 30 s poll interval: the doorbell (SQLite's data_version,
    PostgreSQL's NOTIFY) has each new event called about within a fraction of a second."""
    settings = settings.model_copy(update={"webhook_poll_interval": 30.0})
    async with Receiver() as rx:
        hook(engine, rx.url)
        async with running(settings, engine):
            await asyncio.sleep(0.3)  # idle: the first look found nothing
            for n in range(3):
                start = time.monotonic()
                write(engine, [failure(f"m{n}")])
                await until(lambda n=n: len(rx.requests) == n + 1, timeout=5)
                assert time.monotonic() - start < 0.5
    assert len(set(rx.events())) == 3


def test_claims_ahead_within_the_lease() -> None:
    """A lane keeps AHEAD calls' worth per connection claimed, fewer when the lease would
    not cover a full queue called at the webhook's timeout."""
    from bounceloop.webhooks.dispatch import AHEAD, ahead

    def webhook(timeout: int) -> store.Webhook:
        return store.Webhook(
            id=1, url="http://x/", triggers=("failure",), mailing_id=None, tags=(),
            format="form", extras=True, concurrency=10, timeout=timeout, secret="s",
            previous_secret=None, previous_until=None, status="active",
            paused_reason=None, flagged=False, verify_token=None, verified_at=None,
            description="", created_at=datetime.now(UTC), updated_at=datetime.now(UTC),
            last_success_at=None, failing_since=None)

    assert ahead(webhook(1), 300.0) == AHEAD
    assert ahead(webhook(10), 300.0) == 7  # 2 * 7 calls each within 10 s: 140 s < 150 s
    assert ahead(webhook(300), 300.0) == 1


async def test_results_that_cannot_be_written_are_kept_and_tried_again_each_second(
        engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database refuses the results' write: the worker keeps them and tries again
    about once a second (not in a tight loop), and they are written once it can."""
    tries: list[float] = []
    real = Dispatcher._sync
    broken = True

    async def sync(self: Dispatcher, results: list[Any], wants: dict[int, int],
                   look: bool) -> Any:
        if results:
            tries.append(time.monotonic())
            if broken:
                await asyncio.sleep(0)  # a retry loop without a pause still lets this count
                raise RuntimeError("the database went away")
        return await real(self, results, wants, look)

    monkeypatch.setattr(Dispatcher, "_sync", sync)
    async with Receiver() as rx:
        hook(engine, rx.url)
        write(engine, [failure("m1")])
        async with running(settings, engine):
            await until(lambda: len(rx.requests) == 1)
            await asyncio.sleep(1.5)
            assert 1 <= len(tries) <= 3
            broken = False
            await until(lambda: job_status(engine) == ["done"])
    assert len(rx.requests) == 1  # written late, not called again


async def test_syncs_leave_the_write_lock_free_between_them(
        engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each sync (results written, next jobs claimed) starts at least SYNC_GAP after the
    last one ended, however much there is to do: SQLite's write lock is then free for the
    writers of events between the worker's transactions. Back to back, an event writer's
    commit waited up to 80-130 ms in SQLite's busy handler, and every call about its
    events as long (bench/webhooks.py: paced p99 117-238 ms, 48-64 ms with the gap)."""
    spans: list[tuple[float, float]] = []
    real = Dispatcher._sync

    async def timed(self: Dispatcher, *args: Any) -> Any:
        start = time.monotonic()
        try:
            return await real(self, *args)
        finally:
            spans.append((start, time.monotonic()))

    monkeypatch.setattr(Dispatcher, "_sync", timed)
    async with Receiver() as rx:
        hook(engine, rx.url, concurrency=10)
        write(engine, [failure(f"m{i}") for i in range(300)])
        async with running(settings, engine):
            await until(lambda: job_status(engine) == ["done"] * 300, timeout=30)
    gaps = [b[0] - a[1] for a, b in itertools.pairwise(spans)]
    assert len(spans) >= 3, spans
    assert dispatch.SYNC_GAP >= 0.004
    assert min(gaps) >= dispatch.SYNC_GAP * 0.99, sorted(gaps)[:5]
