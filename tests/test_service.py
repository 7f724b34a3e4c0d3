"""``bounceloop serve`` as a real process: HTTP, clean stop, and SIGKILL in mid-run.

The crash test is the issue's promise: a service killed with SIGKILL while it delivers, and
started again, loses no message and sends none twice. The MX is a separate process that
fsyncs each message before its 250 (so what it holds is what was accepted), DNS is a real
server on 127.0.0.1 in this test's event loop, and the service is the installed command.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import re
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from bounceloop.delivery.engine import RECORD_BATCH
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import attempts, errors, jobs, messages, received
from bounceloop.testing import FakeDNS, MXProcess, bounces, free_port, spawn_mx
from tests import reaper

BIN = Path(sys.executable).parent / "bounceloop"
MIME = b"From: news@sender.test\r\nSubject: crash test\r\n\r\nHello.\r\n"
#: Our header in a copy: the message id, then its signature (core.signed).
ID_HEADER = re.compile(rb"^X-Bounceloop-Id: ([0-9a-f]+)\.[a-z2-7]+\r\n", re.M)


def environment(database_url: str, dns: FakeDNS, mx_port: int, spool: Path,
                **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCELOOP_")}
    env.update({
        "BOUNCELOOP_DATABASE_URL": database_url,
        "BOUNCELOOP_SPOOL_DIR": str(spool),
        "BOUNCELOOP_DNS_SERVERS": f"{dns.host}:{dns.port}",
        "BOUNCELOOP_MX_PORT": str(mx_port),
        "BOUNCELOOP_ALLOWED_TARGET_NETWORKS": "127.0.0.0/8",
        "BOUNCELOOP_BOUNCE_DOMAIN": "bounce.sender.test",
        "BOUNCELOOP_VERP_SECRET": "crash-test-secret",
        "BOUNCELOOP_HOSTNAME": "client.sender.test",
        "BOUNCELOOP_HTTP_LISTEN": f"127.0.0.1:{free_port()}",
        "BOUNCELOOP_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
        "BOUNCELOOP_JOB_LEASE": "1.5",
        "BOUNCELOOP_POLL_INTERVAL": "0.1",
        "BOUNCELOOP_RETRY_SCHEDULE": "3600",
        "BOUNCELOOP_COMMAND_TIMEOUT": "5",
    })
    env.update(extra)
    return env


async def run(env: Mapping[str, str], *args: str) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(
        str(BIN), *args, env=dict(env), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out, err


def log_of(env: Mapping[str, str]) -> Path:
    """Where :func:`start_service` puts a service's stderr (a file, not a pipe: a pipe
    nobody reads fills up with the delivery log and stops the service)."""
    return Path(env["BOUNCELOOP_SPOOL_DIR"]).parent / (
        "serve-" + env["BOUNCELOOP_HTTP_LISTEN"].rsplit(":", 1)[1] + ".log")


async def start_service(env: Mapping[str, str], *args: str) -> asyncio.subprocess.Process:
    with log_of(env).open("ab") as stderr:
        proc = await asyncio.create_subprocess_exec(
            str(BIN), "serve", *args, env=dict(env), stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr)
    reaper.started(proc.pid)
    url = f"http://{env['BOUNCELOOP_HTTP_LISTEN']}/health"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise AssertionError(f"serve exited: {log_of(env).read_text()}")
        try:
            body = await asyncio.to_thread(_get, url)
            assert json.loads(body)["status"] == "ok"
            return proc
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError("serve did not answer /health in time")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=2) as response:
        data: bytes = response.read()
        return data


async def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def all_jobs_done(db: Engine, timeout: float, what: str) -> None:
    """Wait until the outbox holds no job that is not done (every returned message
    processed, every webhook called)."""
    def done() -> bool:
        with db.connect() as conn:
            return conn.execute(select(func.count()).select_from(jobs).where(
                jobs.c.status != "done")).scalar_one() == 0
    await wait_for(done, timeout, what)


async def test_sigkill_mid_run_loses_nothing_and_sends_nothing_twice(
        tmp_path: Path, database_url: str, three_domains: FakeDNS) -> None:
    total = 1500
    good = [f"user{i}@d{i % 3}.test" for i in range(total)]
    hard = [f"r550-511.gone{i}@d0.test" for i in range(20)]
    soft = [f"r452-422.full{i}@d1.test" for i in range(20)]
    everyone = good + hard + soft
    (tmp_path / "rcpts.csv").write_text("email\n" + "\n".join(everyone) + "\n")
    (tmp_path / "msg.eml").write_bytes(MIME)

    mx: MXProcess = spawn_mx(tmp_path / "mx.jsonl")
    try:
        env = environment(database_url, three_domains, mx.port, tmp_path / "spool")
        code, out, err = await run(env, "send", "--from", "news@sender.test",
                                   "--mime", str(tmp_path / "msg.eml"),
                                   "--recipients", str(tmp_path / "rcpts.csv"))
        assert code == 0, err.decode()
        queued = [json.loads(line) for line in out.splitlines()]
        assert [q["recipient"] for q in queued] == everyone
        id_of = {q["recipient"]: q["id"] for q in queued}

        # Kill the service twice while it delivers, each time once more mail has arrived.
        kills = []
        for threshold in (total // 4, total // 2):
            service = await start_service(env)
            await wait_for(lambda t=threshold: len(mx.messages()) >= t, 60,
                           f"{threshold} messages at the MX")
            service.send_signal(signal.SIGKILL)
            await service.wait()
            kills.append(len(mx.messages()))
        assert kills[-1] < total, "the run finished before the second kill: raise total"

        # Start again and let it finish: every job settled except the deferred ones.
        service = await start_service(env)
        db = create_engine(database_url)
        try:
            def finished() -> bool:
                with db.connect() as conn:
                    busy = conn.execute(select(func.count()).select_from(messages).where(
                        messages.c.status.in_(("queued", "sending")))).scalar_one()
                return busy == 0
            await wait_for(finished, 120, "every message to be settled")
            service.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(service.wait(), 30) == 0

            received = mx.messages()
            with db.connect() as conn:
                rows = {r.id: r for r in conn.execute(select(messages))}
                log = collections.defaultdict(list)
                for a in conn.execute(select(attempts).order_by(attempts.c.id)):
                    log[a.message_id].append((a.number, a.state, a.result, a.code))
                indoubt = sum(1 for tries in log.values() for t in tries if t[2] == "indoubt")
                error_rows = collections.Counter(
                    r.message_id for r in conn.execute(select(errors.c.message_id)))
                open_jobs = conn.execute(select(jobs.c.ref, jobs.c.status).where(
                    jobs.c.status != "done")).all()
        finally:
            db.dispose()
    finally:
        mx.kill()

    # Nothing sent twice: each message id arrived at most once.
    arrived = collections.Counter()
    for m in received:
        found = ID_HEADER.match(m.data)
        assert found, m.data[:200]
        arrived[found.group(1).decode()] += 1
        assert m.rcpt_tos == [rows[found.group(1).decode()].recipient]
    twice = [mid for mid, n in arrived.items() if n > 1]
    assert twice == []
    # Nothing lost: every good recipient's message arrived and is recorded delivered.
    lost = {id_of[r] for r in good} - set(arrived)
    assert not lost, {mid: (rows[mid].status, log[mid]) for mid in lost}
    assert set(arrived) == {id_of[r] for r in good}
    assert {rows[id_of[r]].status for r in good} == {"delivered"}
    # The refused ones failed once each (one error row), the deferred ones wait.
    assert {rows[id_of[r]].status for r in hard} == {"failed"}
    assert all(error_rows[id_of[r]] == 1 for r in hard)
    assert {rows[id_of[r]].status for r in soft} == {"deferred"}
    assert sorted(ref for ref, _ in open_jobs) == sorted(id_of[r] for r in soft)
    # Found "in flight" after a kill, so recorded as delivered, unconfirmed: at most the
    # unrecorded outcomes (the batch being written, one more, and the one filling: the
    # lanes wait for a writer further behind) plus one transaction per connection (5 per
    # domain, 3 domains), per kill.
    assert indoubt <= len(kills) * (3 * RECORD_BATCH + 3 * 5), (kills, indoubt)


async def test_serve_stops_cleanly_and_gives_its_jobs_back(tmp_path: Path,
                                                           three_domains: FakeDNS) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    # The first message's reply after the final dot comes 2 s late; one connection at a
    # time, so the second message waits behind it.
    mx = spawn_mx(tmp_path / "mx.jsonl", script={"stall_next": {"DATA_END": [2.0]}})
    try:
        env = environment(url, three_domains, mx.port, tmp_path / "spool",
                          BOUNCELOOP_MAX_CONNECTIONS_PER_DOMAIN="1",
                          BOUNCELOOP_DATA_TIMEOUT="10")
        (tmp_path / "rcpts.csv").write_text("email\nslow@d0.test\nnext@d0.test\n")
        (tmp_path / "msg.eml").write_bytes(MIME)
        code, out, err = await run(env, "send", "--from", "news@sender.test", "--mime",
                                   str(tmp_path / "msg.eml"), "--recipients",
                                   str(tmp_path / "rcpts.csv"))
        assert code == 0, err.decode()
        slow, after = (json.loads(line)["id"] for line in out.splitlines())
        service = await start_service(env)
        metrics = (await asyncio.to_thread(
            _get, f"http://{env['BOUNCELOOP_HTTP_LISTEN']}/metrics")).decode()
        assert "bounceloop_" in metrics
        db = create_engine(url)
        try:
            def status(mid: str) -> str:
                with db.connect() as conn:
                    return str(conn.execute(select(messages.c.status).where(
                        messages.c.id == mid)).scalar_one())
            def in_flight() -> bool:
                # The journal lists the attempt once its final dot is out (on SQLite the
                # journal alone marks a message in flight; see delivery.journal).
                return any(f"{slow}:0" in p.read_text()
                           for p in (tmp_path / "spool" / "inflight").glob("*.journal"))
            await wait_for(in_flight, 30, "the stalled final dot")
            stopping = time.monotonic()
            service.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(service.wait(), 30) == 0
            waited = time.monotonic() - stopping
            assert "bounceloop: stopped" in log_of(env).read_text()
            with db.connect() as conn:
                job = conn.execute(select(jobs).where(jobs.c.ref == after)).one()
            final = (status(slow), status(after))
        finally:
            db.dispose()
    finally:
        mx.kill()
    # The transaction under way was finished (its reply awaited), no new one was started,
    # and the waiting job went back to the queue, claimable at once by the next start.
    assert waited > 1.0
    assert final == ("delivered", "queued")
    assert (job.status, job.locked_by, job.attempts) == ("pending", None, 0)
    assert [m.rcpt_tos for m in mx.messages()] == [["slow@d0.test"]]


def _status(url: str, path: str, headers: Mapping[str, str] | None = None,
            data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url + path, data=data, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


async def test_roles_run_apart_on_one_database(tmp_path: Path, three_domains: FakeDNS
                                               ) -> None:
    """web, smtp and worker as three processes: the web role queues through the API, the
    smtp role stores a bounce, and nothing is delivered or processed until a worker runs."""
    url = f"sqlite:///{tmp_path / 'roles.db'}"
    mx = spawn_mx(tmp_path / "mx.jsonl")
    env = environment(url, three_domains, mx.port, tmp_path / "spool",
                      BOUNCELOOP_LOG_FORMAT="json")
    smtp_listen = env["BOUNCELOOP_SMTP_LISTEN"]
    envs = {role: {**env, "BOUNCELOOP_HTTP_LISTEN": f"127.0.0.1:{free_port()}"}
            for role in ("web", "smtp", "worker")}
    for role in ("web", "worker"):
        envs[role]["BOUNCELOOP_SMTP_LISTEN"] = ""
    code, out, err = await run(env, "token", "create", "--scope", "write")
    assert code == 0, err.decode()
    token = out.decode().strip().splitlines()[-1]
    procs: dict[str, asyncio.subprocess.Process] = {}
    db = create_engine(url)
    try:
        for role in ("web", "smtp"):
            procs[role] = await start_service(envs[role], "--role", role)
        web = f"http://{envs['web']['BOUNCELOOP_HTTP_LISTEN']}"
        smtp_http = f"http://{envs['smtp']['BOUNCELOOP_HTTP_LISTEN']}"
        status, body = await asyncio.to_thread(
            _status, web, "/api/v1/messages", {"Authorization": f"Bearer {token}",
                                               "Content-Type": "application/json"},
            json.dumps({"from": "news@sender.test", "recipients": [{"email": "jo@d0.test"}],
                        "subject": "Roles", "text": "Hello."}).encode())
        assert status == 202, body
        sent = json.loads(body)["messages"][0]
        # The smtp role serves only the probes and the metrics.
        assert (await asyncio.to_thread(_status, smtp_http, "/ready"))[0] == 200
        assert (await asyncio.to_thread(_status, smtp_http, "/api/v1/errors"))[0] == 404
        status, body = await asyncio.to_thread(_status, smtp_http, "/metrics")
        assert status == 200  # the shared queue, seen from any process
        assert b'bounceloop_queue_jobs{kind="deliver",status="pending"} 1.0' in body
        host, port = smtp_listen.rsplit(":", 1)
        # A soft failure, which suppresses nothing: the worker may process it before or
        # after it delivers the message (both are due when it starts), and either way
        # the message goes out. A hard one processed first would suppress the address.
        dsn = bounces.dsn("jo@d0.test", f"X-Bounceloop-Id: {sent['id']}\r\n".encode() + MIME,
                          status="5.2.2", diagnostic="552 5.2.2 <{rcpt}>: Mailbox full")
        await asyncio.to_thread(_send_bounce, host, int(port), sent["envelope"], dsn)
        await asyncio.sleep(1.0)

        def state() -> tuple[str, list[str]]:
            with db.connect() as conn:
                return (str(conn.execute(select(messages.c.status)).scalar_one()),
                        [str(s) for s in conn.execute(select(received.c.status)).scalars()])

        assert state() == ("queued", ["pending"])  # no worker yet
        procs["worker"] = await start_service(envs["worker"], "--role", "worker")
        await wait_for(lambda: state()[0] != "queued" and state()[1] == ["processed"], 30,
                       "the worker's delivery and processing")
        assert state()[0] == "delivered"
        with db.connect() as conn:
            assert conn.execute(select(errors.c.reason)).scalars().all() == ["mailboxfull"]
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.kill()
        db.dispose()
        mx.kill()
    assert [m.rcpt_tos for m in mx.messages()] == [["jo@d0.test"]]
    # Each process logs JSON lines with its role; the worker's name the message id and
    # recipient of its delivery and of the bounce it processed.
    lines = {role: [json.loads(line) for line in log_of(envs[role]).read_text().splitlines()]
             for role in procs}
    for role, found in lines.items():
        assert found[0]["msg"].startswith("serving http://") and found[-1]["msg"] == "stopped"
        assert {line["role"] for line in found} == {role}
    about = [line for line in lines["worker"] if line.get("message_id") == sent["id"]]
    # In either order: the bounce was stored before the worker started, so its processing
    # and the delivery are both due at once, each in a task of its own.
    assert sorted((line["msg"], line["recipient"]) for line in about) == [
        ("delivered", "jo@d0.test"), ("returned failure", "jo@d0.test")]
    failure = next(line for line in about if line["msg"] == "returned failure")
    assert failure["reason"] == "mailboxfull" and failure["received_id"] >= 1


def _send_bounce(host: str, port: int, rcpt: str, raw: bytes) -> None:
    import smtplib

    with smtplib.SMTP(host, port, timeout=10) as client:
        client.sendmail("", [rcpt], raw)


async def test_the_smtp_role_needs_an_address(tmp_path: Path, three_domains: FakeDNS
                                              ) -> None:
    env = environment(f"sqlite:///{tmp_path / 'x.db'}", three_domains, 25, tmp_path / "s",
                      BOUNCELOOP_SMTP_LISTEN="")
    code, _, err = await run(env, "serve", "--role", "smtp")
    assert code == 1 and b"BOUNCELOOP_SMTP_LISTEN" in err
    code, _, err = await run(env, "serve", "--role", "mail")
    assert code == 2 and b"--role" in err


Probe = Callable[[], Awaitable[tuple[int, Any]]]


@contextlib.asynccontextmanager
async def worker_in_loop(tmp_path: Path) -> AsyncIterator[Probe]:
    """``serve --role worker`` in this event loop, on a fresh database; yields a probe of
    its /ready: (status, JSON body), or (0, None) while nothing listens yet."""
    from bounceloop.config import Settings
    from bounceloop.service import serve
    from bounceloop.storage import migrate

    url = f"sqlite:///{tmp_path / 'worker.db'}"
    db = create_engine(url)
    migrate.upgrade(db)
    db.dispose()
    http = f"127.0.0.1:{free_port()}"
    settings = Settings(database_url=url, spool_dir=tmp_path / "spool", http_listen=http,
                        smtp_listen="", verp_secret="worker-secret")
    stop = asyncio.Event()
    service = asyncio.create_task(serve(settings, stop, role="worker"))

    async def ready() -> tuple[int, Any]:
        try:
            status, body = await asyncio.to_thread(_status, f"http://{http}", "/ready")
        except OSError:
            return 0, None
        return status, json.loads(body)

    try:
        yield ready
    finally:
        stop.set()
        await asyncio.wait_for(service, 30)


async def test_ready_waits_for_the_workers_parts(tmp_path: Path, monkeypatch: Any) -> None:
    """/ready says 503 "starting" until the worker's parser processes have loaded the
    parser (and its delivery database process runs): a probe that sends traffic at the
    first 200 must not find the start-up competing with the work."""
    from bounceloop.inbound.process import Processor
    from bounceloop.storage import migrate

    release = asyncio.Event()
    real_warm = Processor.warm

    async def gated_warm(self: Processor) -> None:
        await release.wait()
        await real_warm(self)

    monkeypatch.setattr(Processor, "warm", gated_warm)
    async with worker_in_loop(tmp_path) as ready:
        try:
            seen: tuple[int, Any] = (0, None)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                seen = await ready()
                if seen[0] == 503 and seen[1]["starting"] == ["parser processes"]:
                    break  # the delivery database process has started; the parser waits
                await asyncio.sleep(0.05)
            assert seen == (503, {"status": "starting", "starting": ["parser processes"]})
            release.set()
            while time.monotonic() < deadline and (seen := await ready())[0] != 200:
                await asyncio.sleep(0.05)
            assert seen == (200, {"status": "ready", "schema": migrate.head()})
        finally:
            release.set()  # else the service's stop waits for the gated warm-up


async def test_a_part_that_failed_to_start_is_tried_again(tmp_path: Path, monkeypatch: Any
                                                          ) -> None:
    """A parser pool that could not start keeps /ready at 503 only until a later try
    starts it: a worker that recovered is not reported unready for ever."""
    from bounceloop.inbound.process import Processor

    real_warm = Processor.warm
    tries: list[float] = []

    async def flaky_warm(self: Processor) -> None:
        tries.append(time.monotonic())
        if len(tries) == 1:
            raise OSError("cannot spawn a parser process")
        await real_warm(self)

    monkeypatch.setattr(Processor, "warm", flaky_warm)
    async with worker_in_loop(tmp_path) as ready:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (await ready())[0] != 200:
            await asyncio.sleep(0.05)
        # The first try failed; ready came with a later one (processor.run's own warm-up
        # may be among them).
        assert (await ready())[0] == 200
        assert len(tries) >= 2
