"""What we promise not to lose is on stable storage before we say so (issue 17, defect 1).

A commit that is only in the operating system's cache survives a kill of the process but
not a power loss or a kernel crash. Each test runs a real ``bounceloop`` process on SQLite
under strace (tests.syscalls) and checks, call by call, that the database's WAL was written
*and synced* before each acknowledgement left the process:

- the inbound server's ``250`` after DATA (the sender deletes the bounce then);
- the API's ``202`` to ``POST /api/v1/messages`` (the client drops its copy);
- ``bounceloop send``'s "queued" (the operator's script moves on);
- a webhook call (its event is what the receiver is told about).

On PostgreSQL the sync happens in the server, so the test there reads the setting in force
inside the inbox's own transaction (a trigger records it).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import aiosmtplib
import pytest

from bounceloop.core import verp
from bounceloop.storage import messages, migrate, received, tokens
from bounceloop.storage.engine import create_engine, utcnow
from bounceloop.storage.tables import jobs
from bounceloop.testing import Receiver, bounces, free_port, postgres
from tests import syscalls
from tests.pgcommit import commit_settings, note_commit_setting
from tests.test_service import run

BIN = Path(sys.executable).parent / "bounceloop"
DOMAIN = "bounce.sender.test"

needs_strace = pytest.mark.skipif(
    syscalls.STRACE is None, reason="strace is not installed (Debian package strace, "
    "packages/debian-test.txt)")


def environment(database: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCELOOP_")}
    env.update({
        "BOUNCELOOP_DATABASE_URL": f"sqlite:///{database}",
        "BOUNCELOOP_SPOOL_DIR": str(tmp_path / "spool"),
        "BOUNCELOOP_BOUNCE_DOMAIN": DOMAIN,
        "BOUNCELOOP_VERP_SECRET": "durability-test",
        "BOUNCELOOP_HOSTNAME": "mx.sender.test",
        "BOUNCELOOP_HTTP_LISTEN": f"127.0.0.1:{free_port()}",
        "BOUNCELOOP_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
        "BOUNCELOOP_POLL_INTERVAL": "0.1",
    })
    env.update(extra)
    return env


def _health(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(json.loads(response.read())["status"] == "ok")
    except OSError:
        return False


@asynccontextmanager
async def serving(env: Mapping[str, str], log: Path | None, *args: str
                  ) -> AsyncIterator[None]:
    """``bounceloop serve ARGS`` (under strace, recording to ``log``, unless it is None)
    until the block ends, then stopped with SIGTERM."""
    argv = [str(BIN), "serve", *args]
    errors = Path(env["BOUNCELOOP_SPOOL_DIR"]).parent / "serve.err"
    with errors.open("ab") as stderr:
        proc = await asyncio.create_subprocess_exec(
            *(argv if log is None else syscalls.traced(log, argv)), env=dict(env),
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr)
    try:
        url = f"http://{env['BOUNCELOOP_HTTP_LISTEN']}/health"
        deadline = time.monotonic() + 60
        while not await asyncio.to_thread(_health, url):
            assert proc.returncode is None, errors.read_text()
            assert time.monotonic() < deadline, "serve did not answer /health in time"
            await asyncio.sleep(0.1)
        yield
    finally:
        # Under strace, strace's child is the service: stop it, and strace ends with it.
        for pid in [proc.pid] if log is None else _children(proc.pid):
            os.kill(pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 60)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _migrated(database: Path) -> None:
    db = create_engine(f"sqlite:///{database}")
    migrate.upgrade(db)
    db.dispose()


# ---------------------------------------------------------------------------------------------
# The inbound server: a 250 after DATA only once the message is synced.
# ---------------------------------------------------------------------------------------------

async def _bounce(port: int, n: int, messages: int) -> list[str]:
    replies = []
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port,
                               local_hostname="mx.dest.test") as client:
        for i in range(messages):
            raw = (f"From: MAILER-DAEMON@dest.test\r\nSubject: bounce {n}.{i}\r\n"
                   f"Message-ID: <{n}.{i}@dest.test>\r\n\r\nUndeliverable.\r\n").encode()
            _, reply = await client.sendmail("", [f"postmaster@{DOMAIN}"], raw)
            replies.append(reply)
    return replies


@needs_strace
async def test_every_250_after_data_follows_a_sync_of_the_message(tmp_path: Path) -> None:
    database = tmp_path / "inbound.db"
    _migrated(database)
    env = environment(database, tmp_path)
    log = tmp_path / "smtp.strace"
    port = int(env["BOUNCELOOP_SMTP_LISTEN"].rsplit(":", 1)[1])
    sessions, each = 10, 20
    async with serving(env, log, "--role", "smtp"):
        # Concurrent sessions, so the inbox's group commit answers several at a time.
        replies = await asyncio.gather(*(_bounce(port, n, each) for n in range(sessions)))
    assert all(r.startswith("2.0.0 Stored as") for rs in replies for r in rs), replies
    calls = syscalls.read(log)
    answers = syscalls.sent(calls, "250 2.0.0 Stored as")
    assert len(answers) == sessions * each
    unsynced = []
    for answer in answers:
        # The client sends nothing after the final dot until it has the reply: the last
        # read on this connection before the 250 is the one that ended the DATA.
        last_read = max(r.end for r in syscalls.received_on(calls, answer.path)
                        if r.end < answer.start)
        if not syscalls.synced_between(calls, database, last_read, answer.start):
            unsynced.append(answer.args.split('"')[1])
    syncs = len(syscalls.syncs(calls, database))
    assert not unsynced, (f"{len(unsynced)} of {len(answers)} answers 250 with no sync of "
                          f"the WAL after their DATA ({syncs} syncs in all): {unsynced[:5]}")


@pytest.mark.postgres
async def test_the_inboxs_commits_on_postgresql_wait_for_the_wal_flush(
        tmp_path: Path, postgres_server: postgres.Server) -> None:
    """The test server runs with ``synchronous_commit = off`` (bounceloop.testing.postgres),
    as a careless production one might: the smtp role's commits must not inherit it."""
    url = postgres_server.create_database("durable_inbox")
    db = create_engine(url)
    try:
        migrate.upgrade(db)
        with db.begin() as conn:
            # In force inside the very transaction that stores each message.
            note_commit_setting(conn, "received", "INSERT")
        env = environment(tmp_path / "unused.db", tmp_path, BOUNCELOOP_DATABASE_URL=url)
        port = int(env["BOUNCELOOP_SMTP_LISTEN"].rsplit(":", 1)[1])
        async with serving(env, None, "--role", "smtp"):
            replies = await asyncio.gather(*(_bounce(port, n, 3) for n in range(3)))
        with db.connect() as conn:
            seen = commit_settings(conn)
    finally:
        db.dispose()
        postgres_server.drop_database("durable_inbox")
    assert all(r.startswith("2.0.0 Stored as") for rs in replies for r in rs), replies
    assert seen and set(seen) == {"on"}, seen


# ---------------------------------------------------------------------------------------------
# The API: a 202 to POST /api/v1/messages only once the queued messages are synced.
# ---------------------------------------------------------------------------------------------

def _post(url: str, token: str, n: int) -> int:
    body = json.dumps({"from": "news@sender.test", "recipients": [
        {"email": f"reader{n}.{i}@dest.test"} for i in range(3)],
        "mime": f"From: news@sender.test\r\nSubject: n{n}\r\n\r\nHello.\r\n"}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


@needs_strace
async def test_every_202_to_the_api_follows_a_sync_of_the_queued_messages(
        tmp_path: Path) -> None:
    database = tmp_path / "api.db"
    _migrated(database)
    db = create_engine(f"sqlite:///{database}")
    with db.begin() as conn:
        _, token = tokens.create(conn, "write")
    db.dispose()
    env = environment(database, tmp_path)
    log = tmp_path / "web.strace"
    url = f"http://{env['BOUNCELOOP_HTTP_LISTEN']}/api/v1/messages"
    async with serving(env, log, "--role", "web"):
        answers = await asyncio.gather(*(asyncio.to_thread(_post, url, token, n)
                                         for n in range(20)))
    assert answers == [202] * 20
    calls = syscalls.read(log)
    accepted = syscalls.sent(calls, "HTTP/1.1 202")
    assert len(accepted) == 20
    unsynced = 0
    for answer in accepted:
        last_read = max(r.end for r in syscalls.received_on(calls, answer.path)
                        if r.end < answer.start)
        unsynced += not syscalls.synced_between(calls, database, last_read, answer.start)
    assert unsynced == 0, f"{unsynced} of 20 answers 202 with no sync of the WAL"


# ---------------------------------------------------------------------------------------------
# bounceloop send: "queued" only once the messages are synced.
# ---------------------------------------------------------------------------------------------

@needs_strace
async def test_send_says_queued_only_after_a_sync(tmp_path: Path) -> None:
    database = tmp_path / "send.db"
    _migrated(database)
    (tmp_path / "msg.eml").write_bytes(b"From: news@sender.test\r\nSubject: s\r\n\r\nHi.\r\n")
    (tmp_path / "list.csv").write_text("email\n" + "".join(
        f"reader{i}@dest.test\n" for i in range(50)))
    log = tmp_path / "send.strace"
    proc = await asyncio.create_subprocess_exec(
        *syscalls.traced(log, [str(BIN), "send", "--from", "news@sender.test", "--mime",
                               str(tmp_path / "msg.eml"), "--recipients",
                               str(tmp_path / "list.csv")]),
        env=environment(database, tmp_path), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    assert len(out.splitlines()) == 50
    calls = syscalls.read(log)
    [said] = [c for c in calls if c.name == "write" and "bounceloop: queued 50" in c.args]
    assert syscalls.writes(calls, database), "the queue was not written to the WAL"
    assert syscalls.unsynced_before(calls, database, said.start) == []


# ---------------------------------------------------------------------------------------------
# Webhooks: the event a receiver is told about is synced before the call.
# ---------------------------------------------------------------------------------------------

@needs_strace
async def test_a_webhook_call_tells_only_of_a_synced_event(tmp_path: Path) -> None:
    database = tmp_path / "hooks.db"
    _migrated(database)
    db = create_engine(f"sqlite:///{database}")
    now = utcnow()
    with db.begin() as conn:
        mailing = messages.create_mailing(conn, name="n", sender="news@sender.test",
                                          mime=b"From: news@sender.test\r\n\r\nHi.\r\n",
                                          tags=[], retry_schedule=None,
                                          max_delivery_time=None, now=now)
        [mid] = messages.queue(conn, mailing, "news@sender.test",
                               [messages.NewMessage("reader@dest.test")], bounce_domain=DOMAIN,
                               verp_secret="durability-test", max_delivery_time=60, now=now)
        conn.execute(jobs.delete())  # not delivered in this test: only the bounce is
        envelope = verp.encode(mid, DOMAIN, "durability-test")
    original = (f"X-Bounceloop-Id: {mid}\r\nTo: reader@dest.test\r\n"
                "From: news@sender.test\r\n\r\nHi.\r\n").encode()
    received.store_many(db, [received.Incoming(
        raw=bounces.dsn("reader@dest.test", original), mail_from="", rcpts=(envelope,),
        received_at=now)])
    db.dispose()
    log = tmp_path / "worker.strace"
    async with Receiver() as rx:
        # The service's ports are picked once the receiver holds its own: picked before,
        # free_port() could name the port the receiver then binds, and the wait for /health
        # would reach the receiver (seen once in a full run).
        env = environment(database, tmp_path, BOUNCELOOP_ALLOWED_TARGET_NETWORKS="127.0.0.0/8",
                          BOUNCELOOP_WEBHOOK_POLL_INTERVAL="0.05")
        code, _, err = await run(env, "webhook", "add", rx.url, "--trigger", "failure")
        assert code == 0, err.decode()
        async with serving(env, log, "--role", "worker"):
            deadline = time.monotonic() + 60
            while not rx.answers:
                assert time.monotonic() < deadline, "no webhook call"
                await asyncio.sleep(0.05)
    calls = syscalls.read(log)
    post = syscalls.sent(calls, "POST /hook")[0]
    assert syscalls.writes(calls, database)
    assert syscalls.unsynced_before(calls, database, post.start) == []
