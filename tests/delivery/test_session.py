"""Steps 2-4 over real sockets: every way an SMTP server can say no, or say nothing."""

from __future__ import annotations

import ssl

import pytest

from bounceloop.delivery import session
from bounceloop.delivery.resolver import Target
from bounceloop.delivery.result import StepResult
from bounceloop.delivery.session import Connection, Next, Timeouts, prepare, xtext
from bounceloop.testing import FakeMX, ScriptedPeer, blackhole_port, closed_port, tls_contexts

FAST = Timeouts(connect=0.5, greeting=0.5, command=0.5, data=0.5)
CONTENT = prepare(b"From: a@example.org\nSubject: t\n\n.leading dot\nbody\n")


def _conn(port: int, host: str = "127.0.0.1", tls: str = "opportunistic") -> Connection:
    return Connection(Target("mx.test", host, port), "client.example.org", FAST, tls)


async def _one(mx: FakeMX, rcpt: str = "jane@example.net") -> StepResult:
    conn = _conn(mx.port, mx.host)
    opened = await conn.open()
    assert opened is None
    results = await conn.transaction("b-1@bounce.example.org", [rcpt], CONTENT, envid="m1")
    await conn.close()
    return results[rcpt]


async def test_delivery_with_dsn_parameters_and_dot_stuffing() -> None:
    async with FakeMX(host="127.0.0.1") as mx:
        result = await _one(mx)
        assert (result.state, result.result, result.code) == ("message", "accepted", "250")
        msg = mx.messages[0]
        assert msg.mail_from == "b-1@bounce.example.org"
        # Sent as "..leading dot" (RFC 5321 4.5.2); the server removed the stuffing.
        assert msg.data == b"From: a@example.org\r\nSubject: t\r\n\r\n.leading dot\r\nbody\r\n"
        assert msg.mail_params == {"SIZE": str(len(CONTENT)), "RET": "HDRS", "ENVID": "m1"}
        assert msg.rcpt_params[0] == {"NOTIFY": "FAILURE", "ORCPT": "rfc822;jane@example.net"}


@pytest.mark.parametrize(
    ("command", "reply", "state", "code", "extended", "permanent", "errortype"),
    [
        ("MAIL", "553 5.1.8 sender domain does not exist", "mailfrom", "553", "5.1.8", True,
         "error"),
        ("DATA", "554 5.7.1 no thanks", "data", "554", "5.7.1", True, "error"),
        ("DATA_END", "552 5.2.2 message too big for quota", "message", "552", "5.2.2", True,
         "error"),
        ("DATA_END", "451 4.3.0 try later", "message", "451", "4.3.0", False, "error"),
        ("MAIL", "421 4.3.2 shutting down", "mailfrom", "421", "4.3.2", False, "error"),
    ],
)
async def test_refusals_at_each_state(command: str, reply: str, state: str, code: str,
                                      extended: str, permanent: bool, errortype: str) -> None:
    async with FakeMX(host="127.0.0.1") as mx:
        mx.fail_next(command, reply)
        result = await _one(mx)
    assert (result.state, result.step, result.code, result.extended) == (state, 4, code,
                                                                          extended)
    assert result.permanent is permanent
    assert result.errortype == errortype


async def test_each_recipient_is_answered_on_its_own() -> None:
    async with FakeMX(host="127.0.0.1") as mx:
        conn = _conn(mx.port)
        assert await conn.open() is None
        rcpts = ["ok@example.net", "r550-511.bob@example.net", "r452-422.carol@example.net"]
        results = await conn.transaction("s@example.org", rcpts, CONTENT)
        await conn.close()
        assert results["ok@example.net"].ok
        unknown = results["r550-511.bob@example.net"]
        full = results["r452-422.carol@example.net"]
        assert (unknown.state, unknown.code, unknown.extended, unknown.permanent) == (
            "rcptto", "550", "5.1.1", True)
        assert (full.state, full.code, full.extended, full.permanent) == (
            "rcptto", "452", "4.2.2", False)
        assert mx.messages[0].rcpt_tos == ["ok@example.net"]


async def test_421_at_rcpt_fails_the_rest_and_closes() -> None:
    async with FakeMX(host="127.0.0.1") as mx:
        mx.fail_next("RCPT", "421 4.7.0 too many errors")
        conn = _conn(mx.port)
        assert await conn.open() is None
        results = await conn.transaction("s@example.org", ["a@x.test", "b@x.test"], CONTENT)
        assert {r.code for r in results.values()} == {"421"}
        assert not conn.alive
        assert mx.messages == []


@pytest.mark.parametrize("command", ["MAIL", "RCPT", "DATA", "DATA_END"])
async def test_timeouts_at_each_state(command: str) -> None:
    state = {"MAIL": "mailfrom", "RCPT": "rcptto", "DATA": "data", "DATA_END": "message"}
    async with FakeMX(host="127.0.0.1") as mx:
        mx.stall_next(command, 2.0)
        result = await _one(mx)
    assert (result.state, result.result, result.extended) == (state[command], "timeout",
                                                              "4.4.2")
    assert not result.permanent
    assert result.errortype == "unexpected"


async def test_connection_reuse_with_rset() -> None:
    async with FakeMX(host="127.0.0.1") as mx:
        conn = _conn(mx.port)
        assert await conn.open() is None
        for i in range(3):
            if i:
                assert await conn.reset()
            got = await conn.transaction(f"s{i}@example.org", [f"r{i}@x.test"], CONTENT)
            assert got[f"r{i}@x.test"].ok
        await conn.close()
        assert mx.connections == 1
        assert [m.mail_from for m in mx.messages] == ["s0@example.org", "s1@example.org",
                                                       "s2@example.org"]


async def test_the_next_transaction_goes_out_with_the_final_dot() -> None:
    # The peer does not answer the first final dot until the next MAIL, RCPT and DATA have
    # arrived: a client that waited for the reply first would time out here.
    script = [("send", "220 hi\r\n"), ("expect", "EHLO"),
              ("send", "250-mx.test\r\n250 PIPELINING\r\n"),
              ("expect", "MAIL FROM:<s0@"), ("expect", "RCPT TO:<r0@"), ("expect", "DATA"),
              ("send", "250 ok\r\n250 ok\r\n354 go\r\n"), ("expect_data",),
              ("expect", "MAIL FROM:<s1@"), ("expect", "RCPT TO:<r1@"), ("expect", "DATA"),
              ("send", "250 queued 0\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
              ("expect_data",), ("send", "250 queued 1\r\n")]
    async with ScriptedPeer(script, host="127.0.0.1") as peer:  # type: ignore[arg-type]
        conn = _conn(peer.port)
        assert await conn.open() is None
        then = Next("s1@example.org", ["r1@x.test"], CONTENT)
        got = await conn.transaction("s0@example.org", ["r0@x.test"], CONTENT, then=then)
        assert got["r0@x.test"].ok and "queued 0" in got["r0@x.test"].description
        assert conn.ahead is then
        got = await conn.transaction("s1@example.org", ["r1@x.test"], CONTENT)
        assert got["r1@x.test"].ok and "queued 1" in got["r1@x.test"].description
        assert conn.ahead is None
        await conn.close()
    session = peer.sessions[0]
    assert session.errors == [] and len(session.data) == 2
    assert not any(line.startswith(b"RSET") for line in session.received)


async def test_nothing_goes_ahead_without_a_final_dot_or_pipelining() -> None:
    async with FakeMX(host="127.0.0.1") as mx:
        conn = _conn(mx.port)
        assert await conn.open() is None
        then = Next("s1@example.org", ["r1@x.test"], CONTENT)
        mx.fail_next("RCPT", "550 5.1.1 no such user")
        got = await conn.transaction("s0@example.org", ["r0@x.test"], CONTENT, then=then)
        assert got["r0@x.test"].code == "550" and conn.ahead is None  # no dot was written
        await conn.close()
    async with FakeMX(host="127.0.0.1", pipelining=False) as mx:
        conn = _conn(mx.port)
        assert await conn.open() is None
        got = await conn.transaction("s0@example.org", ["r0@x.test"], CONTENT, then=then)
        assert got["r0@x.test"].ok and conn.ahead is None
        await conn.close()
        assert [cmd.split()[0] for _, cmd in mx.commands] == [
            "EHLO", "MAIL", "RCPT", "DATA", "QUIT"]


async def test_a_421_to_the_final_dot_leaves_nothing_ahead() -> None:
    async with FakeMX(host="127.0.0.1") as mx:
        conn = _conn(mx.port)
        assert await conn.open() is None
        mx.fail_next("DATA_END", "421 4.3.2 going down")
        then = Next("s1@example.org", ["r1@x.test"], CONTENT)
        got = await conn.transaction("s0@example.org", ["r0@x.test"], CONTENT, then=then)
        assert got["r0@x.test"].code == "421"
        assert conn.ahead is None and not conn.alive
    assert mx.messages == []


async def test_refused_and_silent_ports() -> None:
    refused = await _conn(closed_port()).open()
    assert refused is not None
    assert (refused.state, refused.step, refused.result, refused.extended) == (
        "connect", 2, "refused", "4.4.1")
    assert refused.errortype == "unreachable" and not refused.permanent
    with blackhole_port() as port:
        silent = await _conn(port).open()
    assert silent is not None and (silent.state, silent.result) == ("connect", "timeout")


@pytest.mark.parametrize(
    ("script", "state", "result", "code", "errortype", "permanent"),
    [
        ([("send", "554 5.7.1 no service for you\r\n")], "greeting", "error", "554", "error",
         True),
        ([("send", "421 4.3.2 busy\r\n")], "greeting", "error", "421", "unexpected", False),
        ([("stall", 2.0)], "greeting", "timeout", "", "unexpected", False),
        ([("garbage", b"\x00\xffthis is not smtp\r\n")], "greeting", "invalid", "",
         "unexpected", False),
        ([("send", "220 hi\r\n"), ("expect", "EHLO"),
          ("send", "550-5.7.1 we do not talk\r\n550 5.7.1 to you\r\n")], "ehlo", "error", "550",
         "error", True),
        ([("send", "220 hi\r\n"), ("expect", "EHLO"), ("close",)], "ehlo", "lost", "",
         "unexpected", False),
        ([("send", "220 hi\r\n"), ("expect", "EHLO"), ("stall", 2.0)], "ehlo", "timeout", "",
         "unexpected", False),
    ],
)
async def test_broken_greetings(script: list[tuple[object, ...]], state: str, result: str,
                                code: str, errortype: str, permanent: bool) -> None:
    async with ScriptedPeer(script, host="127.0.0.1") as peer:  # type: ignore[arg-type]
        got = await _conn(peer.port).open()
    assert got is not None
    assert (got.state, got.step, got.result, got.code) == (state, 3, result, code)
    assert got.errortype == errortype
    assert got.permanent is permanent


async def test_helo_fallback_for_old_servers() -> None:
    script = [("send", "220 old\r\n"), ("expect", "EHLO"), ("send", "502 what?\r\n"),
              ("expect", "HELO"), ("send", "250 old.example\r\n"), ("expect", "MAIL FROM"),
              ("send", "250 ok\r\n"), ("expect", "RCPT TO"), ("send", "250 ok\r\n"),
              ("expect", "DATA"), ("send", "354 go\r\n"), ("expect_data",),
              ("send", "250 queued\r\n"), ("expect", "QUIT"), ("send", "221 bye\r\n")]
    async with ScriptedPeer(script, host="127.0.0.1") as peer:  # type: ignore[arg-type]
        conn = _conn(peer.port)
        assert await conn.open() is None
        got = await conn.transaction("s@example.org", ["r@x.test"], CONTENT, envid="x")
        await conn.close()
        assert got["r@x.test"].ok
        # No DSN offered by an old server: no DSN parameters sent.
        assert not any("RET=" in line for line in peer.received)


async def test_garbage_and_a_dropped_line_mid_transaction() -> None:
    script = [("send", "220 hi\r\n"), ("expect", "EHLO"), ("send", "250 ok\r\n"),
              ("expect", "MAIL"), ("send", "250 ok\r\n"), ("expect", "RCPT"),
              ("garbage", b"\x01\x02 nonsense\r\n")]
    async with ScriptedPeer(script, host="127.0.0.1") as peer:  # type: ignore[arg-type]
        conn = _conn(peer.port)
        assert await conn.open() is None
        got = (await conn.transaction("s@example.org", ["r@x.test"], CONTENT))["r@x.test"]
    assert (got.state, got.result, got.extended) == ("rcptto", "invalid", "4.5.0")
    script = [("send", "220 hi\r\n"), ("expect", "EHLO"), ("send", "250 ok\r\n"),
              ("expect", "MAIL"), ("send", "250 ok\r\n"), ("expect", "RCPT"),
              ("send", "250 ok\r\n"), ("expect", "DATA"), ("reset",)]
    async with ScriptedPeer(script, host="127.0.0.1") as peer:  # type: ignore[arg-type]
        conn = _conn(peer.port)
        assert await conn.open() is None
        got = (await conn.transaction("s@example.org", ["r@x.test"], CONTENT))["r@x.test"]
    assert (got.state, got.result) == ("data", "lost")
    assert not got.permanent


async def test_starttls_opportunistic_and_required() -> None:
    tls = tls_contexts("mx.test")
    async with FakeMX(host="127.0.0.1", tls_context=tls.server) as mx:
        conn = _conn(mx.port)
        assert await conn.open() is None
        assert conn.encrypted
        assert (await conn.transaction("s@example.org", ["r@x.test"], CONTENT))["r@x.test"].ok
        await conn.close()
        assert mx.messages[0].tls
    # A server that offers no STARTTLS: fine when opportunistic, a failure when required.
    async with FakeMX(host="127.0.0.1") as mx:
        assert await _conn(mx.port).open() is None
        required = await _conn(mx.port, tls="required").open()
    assert required is not None and (required.state, required.result) == ("starttls", "tls")


def test_tls_context_is_the_default_client_context_unverified() -> None:
    """The client context is create_default_context()'s (protocols, options, ciphers) with
    verification off, and without the system CA store it would load for nothing."""
    default = ssl.create_default_context()
    ours = session._tls_context()
    assert (ours.protocol, ours.options, ours.minimum_version, ours.maximum_version) == (
        default.protocol, default.options, default.minimum_version, default.maximum_version)
    assert ours.get_ciphers() == default.get_ciphers()
    assert (ours.verify_mode, ours.check_hostname) == (ssl.CERT_NONE, False)
    assert ours.get_ca_certs() == []


async def test_broken_tls_falls_back_to_plain_text() -> None:
    script = [("send", "220 hi\r\n"), ("expect", "EHLO"), ("send", "250-hi\r\n250 STARTTLS\r\n"),
              ("expect", "STARTTLS"), ("send", "220 go ahead\r\n"),
              ("garbage", b"definitely not a TLS server hello\r\n")]
    plain = [("send", "220 hi\r\n"), ("expect", "EHLO"), ("send", "250 hi\r\n"),
             ("expect", "QUIT"), ("send", "221 bye\r\n")]
    async with ScriptedPeer(script, plain, host="127.0.0.1") as peer:  # type: ignore[arg-type]
        conn = _conn(peer.port)
        assert await conn.open() is None
        assert not conn.encrypted
        await conn.close()
    async with ScriptedPeer(script, host="127.0.0.1") as peer:  # type: ignore[arg-type]
        got = await _conn(peer.port, tls="required").open()
    assert got is not None and got.state == "starttls" and not got.permanent


def test_xtext() -> None:
    assert xtext("a+b=c d@é") == "a+2Bb+3Dc+20d@+E9"
