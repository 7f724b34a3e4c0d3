"""The delivery engine end to end, on SQLite and PostgreSQL, against real loopback servers.

Every case queues messages in a fresh database, points the engine at a DNS server on
127.0.0.1 (FakeDNS) and at SMTP servers on loopback (FakeMX, ScriptedPeer, a closed port, a
port whose SYNs vanish), delivers, and reads back what was stored: the message row, its
attempts (the retry log), its error row and its events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import Row, select

from bounceloop.config import Settings
from bounceloop.core import signed, verp
from bounceloop.delivery.engine import Engine
from bounceloop.delivery.journal import Journal, written
from bounceloop.storage import inflight, outbox, suppressions
from bounceloop.storage import messages as store
from bounceloop.storage.engine import is_sqlite
from bounceloop.storage.tables import attempts, errors, events, jobs, messages
from bounceloop.testing import FakeDNS, FakeMX, ScriptedPeer, blackhole_port, closed_port

MIME = b"From: news@sender.test\r\nSubject: hello\r\n\r\nHello.\r\n"
SECRET = "s3cret"
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class Clock:
    """The engine's notion of now, moved by the test (retries without waiting)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def zone_for(domain: str, *hosts: str) -> dict[tuple[str, str], Any]:
    """MX records for ``domain``: one mail host per loopback address, preference 10, 20..."""
    zone: dict[tuple[str, str], Any] = {(domain, "MX"): [
        f"{10 * (i + 1)} mx{i + 1}.{domain}." for i in range(len(hosts))]}
    for i, ip in enumerate(hosts):
        zone[(f"mx{i + 1}.{domain}", "A")] = [ip]
    return zone


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The tests marked database_process run with the engine's database work in a thread
    # and in a process of its own (delivery.database); the others in a thread, as an
    # engine runs by default: those that replace a storage function in this process, and
    # the table of failures, whose database work is the same for every row.
    if "world" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("database_process") is not None
        metafunc.parametrize("database_worker", ["thread", "process"] if both else ["thread"])


@dataclass
class World:
    db: Database
    dns: FakeDNS
    clock: Clock
    process: bool = False
    """Engines made by :meth:`engine` run their database work in a process of their own."""
    overrides: dict[str, Any] = field(default_factory=dict)
    engines: list[Engine] = field(default_factory=list)
    """Made by :meth:`engine`: closed after the test, as the service closes its own (a
    round alone, ``run_once``, leaves the kept in-flight marks' connection open)."""

    def settings(self, **extra: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": "unused", "hostname": "client.sender.test",
            "dns_servers": [f"{self.dns.host}:{self.dns.port}"], "dns_timeout": 0.5,
            "allowed_target_networks": ["127.0.0.0/8"], "bounce_domain": "bounce.sender.test",
            "verp_secret": SECRET, "connect_timeout": 0.5, "greeting_timeout": 0.5,
            "command_timeout": 0.5, "data_timeout": 0.5, "retry_schedule": [600, 1800],
            "max_delivery_time": 86400, "tls": "opportunistic", "poll_interval": 0.05,
        }
        values.update(self.overrides)
        values.update(extra)
        return Settings(**values)

    def engine(self, **extra: Any) -> Engine:
        engine = Engine(self.settings(**extra), self.db, clock=self.clock, worker="test",
                        database_process=self.process)
        self.engines.append(engine)
        return engine

    def queue(self, recipients: Sequence[str], *, sender: str = "news@sender.test",
              retry_schedule: Sequence[int] | None = None, max_delivery_time: int | None = None,
              verp_envelopes: bool = True, mime: bytes = MIME) -> list[str]:
        settings = self.settings()
        with self.db.begin() as conn:
            mailing = store.create_mailing(
                conn, name="t", sender=sender, mime=mime, tags=["news"],
                retry_schedule=retry_schedule, max_delivery_time=max_delivery_time,
                now=self.clock())
            return store.queue(
                conn, mailing, sender, [store.NewMessage(r) for r in recipients],
                bounce_domain=settings.bounce_domain if verp_envelopes else "",
                verp_secret=SECRET,
                max_delivery_time=max_delivery_time or settings.max_delivery_time,
                now=self.clock())

    def message(self, mid: str) -> Row[Any]:
        with self.db.connect() as conn:
            return conn.execute(select(messages).where(messages.c.id == mid)).one()

    def attempts(self, mid: str) -> list[Row[Any]]:
        with self.db.connect() as conn:
            return list(conn.execute(select(attempts).where(attempts.c.message_id == mid)
                                     .order_by(attempts.c.number)))

    def errors(self, mid: str) -> list[Row[Any]]:
        with self.db.connect() as conn:
            return list(conn.execute(select(errors).where(errors.c.message_id == mid)))

    def events(self, mid: str) -> list[tuple[str, dict[str, Any]]]:
        with self.db.connect() as conn:
            return [(r.type, json.loads(r.data)) for r in conn.execute(
                select(events).where(events.c.message_id == mid).order_by(events.c.id))]

    def message_by_recipient(self, rcpt: str) -> Row[Any]:
        with self.db.connect() as conn:
            return conn.execute(select(messages).where(messages.c.recipient == rcpt)).one()

    def job(self, mid: str) -> Row[Any]:
        with self.db.connect() as conn:
            return conn.execute(select(jobs).where(jobs.c.ref == mid)).one()


@pytest.fixture
async def world(engine: Database, database_worker: str) -> AsyncIterator[World]:
    async with FakeDNS() as dns:
        world = World(engine, dns, Clock(), process=database_worker == "process")
        try:
            yield world
        finally:
            for made in world.engines:
                made.close()


def stored(row: Row[Any]) -> tuple[Any, ...]:
    """What the issue asks each case to assert, from a message or attempt row."""
    return (row.step, row.state, row.code, row.extended, row.errortype, row.severity)


# ------------------------------------------------------------------------------------------
# One table: every place a delivery can go wrong, and what is stored for it.
# ------------------------------------------------------------------------------------------

GREET = ("send", "220 mx.test ESMTP\r\n")
EHLO_OK = ("send", "250-mx.test\r\n250 PIPELINING\r\n")


@dataclass(frozen=True)
class Case:
    id: str
    #: "dns:<answer>" for a DNS-only case, "mx" (FakeMX with ``script``), "peer" (a
    #: ScriptedPeer playing ``steps``), "closed" (nothing listens) or "blackhole" (SYNs
    #: vanish)
    server: str
    expect: tuple[Any, ...]  # status, step, state, code, extended, errortype, severity
    recipient: str = "jane@dest.test"
    script: dict[str, Any] = field(default_factory=dict)
    steps: tuple[Any, ...] = ()
    result: str = ""
    reason: str = ""


CASES = [
    # Step 1: DNS.
    Case("nxdomain", "dns:NXDOMAIN",
         ("failed", 1, "dns", None, "5.1.2", "nohost", "hard"), reason="hostunknown"),
    Case("servfail", "dns:SERVFAIL",
         ("deferred", 1, "dns", None, "4.4.3", "nohost", "soft"), reason="networkerror"),
    Case("dns-timeout", "dns:DROP",
         ("deferred", 1, "dns", None, "4.4.3", "nohost", "soft"), result="timeout"),
    Case("null-mx", "dns:0 .",
         ("failed", 1, "dns", None, "5.1.10", "nohost", "hard"), reason="notaccept"),
    Case("private-ip", "dns:10.9.8.7",
         ("failed", 1, "dns", None, "5.4.4", "privateiprange", "hard"), result="private"),
    # Step 2: connect.
    Case("refused", "closed",
         ("deferred", 2, "connect", None, "4.4.1", "unreachable", "soft"), result="refused"),
    Case("connect-timeout", "blackhole",
         ("deferred", 2, "connect", None, "4.4.1", "unreachable", "soft"), result="timeout"),
    # Step 3: greeting, EHLO.
    Case("greeting-554", "peer",
         ("failed", 3, "greeting", "554", "5.7.1", "error", "hard"),
         steps=(("send", "554 5.7.1 no mail from you\r\n"), ("close",))),
    Case("greeting-timeout", "peer",
         ("deferred", 3, "greeting", None, "4.4.2", "unexpected", "soft"),
         steps=(("stall", 3.0),), result="timeout"),
    Case("greeting-garbage", "peer",
         ("deferred", 3, "greeting", None, "4.5.0", "unexpected", "soft"),
         steps=(("garbage", b"\x00\xffHTTP/1.1 400 Bad Request\r\n\r\n"), ("stall", 1.0)),
         result="invalid"),
    Case("greeting-dropped", "peer",
         ("deferred", 3, "greeting", None, "4.4.2", "unexpected", "soft"),
         steps=(("close",),), result="lost"),
    Case("ehlo-550", "peer",
         ("failed", 3, "ehlo", "550", "5.7.1", "error", "hard"),
         steps=(GREET, ("expect", "EHLO"), ("send", "550 5.7.1 your name is not welcome\r\n"),
                ("expect", None))),
    Case("ehlo-timeout", "mx",
         ("deferred", 3, "ehlo", None, "4.4.2", "unexpected", "soft"),
         script={"stall_next": {"EHLO": 3.0}}, result="timeout"),
    Case("ehlo-reset", "peer",
         ("deferred", 3, "ehlo", None, "4.4.2", "unexpected", "soft"),
         steps=(GREET, ("expect", "EHLO"), ("reset",)), result="lost"),
    # Step 4: MAIL, RCPT, DATA, after the final dot.
    Case("mail-553", "mx",
         ("failed", 4, "mailfrom", "553", "5.1.8", "error", "hard"),
         script={"fail_next": {"MAIL": "553 5.1.8 sender domain does not exist"}}),
    Case("mail-timeout", "mx",
         ("deferred", 4, "mailfrom", None, "4.4.2", "unexpected", "soft"),
         script={"stall_next": {"MAIL": 3.0}}, result="timeout"),
    Case("rcpt-550-511", "mx",
         ("failed", 4, "rcptto", "550", "5.1.1", "error", "hard"),
         recipient="r550-511.jane@dest.test", reason="userunknown"),
    Case("rcpt-452-422", "mx",
         ("deferred", 4, "rcptto", "452", "4.2.2", "error", "soft"),
         recipient="r452-422.jane@dest.test", reason="mailboxfull"),
    Case("rcpt-421-mid-session", "mx",
         ("deferred", 4, "rcptto", "421", "4.7.0", "error", "soft"),
         script={"fail_next": {"RCPT": "421 4.7.0 too many errors"}}),
    Case("rcpt-timeout", "mx",
         ("deferred", 4, "rcptto", None, "4.4.2", "unexpected", "soft"),
         script={"stall_next": {"RCPT": 3.0}}, result="timeout"),
    Case("data-554", "mx",
         ("failed", 4, "data", "554", "5.7.1", "error", "hard"),
         script={"fail_next": {"DATA": "554 5.7.1 no thanks"}}),
    Case("data-timeout", "mx",
         ("deferred", 4, "data", None, "4.4.2", "unexpected", "soft"),
         script={"stall_next": {"DATA": 3.0}}, result="timeout"),
    Case("after-dot-552", "mx",
         ("failed", 4, "message", "552", "5.2.2", "error", "hard"),
         script={"fail_next": {"DATA_END": "552 5.2.2 mailbox over quota"}}, reason="mailboxfull"),
    Case("after-dot-451", "mx",
         ("deferred", 4, "message", "451", "4.3.0", "error", "soft"),
         script={"fail_next": {"DATA_END": "451 4.3.0 try again later"}}),
    Case("after-dot-timeout", "mx",
         ("deferred", 4, "message", None, "4.4.2", "unexpected", "soft"),
         script={"stall_next": {"DATA_END": 3.0}}, result="timeout"),
    Case("dropped-in-data", "peer",
         ("deferred", 4, "data", None, "4.4.2", "unexpected", "soft"),
         steps=(GREET, ("expect", "EHLO"), EHLO_OK, ("expect", "MAIL"), ("send", "250 ok\r\n"),
                ("expect", "RCPT"), ("send", "250 ok\r\n"), ("expect", "DATA"), ("close",)),
         result="lost"),
    Case("garbage-after-mail", "peer",
         ("deferred", 4, "mailfrom", None, "4.5.0", "unexpected", "soft"),
         steps=(GREET, ("expect", "EHLO"), EHLO_OK, ("expect", "MAIL"),
                ("garbage", b"\x16\x03\x01 what\r\n"), ("stall", 1.0)), result="invalid"),
    # And the happy path, for contrast.
    Case("delivered", "mx", ("delivered", 4, "message", "250", "2.0.0", None, None),
         result="accepted"),
]


@contextlib.asynccontextmanager
async def server_for(case: Case, world: World) -> AsyncIterator[int]:
    """Start what the case needs; yield the port the engine must use as MX port."""
    domain = case.recipient.rpartition("@")[2]
    if case.server.startswith("dns:"):
        answer = case.server[4:]
        if answer in ("NXDOMAIN", "SERVFAIL", "DROP"):
            world.dns.zone[(domain, "MX")] = answer
        elif answer[0].isdigit() and " " in answer:
            world.dns.zone[(domain, "MX")] = [answer]
        else:
            world.dns.zone.update(zone_for(domain, answer))
        yield 25
        return
    world.dns.zone.update(zone_for(domain, "127.0.0.1"))
    if case.server == "closed":
        yield closed_port()
    elif case.server == "blackhole":
        with blackhole_port() as port:
            yield port
    elif case.server == "peer":
        async with ScriptedPeer(case.steps) as peer:
            yield peer.port
    else:
        async with FakeMX() as mx:
            mx.apply_script(case.script)
            yield mx.port


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_each_failure_is_stored_with_step_state_and_codes(world: World,
                                                                case: Case) -> None:
    async with server_for(case, world) as port:
        [mid] = world.queue([case.recipient])
        engine = world.engine(mx_port=port)
        await engine.drain()

    msg = world.message(mid)
    status, *where = case.expect
    assert msg.status == status, msg.description
    assert list(stored(msg)) == where, msg.description
    [attempt] = world.attempts(mid)
    assert list(stored(attempt)) == where
    assert attempt.number == 0 and attempt.duration_ms >= 0
    if case.result:
        assert attempt.result == case.result
    if status != "delivered" or case.server.startswith("dns:"):
        assert attempt.description
    if case.server not in ("closed", "blackhole") and not case.server.startswith("dns:"):
        assert (attempt.mx, attempt.ip) == ("mx1.dest.test", "127.0.0.1")

    errs = world.errors(mid)
    kinds = [kind for kind, _ in world.events(mid)]
    if status == "failed":
        [err] = errs
        assert (err.step, err.state, err.code, err.extended, err.errortype,
                err.severity) == tuple(where)
        assert err.recipient == case.recipient and err.description == msg.description
        if case.reason:
            assert err.reason == case.reason
        assert kinds == ["failure"]
        [(_, data)] = world.events(mid)
        # One event stream: a synchronous failure carries its SMTP state (issue 4).
        assert (data["action"], data["state"], data["code"], data["extended"],
                data["recipient"], data["step"]) == ("failed", err.state, err.code or "",
                                                     err.extended or "", err.recipient,
                                                     err.step)
        assert world.job(mid).status == "done"
    elif status == "deferred":
        assert errs == []
        assert kinds == ["retry"]
        # The first slot of the schedule: 600 s after the attempt.
        assert msg.next_attempt_at == T0 + timedelta(seconds=600)
        job = world.job(mid)
        assert (job.status, job.run_at) == ("pending", T0 + timedelta(seconds=600))
    else:
        assert errs == [] and kinds == ["delivery"]
        [(_, data)] = world.events(mid)
        assert (data["id"], data["recipient"], data["code"]) == (mid, case.recipient, "250")
        assert msg.finished_at is not None


# ------------------------------------------------------------------------------------------
# Retries: a temporary failure is retried on its schedule, then delivered or failed finally.
# ------------------------------------------------------------------------------------------

@pytest.mark.database_process
async def test_temporary_failure_is_retried_and_later_delivered(world: World) -> None:
    async with FakeMX() as mx:
        world.dns.zone[("dest.test", "MX")] = "SERVFAIL"
        [mid] = world.queue(["jane@dest.test"])
        engine = world.engine(mx_port=mx.port)
        await engine.drain()
        assert world.message(mid).status == "deferred"

        # Not due yet: a round now takes nothing.
        world.clock.advance(599)
        assert await engine.run_once() == 0

        # Due, but the MX still answers 4xx after the dot: the second slot (1800 s) next.
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        mx.fail_next("DATA_END", "451 4.3.0 queue full")
        world.clock.advance(1)
        assert await engine.run_once() == 1
        msg = world.message(mid)
        assert (msg.status, msg.attempts, msg.state, msg.code) == ("deferred", 2, "message",
                                                                  "451")
        assert msg.next_attempt_at == T0 + timedelta(seconds=600 + 1800)

        # Third try: delivered.
        world.clock.advance(1800)
        await engine.drain()
        assert len(mx.messages) == 1

    msg = world.message(mid)
    assert (msg.status, msg.attempts, msg.state, msg.code) == ("delivered", 3, "message", "250")
    log = [(a.number, a.state, a.result, a.code, a.final) for a in world.attempts(mid)]
    assert log == [(0, "dns", "error", None, False), (1, "message", "error", "451", False),
                   (2, "message", "accepted", "250", True)]
    assert [k for k, _ in world.events(mid)] == ["retry", "retry", "delivery"]
    assert world.errors(mid) == []


async def test_retry_until_expiry_fails_finally_with_the_last_result(world: World) -> None:
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        mx.override("RCPT", "450 4.2.1 mailbox temporarily disabled")
        # Per mailing: retry every 100 s, give up after 250 s.
        [mid] = world.queue(["jane@dest.test"], retry_schedule=[100], max_delivery_time=250)
        engine = world.engine(mx_port=mx.port)
        for _ in range(3):
            assert await engine.run_once() == 1
            world.clock.advance(100)
        assert await engine.run_once() == 0

    msg = world.message(mid)
    assert (msg.status, msg.attempts) == ("failed", 3)
    assert stored(msg) == (4, "rcptto", "450", "4.2.1", "error", "soft")
    [a0, a1, a2] = world.attempts(mid)
    assert [a.started_at for a in (a0, a1, a2)] == [T0 + timedelta(seconds=s)
                                                    for s in (0, 100, 200)]
    assert [a.final for a in (a0, a1, a2)] == [False, False, True]
    [err] = world.errors(mid)
    assert (err.reason, err.code, err.extended, err.severity) == ("expired", "450", "4.2.1",
                                                                 "soft")
    failure = world.events(mid)[-1]
    assert failure[0] == "failure" and failure[1]["expired"] is True


async def test_a_message_past_its_deadline_fails_without_an_attempt(world: World) -> None:
    world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
    [mid] = world.queue(["jane@dest.test"], max_delivery_time=60)
    world.clock.advance(61)  # e.g. the service was down
    await world.engine(mx_port=closed_port()).drain()
    msg = world.message(mid)
    assert (msg.status, msg.state, msg.extended) == ("failed", "process", "4.4.7")
    assert world.errors(mid)[0].reason == "expired"


# ------------------------------------------------------------------------------------------
# Routing, VERP, DSN, suppression.
# ------------------------------------------------------------------------------------------

async def test_next_mx_when_the_first_refuses_the_connection(world: World) -> None:
    async with FakeMX(host="127.0.0.3") as mx:
        # mx1 (127.0.0.2) has nothing on the port: connection refused, so mx2 is tried.
        world.dns.zone.update(zone_for("dest.test", "127.0.0.2", "127.0.0.3"))
        [mid] = world.queue(["jane@dest.test"])
        await world.engine(mx_port=mx.port).drain()
        assert len(mx.messages) == 1
    [attempt] = world.attempts(mid)
    assert (attempt.result, attempt.mx, attempt.ip) == ("accepted", "mx2.dest.test",
                                                        "127.0.0.3")


async def test_all_mx_hosts_failing_reports_the_one_that_got_furthest(world: World) -> None:
    async with ScriptedPeer([("send", "554 5.7.1 go away\r\n")], host="127.0.0.3") as peer:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.2", "127.0.0.3"))
        [mid] = world.queue(["jane@dest.test"])
        await world.engine(mx_port=peer.port).drain()
    msg = world.message(mid)
    assert (msg.status, msg.state, msg.code) == ("failed", "greeting", "554")


async def test_verp_envelope_dsn_parameters_and_message_id_header(world: World) -> None:
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        [mid] = world.queue(["Jane@Dest.test"])
        await world.engine(mx_port=mx.port).drain()
        [got] = mx.messages
    envelope = world.message(mid).envelope
    assert got.mail_from == envelope
    assert verp.decode(envelope, "bounce.sender.test", SECRET) == mid
    # The ENVID, our header and (the document has none) the Message-ID carry one token,
    # signed for this message and its recipient (core.signed): what ties a returned copy.
    token = signed.message_token(mid, "Jane@Dest.test", SECRET)
    assert got.mail_params["RET"] == "HDRS" and got.mail_params["ENVID"] == token
    assert got.rcpt_params == [{"NOTIFY": "FAILURE", "ORCPT": "rfc822;Jane@Dest.test"}]
    assert got.data == (f"X-Bounceloop-Id: {token}\r\n"
                        f"Message-ID: <{token}@bounce.sender.test>\r\n").encode() + MIME
    ref, _, tag = token.partition(".")
    assert ref == mid and signed.message_valid(tag, mid, "jane@dest.test", SECRET)


async def test_a_document_with_its_own_message_id_keeps_it(world: World) -> None:
    own = b"Message-ID: <spring@sender.test>\r\n" + MIME
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        [mid] = world.queue(["jane@dest.test"], mime=own)
        await world.engine(mx_port=mx.port).drain()
        [got] = mx.messages
    token = signed.message_token(mid, "jane@dest.test", SECRET)
    assert got.data == f"X-Bounceloop-Id: {token}\r\n".encode() + own


@pytest.mark.database_process
async def test_suppressed_recipient_fails_at_once_without_connecting(world: World) -> None:
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        world.dns.zone.update(zone_for("blocked.test", "127.0.0.1"))
        with world.db.begin() as conn:
            suppressions.put(conn, suppressions.manual(
                "address", "Gone@Dest.test", code="550", extended="5.1.1",
                description="earlier hard bounce"), source="manual", actor="test", now=T0)
            suppressions.put(conn, suppressions.manual("domain", "blocked.test"),
                             source="manual", actor="test", now=T0)
        ids = world.queue(["gone@dest.test", "anyone@blocked.test", "ok@dest.test"])
        await world.engine(mx_port=mx.port).drain()
        assert [m.rcpt_tos for m in mx.messages] == [["ok@dest.test"]]
    gone, blocked, ok = (world.message(i) for i in ids)
    assert (gone.status, gone.step, gone.state, gone.code, gone.extended) == (
        "failed", 0, "suppression", "550", "5.1.1")
    assert "earlier hard bounce" in gone.description
    assert (blocked.status, blocked.state) == ("failed", "suppression")
    assert ok.status == "delivered"
    assert world.errors(ids[0])[0].reason == "suppressed"
    assert world.dns.queries.count(("blocked.test", "MX")) == 0


@pytest.mark.database_process
async def test_a_hard_failure_suppresses_the_next_message_to_that_address(world: World
                                                                         ) -> None:
    # The rules run in record()'s transaction: the next round already sees the entry.
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        [first] = world.queue(["r550-511.jo@dest.test"])
        await world.engine(mx_port=mx.port).drain()
        [second, other] = world.queue(["R550-511.jo@dest.test", "ok@dest.test"])
        await world.engine(mx_port=mx.port).drain()
        assert [m.rcpt_tos for m in mx.messages] == [["ok@dest.test"]]
    assert world.message(first).state == "rcptto"
    again = world.message(second)
    assert (again.status, again.state, again.code, again.extended) == (
        "failed", "suppression", "550", "5.1.1")
    assert "suppressed after userunknown" in again.description
    assert world.message(other).status == "delivered"
    with world.db.connect() as conn:
        entry = suppressions.get(conn, "address", "r550-511.jo@dest.test")
    assert entry is not None and entry.error_id == world.errors(first)[0].id


@pytest.mark.database_process
async def test_a_failure_suppresses_the_same_address_in_a_round_claimed_before_it_was_written(
        world: World) -> None:
    # Rounds overlap: the next one is claimed and checked against the suppression list
    # while this one delivers, and its outcomes are written after. The next round must
    # still not mail an address this one's failure suppressed.
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        first, second, other = world.queue(["r550-511.jo@dest.test", "R550-511.jo@dest.test",
                                            "ok@dest.test"])
        engine = Engine(world.settings(mx_port=mx.port), world.db, clock=world.clock,
                        worker="test", batch=1)
        await engine.drain()
        assert [m.rcpt_tos for m in mx.messages] == [["ok@dest.test"]]
    assert world.message(first).state == "rcptto"
    again = world.message(second)
    assert (again.status, again.state, again.code) == ("failed", "suppression", "550")
    assert world.message(other).status == "delivered"


@pytest.mark.database_process
async def test_a_stop_gives_back_the_round_claimed_ahead(world: World) -> None:
    # The next round is claimed while this one delivers; stopped before it starts, its
    # jobs go back to pending at once (no attempt counted), not after their lease.
    engine: Engine | None = None

    def stop(_: object) -> None:
        assert engine is not None
        engine.stop.set()
    async with FakeMX(on_message=stop) as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        ids = world.queue([f"u{i}@dest.test" for i in range(3)])
        engine = Engine(world.settings(mx_port=mx.port), world.db, clock=world.clock,
                        worker="test", batch=1)
        await engine.drain()
        assert len(mx.messages) == 1
    assert [world.message(i).status for i in ids] == ["delivered", "queued", "queued"]
    with world.db.connect() as conn:
        rows = conn.execute(select(jobs.c.status, jobs.c.locked_by, jobs.c.attempts)
                            .order_by(jobs.c.id)).all()
    assert [tuple(r) for r in rows] == [("done", None, 1), ("pending", None, 0),
                                        ("pending", None, 0)]


@pytest.mark.parametrize("convention", ["steps-1-3", "steps-1-4"])
async def test_severity_follows_the_configured_convention(world: World,
                                                          convention: str) -> None:
    # A 4xx RCPT (step 4) and a refused connection (step 2): under steps-1-3 only the
    # connect error is hard; under steps-1-4 both are.
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        world.dns.zone.update(zone_for("down.test", "127.0.0.2"))
        full, down = world.queue(["r452-422@dest.test", "x@down.test"])
        await world.engine(mx_port=mx.port, severity_convention=convention).drain()
    assert world.message(down).severity == "hard"
    assert world.message(full).severity == ("soft" if convention == "steps-1-3" else "hard")


# ------------------------------------------------------------------------------------------
# Connections: reuse, many RCPTs in one transaction, limits.
# ------------------------------------------------------------------------------------------

@pytest.mark.database_process
@pytest.mark.parametrize("pipelining", [True, False])
async def test_connection_is_reused_for_several_messages(world: World,
                                                         pipelining: bool) -> None:
    # Without PIPELINING, RSET before each reuse; with it, the next transaction's commands
    # go out with the last final dot (RFC 2920 3.1), which ends a transaction by itself.
    async with FakeMX(pipelining=pipelining) as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        ids = world.queue([f"u{i}@dest.test" for i in range(5)])
        await world.engine(mx_port=mx.port, max_connections_per_domain=1).drain()
        assert (mx.connections, mx.transactions, len(mx.messages)) == (1, 5, 5)
        verbs = [cmd.split()[0] for _, cmd in mx.commands]
        assert verbs.count("RSET") == (0 if pipelining else 4)
        assert verbs[-1] == "QUIT"
    assert {world.message(i).status for i in ids} == {"delivered"}
    assert sorted(m.rcpt_tos[0] for m in mx.messages) == [f"u{i}@dest.test" for i in range(5)]


async def test_a_421_to_the_final_dot_sends_the_transaction_sent_ahead_again(
        world: World) -> None:
    # The next transaction's MAIL/RCPT/DATA went out with the dot; the server closed
    # instead of answering them, so that message goes again on a new connection, once.
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        first, *rest = world.queue([f"u{i}@dest.test" for i in range(4)])
        mx.fail_next("DATA_END", "421 4.3.2 shutting down")
        await world.engine(mx_port=mx.port, max_connections_per_domain=1).drain()
        assert mx.connections == 2
        assert sorted(m.rcpt_tos[0] for m in mx.messages) == [f"u{i}@dest.test"
                                                              for i in range(1, 4)]
    assert world.message(first).status == "deferred"
    assert {world.message(i).status for i in rest} == {"delivered"}


async def test_max_messages_per_connection_opens_a_new_connection(world: World) -> None:
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        world.queue([f"u{i}@dest.test" for i in range(5)])
        await world.engine(mx_port=mx.port, max_connections_per_domain=1,
                           max_messages_per_connection=2).drain()
        assert (mx.connections, len(mx.messages)) == (3, 5)


async def test_connections_per_domain_are_limited(world: World) -> None:
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        world.dns.zone.update(zone_for("other.test", "127.0.0.1"))
        world.queue([f"u{i}@dest.test" for i in range(12)] + ["x@other.test"])
        await world.engine(mx_port=mx.port, max_connections_per_domain=3,
                           max_messages_per_connection=100).drain()
        # dest.test: 12 transactions over at most 3 connections; other.test: its own.
        assert mx.connections == 4 and len(mx.messages) == 13


async def test_total_concurrency_is_limited(world: World) -> None:
    async with FakeMX() as mx:
        domains = [f"d{i}.test" for i in range(6)]
        for d in domains:
            world.dns.zone.update(zone_for(d, "127.0.0.1"))
        world.queue([f"u@{d}" for d in domains])
        await world.engine(mx_port=mx.port, max_connections=2).drain()
        assert len(mx.messages) == 6 and mx.connections == 6
        assert mx.peak_connections == 2


async def test_many_recipients_share_one_transaction_without_verp(world: World) -> None:
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        rcpts = ["a@dest.test", "r550-511.b@dest.test", "c@dest.test", "r452-422.d@dest.test"]
        ids = world.queue(rcpts, verp_envelopes=False)
        await world.engine(mx_port=mx.port).drain()
        [got] = mx.messages
        assert mx.transactions == 1
        assert got.mail_from == "news@sender.test"
        assert got.rcpt_tos == ["a@dest.test", "c@dest.test"]
        # One copy for several recipients: the token names the mailing and their domain.
        token = signed.mailing_token(world.message(ids[0]).mailing_id, "dest.test", SECRET)
        assert got.data.startswith(f"X-Bounceloop-Mailing: {token}\r\n".encode())
        assert got.mail_params["ENVID"] == token
    a, b, c, d = (world.message(i) for i in ids)
    assert (a.status, c.status) == ("delivered", "delivered")
    assert (b.status, b.state, b.code, b.extended) == ("failed", "rcptto", "550", "5.1.1")
    assert (d.status, d.state, d.code, d.extended) == ("deferred", "rcptto", "452", "4.2.2")


async def test_rcpt_limit_splits_transactions(world: World) -> None:
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        world.queue([f"u{i}@dest.test" for i in range(5)], verp_envelopes=False)
        await world.engine(mx_port=mx.port, max_rcpts_per_transaction=2).drain()
        assert sorted(len(m.rcpt_tos) for m in mx.messages) == [1, 2, 2]


async def test_starttls_is_used_when_offered(world: World) -> None:
    from bounceloop.testing import tls_contexts

    tls = tls_contexts("mx1.dest.test")
    async with FakeMX(tls_context=tls.server) as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        [mid] = world.queue(["jane@dest.test"])
        await world.engine(mx_port=mx.port).drain()
        assert mx.messages[0].tls is True
    assert world.message(mid).status == "delivered"


async def test_required_tls_without_starttls_is_a_step_3_error(world: World) -> None:
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        [mid] = world.queue(["jane@dest.test"])
        await world.engine(mx_port=mx.port, tls="required").drain()
        assert mx.messages == []
    msg = world.message(mid)
    assert stored(msg) == (3, "starttls", None, "4.7.0", "unexpected", "soft")
    assert msg.status == "deferred"


# ------------------------------------------------------------------------------------------
# Jobs: leases, work claimed twice, work interrupted after the final dot.
# ------------------------------------------------------------------------------------------

@pytest.mark.database_process
async def test_a_job_whose_message_is_final_is_settled_not_sent_again(world: World) -> None:
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        [mid] = world.queue(["jane@dest.test"])
        await world.engine(mx_port=mx.port).drain()
        # A stale second job for the same message (as after a lost lease).
        with world.db.begin() as conn:
            outbox.enqueue(conn, store.DELIVER, mid, run_at=world.clock())
        await world.engine(mx_port=mx.port).drain()
        assert len(mx.messages) == 1
    assert len(world.attempts(mid)) == 1


@pytest.mark.database_process
async def test_in_flight_message_of_a_dead_worker_counts_as_delivered_unconfirmed(
        world: World) -> None:
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        [mid] = world.queue(["jane@dest.test"])
        # A worker claimed the job and marked the message before its final dot, then died.
        dead = outbox.claim(world.db, [store.DELIVER], "dead", 10, 30, now=world.clock())
        assert len(dead) == 1
        store.mark_sending(world.db, [mid], world.clock())
        engine = world.engine(mx_port=mx.port)
        assert await engine.run_once() == 0  # still leased to the dead worker
        world.clock.advance(31)
        await engine.drain()
        assert mx.messages == []  # not sent a second time
    msg = world.message(mid)
    assert (msg.status, msg.state) == ("delivered", "message")
    [attempt] = world.attempts(mid)
    assert attempt.result == "indoubt" and attempt.final


@pytest.mark.database_process
@pytest.mark.parametrize("marked_in_db", [True, False], ids=["marked", "journal-only"])
@pytest.mark.parametrize("dot_written", [True, False], ids=["dot-out", "dot-not-out"])
async def test_the_journal_decides_a_dead_workers_message_in_flight(
        world: World, tmp_path: Path, dot_written: bool, marked_in_db: bool) -> None:
    # A worker claimed the message and died. It had marked it in flight in the database
    # (PostgreSQL), or only in its journal (SQLite: then the claim that takes the job over
    # names it); its journal lists the attempt if the dot went out - or, killed between
    # the mark and the dot, does not.
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        [mid] = world.queue(["jane@dest.test"])
        dead = Journal(tmp_path / "inflight", "host:1:dead")
        outbox.claim(world.db, [store.DELIVER], "host:1:dead", 10, 30, now=world.clock())
        if marked_in_db:
            store.mark_sending(world.db, [mid], world.clock(), "host:1:dead")
        if dot_written:
            dead.append([f"{mid}:0"])
        world.clock.advance(31)
        engine = Engine(world.settings(mx_port=mx.port), world.db, clock=world.clock,
                        worker="host:2:heir", journal=Journal(tmp_path / "inflight",
                                                              "host:2:heir"))
        await engine.drain()
        sent_again = len(mx.messages)
    [attempt] = world.attempts(mid)
    assert world.message(mid).status == "delivered"
    if dot_written:
        assert (sent_again, attempt.result) == (0, "indoubt")
    else:
        assert (sent_again, attempt.result) == (1, "accepted")


@pytest.mark.database_process
async def test_a_claim_settles_what_a_dead_worker_sent_before_the_round_runs(
        world: World, tmp_path: Path) -> None:
    # A round is claimed while the one before it delivers. If the worker that claims it
    # dies before its turn, the next one takes the jobs over from that worker, whose
    # journal does not list what the first dead worker sent: so the claim itself settles
    # those messages as delivered, unconfirmed, before anything else can happen.
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        [mid] = world.queue(["jane@dest.test"])
        outbox.claim(world.db, [store.DELIVER], "host:1:dead", 10, 30, now=world.clock())
        Journal(tmp_path / "inflight", "host:1:dead").append([f"{mid}:0"])
        world.clock.advance(31)
        heir = Engine(world.settings(mx_port=mx.port), world.db, clock=world.clock,
                      worker="host:2:heir", journal=Journal(tmp_path / "inflight",
                                                            "host:2:heir"))
        await heir._fetch()  # claimed ahead of its turn; then the heir dies
        heir.close()
        world.clock.advance(world.settings().job_lease + 1)
        third = Engine(world.settings(mx_port=mx.port), world.db, clock=world.clock,
                       worker="host:3:third", journal=Journal(tmp_path / "inflight",
                                                              "host:3:third"))
        await third.drain()
        assert mx.messages == []
    [attempt] = world.attempts(mid)
    assert (world.message(mid).status, attempt.result) == ("delivered", "indoubt")


@pytest.mark.database_process
async def test_the_engine_journals_each_final_dot_and_marks_who_sent_it(
        world: World, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "inflight", "host:3:me")
    seen: list[tuple[str, set[str] | None]] = []

    async with FakeMX() as mx:
        def check(message: object) -> None:
            # The server has the final dot: the journal lists the message, the database
            # names the worker that marked it.
            mid = world.message_by_recipient("jane@dest.test")
            seen.append((mid.sent_by, written(tmp_path / "inflight", "host:3:me")))
        mx.on_message = check
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        [mid] = world.queue(["jane@dest.test"])
        engine = Engine(world.settings(mx_port=mx.port), world.db, clock=world.clock,
                        worker="host:3:me", journal=journal)
        await engine.drain()
    # On SQLite the journal alone marks the message; PostgreSQL also names the worker.
    marked_by = None if is_sqlite(world.db) else "host:3:me"
    assert seen == [(marked_by, {f"{mid}:0"})]
    journal.close()  # everything settled: a clean stop removes the files
    assert list((tmp_path / "inflight").iterdir()) == []


async def test_the_service_loop_survives_a_database_error(
        world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from sqlalchemy.exc import OperationalError

    real = store.pending
    failures = [OperationalError("SELECT ...", {}, Exception("database is locked"))]

    def flaky(conn: Any, jobs: Any) -> Any:
        if failures:
            raise failures.pop()
        return real(conn, jobs)

    monkeypatch.setattr(store, "pending", flaky)
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        [mid] = world.queue(["jane@dest.test"])
        engine = world.engine(mx_port=mx.port, job_lease=0.5)
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop))
        for _ in range(200):
            if mx.messages:
                break
            world.clock.advance(1)  # the failed round's job comes back after its lease
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)
        assert len(mx.messages) == 1
    assert world.message(mid).status == "delivered"
    assert "delivery round failed" in caplog.text and "database is locked" in caplog.text


# ------------------------------------------------------------------------------------------
# What an operator sees: metrics by status and step, one JSON log line per attempt.
# ------------------------------------------------------------------------------------------

@pytest.mark.database_process
async def test_metrics_by_step_and_a_json_log_line_per_attempt(world: World) -> None:
    import io

    from bounceloop.observability import logs
    from bounceloop.observability.metrics import Metrics

    stream = io.StringIO()
    handler = logs.setup("json", "info", stream)
    try:
        async with FakeMX() as mx:
            world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
            world.dns.zone[("gone.test", "MX")] = "NXDOMAIN"
            ids = world.queue(["jane@dest.test", "r550-511.joe@dest.test", "amy@gone.test"])
            metrics = Metrics()
            engine = Engine(world.settings(mx_port=mx.port), world.db, clock=world.clock,
                            worker="test", metrics=metrics)
            with logs.bind(role="worker", worker="test"):
                await engine.drain()
    finally:
        logs.teardown(handler)

    def sample(status: str, step: str) -> float | None:
        return metrics.registry.get_sample_value("bounceloop_messages_total",
                                                 {"status": status, "step": step})

    assert (sample("delivered", "4"), sample("failed", "4"), sample("failed", "1")) == (
        1.0, 1.0, 1.0)
    assert sample("deferred", "4") is None
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    by_recipient = {line["recipient"]: line for line in lines
                    if line["logger"] == "bounceloop.delivery.engine"}
    assert set(by_recipient) == {"jane@dest.test", "r550-511.joe@dest.test", "amy@gone.test"}
    ok, rcpt, dns = (by_recipient[r] for r in ("jane@dest.test", "r550-511.joe@dest.test",
                                                "amy@gone.test"))
    assert {line["message_id"] for line in (ok, rcpt, dns)} == set(ids)
    assert (ok["msg"], ok["status"], ok["step"], ok["code"], ok["level"]) == (
        "delivered", "delivered", 4, "250", "info")
    assert "text" not in ok
    assert (rcpt["status"], rcpt["step"], rcpt["state"], rcpt["code"], rcpt["extended"],
            rcpt["reason"]) == ("failed", 4, "rcptto", "550", "5.1.1", "userunknown")
    assert (dns["status"], dns["step"], dns["state"]) == ("failed", 1, "dns")
    assert all(line["role"] == "worker" and line["worker"] == "test" and line["attempt"] == 1
               and line["time"].endswith("Z") for line in (ok, rcpt, dns))


async def test_no_final_dot_goes_out_before_its_mark_is_committed(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without a journal the database alone marks a message in flight (as on PostgreSQL,
    # for workers on other hosts): a mark that cannot be committed must hold the dot.
    from sqlalchemy.exc import OperationalError

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("UPDATE messages ...", {}, Exception("disk I/O error"))

    async def broken_async(*args: Any, **kwargs: Any) -> None:
        broken()

    monkeypatch.setattr(store, "mark_sending", broken)
    monkeypatch.setattr(inflight.Marks, "mark", broken_async)  # PostgreSQL's marks
    async with FakeMX() as mx:
        world.dns.zone.update(zone_for("dest.test", "127.0.0.1"))
        [mid] = world.queue(["jane@dest.test"])
        with pytest.raises(OperationalError):
            await world.engine(mx_port=mx.port).drain()
        assert mx.messages == []
    assert world.message(mid).status != "delivered"
