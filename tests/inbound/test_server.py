"""The inbound SMTP server on loopback: who may send, what is stored, and the limits.

Every test talks to a real listening server over TCP (aiosmtplib, or raw lines where the
test needs to control the bytes) and reads the database the server wrote.
"""

from __future__ import annotations

import asyncio
import functools
import json
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from bounceloop.config import Settings
from bounceloop.core import verp
from bounceloop.inbound.inbox import Inbox
from bounceloop.inbound.server import InboundServer
from bounceloop.observability.metrics import Metrics
from bounceloop.service import listen
from bounceloop.storage.tables import jobs, received

DOMAIN = "bounces.sender.test"
SECRET = "inbound-test-secret"
DSN = (b"From: MAILER-DAEMON@mx.example\r\nTo: x\r\nSubject: Undelivered Mail\r\n\r\n"
       b"body line\r\n")


def token(message_id: str = "0123456789abcdef", domain: str = DOMAIN) -> str:
    return verp.encode(message_id, domain, SECRET)


def settings(**extra: Any) -> Settings:
    values: dict[str, Any] = {
        "bounce_domain": DOMAIN, "verp_secret": SECRET, "hostname": "bounces.sender.test",
        "smtp_listen": "127.0.0.1:0", "bounce_domains": ["old-bounces.sender.test"],
    }
    values.update(extra)
    return Settings(**values)


@asynccontextmanager
async def serving(engine: Engine, **extra: Any) -> AsyncIterator[tuple[InboundServer, int]]:
    """The server on a free loopback port: it and the port."""
    server = InboundServer(settings(**extra), Inbox(engine), Metrics())
    sock = listen("127.0.0.1", 0)
    await server.start(sock)
    try:
        yield server, sock.getsockname()[1]
    finally:
        await server.close()
        sock.close()


@asynccontextmanager
async def running(engine: Engine, **extra: Any) -> AsyncIterator[tuple[int, Metrics]]:
    async with serving(engine, **extra) as (server, port):
        yield port, server.policy.metrics


def stored(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(select(received).order_by(received.c.id)).all()


async def test_a_dsn_to_a_verp_address_is_stored_with_its_envelope_and_a_job(
        engine: Engine) -> None:
    async with running(engine) as (port, metrics):
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="mx.example")
        await client.connect()
        await client.ehlo()
        # The null reverse-path: how every DSN arrives (RFC 5321 section 4.5.5).
        assert (await client.mail(""))[0] == 250
        assert (await client.rcpt(token()))[0] == 250
        code, reply = await client.data(DSN)
        # The 250 comes after the commit: the row is there the moment we read it.
        rows = stored(engine)
        await client.quit()
    assert code == 250 and reply == f"2.0.0 Stored as {rows[0].id}"
    [row] = rows
    assert bytes(row.raw) == DSN and row.size == len(DSN)
    assert (row.mail_from, json.loads(row.rcpts), row.source, row.peer, row.helo) == (
        "", [token()], "smtp", "127.0.0.1", "mx.example")
    assert row.status == "pending"
    with engine.connect() as conn:
        [job] = conn.execute(select(jobs)).all()
    assert (job.kind, job.ref, job.status) == ("bounce", str(row.id), "pending")
    assert metrics.received.labels("250")._value.get() == 1


@pytest.mark.parametrize(("address", "accepted"), [
    (token(), True),
    (token().upper(), True),                                    # relays may change case
    (token(domain="old-bounces.sender.test"), True),            # a second bounce domain
    ("abuse@bounces.sender.test", True),                        # the complaint address
    ("ABUSE@Bounces.Sender.Test", True),
    (token()[:-len("@" + DOMAIN) - 1] + "x@" + DOMAIN, False),  # tag altered: forged
    ("b-0123456789abcdef-aaaaaaaa@" + DOMAIN, False),           # made-up tag
    (token().replace(DOMAIN, "other.test"), False),             # a foreign domain: no relay
    ("postmaster@" + DOMAIN, True),                             # RFC 5321 section 4.5.1
    ("Postmaster", True),                                       # section 4.1.1.3
    ("postmaster@other.test", False),                           # not a domain of ours
    ("someone@example.org", False),
    ("b-0123456789abcdef@" + DOMAIN, False),                    # no tag at all
])
async def test_rcpt_accepts_only_valid_verp_tokens_and_the_complaint_address(
        engine: Engine, address: str, accepted: bool) -> None:
    async with running(engine) as (port, metrics), \
            aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
        await client.mail("")
        try:
            code, message = await client.rcpt(address)
        except aiosmtplib.SMTPRecipientRefused as exc:
            code, message = exc.code, exc.message
    if accepted:
        assert code == 250
    else:
        assert (code, message) == (550, f"5.1.1 <{address}>: no such bounce address here")
        assert metrics.refused.labels("recipient")._value.get() == 1


async def test_a_forged_recipient_among_good_ones_is_refused_alone(engine: Engine) -> None:
    async with running(engine) as (port, _), \
            aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
        await client.mail("")
        await client.rcpt(token())
        with pytest.raises(aiosmtplib.SMTPRecipientRefused):
            await client.rcpt("b-ffffffffffffffff-aaaaaaaa@" + DOMAIN)
        assert (await client.data(DSN))[0] == 250
    [row] = stored(engine)
    assert json.loads(row.rcpts) == [token()]


async def test_size_is_announced_and_a_30_mb_message_is_refused(engine: Engine) -> None:
    async with running(engine) as (port, _), \
            aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
        await client.ehlo()
        assert client.esmtp_extensions["size"] == str(25 * 1024 * 1024)
        # A sender that declares its size is refused at MAIL (RFC 1870 section 6.1)...
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await client.mail("", options=[f"SIZE={30 * 1000 * 1000}"])
        assert refused.value.code == 552
        # ...and one that does not is refused after DATA, having stored nothing.
        await client.rset()
        await client.mail("")
        await client.rcpt(token())
        big = DSN + b"x" * 998 + b"\r\n"
        big = big * (30 * 1000 * 1000 // len(big) + 1)
        with pytest.raises(aiosmtplib.SMTPDataError) as too_big:
            await client.data(big)
        assert too_big.value.code == 552
        # The session goes on: a normal message afterwards is taken.
        await client.mail("")
        await client.rcpt(token())
        assert (await client.data(DSN))[0] == 250
    assert [bytes(r.raw) for r in stored(engine)] == [DSN]


async def test_ehlo_announces_pipelining_and_helo_names_are_kept(engine: Engine) -> None:
    """RFC 2920 section 3.1: a client pipelines only when EHLO's reply says PIPELINING."""
    async with running(engine) as (port, _), \
            aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="mx.example"
                            ) as client:
        await client.ehlo()
        assert {"pipelining", "size", "8bitmime", "smtputf8"} <= set(client.esmtp_extensions)
        await client.mail("")
        await client.rcpt(token())
        assert (await client.data(DSN))[0] == 250
    [row] = stored(engine)
    assert row.helo == "mx.example"


async def test_smtputf8_8bitmime_and_long_lines_are_taken(engine: Engine) -> None:
    body = ("From: postmaster@exämple.test\r\nSubject: Unzustellbar\r\n\r\n"
            "Grüße ").encode() + b"y" * 5000 + b"\r\n"
    async with running(engine) as (port, _), \
            aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
        await client.ehlo()
        assert {"smtputf8", "8bitmime"} <= set(client.esmtp_extensions)
        await client.mail("postmaster@exämple.test", options=["SMTPUTF8", "BODY=8BITMIME"],
                          encoding="utf-8")
        await client.rcpt(token())
        assert (await client.data(body))[0] == 250
    [row] = stored(engine)
    assert bytes(row.raw) == body and row.mail_from == "postmaster@exämple.test"


async def dialogue(port: int, lines: bytes, replies: int, timeout: float = 10
                   ) -> list[bytes]:
    """Write raw bytes at once (pipelined), read ``replies`` reply lines after the banner."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await reader.readline()
        writer.write(lines)
        await writer.drain()
        out = []
        while len(out) < replies:
            line = await asyncio.wait_for(reader.readline(), timeout)
            if not line:
                break
            if line[3:4] == b" ":
                out.append(line.rstrip())
        return out
    finally:
        writer.close()


async def test_pipelined_commands_are_answered_in_order(engine: Engine) -> None:
    t = token().encode()
    script = (b"EHLO peer.test\r\nMAIL FROM:<>\r\nRCPT TO:<" + t + b">\r\n"
              b"RCPT TO:<nobody@example.org>\r\nDATA\r\n" + DSN + b".\r\n"
              b"MAIL FROM:<>\r\nRCPT TO:<" + t + b">\r\nDATA\r\n" + DSN + b".\r\nQUIT\r\n")
    async with running(engine) as (port, _):
        replies = await dialogue(port, script, 11)
    codes = [r[:3] for r in replies]
    assert codes == [b"250", b"250", b"250", b"550", b"354", b"250", b"250", b"250", b"354",
                     b"250", b"221"]
    assert len(stored(engine)) == 2


async def read_reply(reader: asyncio.StreamReader) -> bytes:
    """One whole reply (all its lines)."""
    reply = b""
    while (line := await asyncio.wait_for(reader.readline(), 10))[3:4] == b"-":
        reply += line
    return reply + line


async def test_a_pipelining_peer_is_not_held_up(engine: Engine) -> None:
    """RFC 2920: a peer that sends MAIL, RCPT and DATA in one write gets the three replies
    at once. Written one by one without TCP_NODELAY, the second waited behind Nagle's
    algorithm for the peer's delayed ACK: 40 ms or more a message. The bound is far from
    that; the time is of each group (write to 354), not of the commit after the dot."""
    t = token().encode()
    group = b"MAIL FROM:<>\r\nRCPT TO:<" + t + b">\r\nDATA\r\n"
    loop = asyncio.get_running_loop()
    async with running(engine) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await read_reply(reader)
        times, codes = [], []
        for n in range(10):
            started = loop.time()
            writer.write((b"EHLO peer.test\r\n" if n == 0 else b"") + group)
            codes += [(await read_reply(reader))[:3] for _ in range(4 if n == 0 else 3)]
            times.append(loop.time() - started)
            writer.write(DSN + f"n={n}\r\n.\r\n".encode())
            codes.append((await read_reply(reader))[:3])
        writer.write(b"QUIT\r\n")
        codes.append((await read_reply(reader))[:3])
        writer.close()
    assert codes == [b"250"] + [b"250", b"250", b"354", b"250"] * 10 + [b"221"]
    assert len(stored(engine)) == 10
    assert sum(times) < 10 * 0.02, [round(x * 1000, 1) for x in times]


#: Where struct tcp_info (linux/tcp.h) keeps tcpi_data_segs_in, the segments that carried
#: data, which came in on the socket (Linux 4.6 and later).
DATA_SEGS_IN = 152


def data_segments_in(writer: asyncio.StreamWriter) -> int:
    info = writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO,
                                                       DATA_SEGS_IN + 4)
    return int(struct.unpack_from("I", info, DATA_SEGS_IN)[0])


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's")
async def test_the_replies_to_a_pipelined_group_come_in_one_segment(engine: Engine) -> None:
    """RFC 2920 section 3.2: the replies to a group in as few packets as possible. Counted
    by the peer's kernel: one data segment for EHLO's lines, one for MAIL, the RCPTs (a
    refused one too) and DATA, one for the reply after the dot with the next group's."""
    t = token().encode()
    group = (b"MAIL FROM:<>\r\nRCPT TO:<" + t + b">\r\nRCPT TO:<nobody@example.org>\r\n"
             b"DATA\r\n")
    async with running(engine) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await read_reply(reader)
        segments = []

        async def replies(data: bytes, n: int) -> list[bytes]:
            before = data_segments_in(writer)
            writer.write(data)
            out = [(await read_reply(reader))[:3] for _ in range(n)]
            segments.append(data_segments_in(writer) - before)
            return out

        assert await replies(b"EHLO peer.test\r\n", 1) == [b"250"]
        assert await replies(group, 4) == [b"250", b"250", b"550", b"354"]
        for n in range(3):
            # The message, its dot and the next group in one write (RFC 2920 section 3.1:
            # the content may be the first "command" of a group).
            assert await replies(DSN + f"n={n}\r\n.\r\n".encode() + group, 5) == [
                b"250", b"250", b"250", b"550", b"354"]
        assert await replies(DSN + b".\r\nQUIT\r\n", 2) == [b"250", b"221"]
        writer.close()
    assert segments == [1] * 6
    assert len(stored(engine)) == 4


async def test_every_accepted_socket_has_tcp_nodelay(engine: Engine) -> None:
    """The listener comes from socket.create_server, whose protocol number is 0: asyncio
    sets TCP_NODELAY only where it is IPPROTO_TCP, so the server sets it itself."""
    async with serving(engine) as (server, port):
        clients = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        for reader, _ in clients:
            await read_reply(reader)
        accepted = [s.transport.get_extra_info("socket") for s in server.gate.sessions
                    if s.transport is not None]
        assert [a.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for a in accepted] == [
            1, 1, 1]
        for _, writer in clients:
            writer.close()


async def test_a_bare_lf_dot_does_not_end_data(engine: Engine) -> None:
    """SMTP smuggling: only <CRLF>.<CRLF> ends DATA; a smuggled second message stays text."""
    t = token().encode()
    smuggled = (b"Subject: one\r\n\r\nfirst\n.\r\nMAIL FROM:<>\r\nRCPT TO:<" + t +
                b">\r\nDATA\r\nSubject: smuggled\r\n\r\nsecond\r\n")
    script = (b"EHLO peer.test\r\nMAIL FROM:<>\r\nRCPT TO:<" + t + b">\r\nDATA\r\n" +
              smuggled + b".\r\nQUIT\r\n")
    async with running(engine) as (port, _):
        replies = await dialogue(port, script, 6)
    assert [r[:3] for r in replies] == [b"250", b"250", b"250", b"354", b"250", b"221"]
    [row] = stored(engine)
    assert bytes(row.raw) == smuggled


async def test_a_stalled_peer_is_dropped_and_one_slow_in_total_too(engine: Engine) -> None:
    async with running(engine, smtp_command_timeout=0.5, smtp_session_timeout=1.5) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        # Silent after the greeting: the command timeout closes the connection.
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        # Busy but never finishing (a HELO, which is progress, every 0.3 s): the session
        # timeout ends it.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        loop = asyncio.get_running_loop()
        started = loop.time()
        closed = False
        while loop.time() - started < 5:
            writer.write(b"HELO peer.test\r\n")
            reply = await asyncio.wait_for(reader.readline(), 5)
            if not reply:
                closed = True
                break
            await asyncio.sleep(0.3)
        writer.close()
    assert closed and 1.4 < loop.time() - started < 3


@pytest.mark.parametrize("keepalive", [b"NOOP", b"RSET", b"HELP", b"VRFY <x@y.test>",
                                       b"XYZZY"])
async def test_idle_commands_do_not_hold_a_session_past_the_command_timeout(
        engine: Engine, keepalive: bytes) -> None:
    """A client that sends only NOOP (or RSET, HELP, VRFY, an unknown verb) every 0.2 s is
    closed at the command timeout, not kept to the session timeout (60 s here)."""
    async with running(engine, smtp_command_timeout=0.5, smtp_session_timeout=60) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        writer.write(b"HELO peer.test\r\n")
        assert (await reader.readline()).startswith(b"250 ")
        loop = asyncio.get_running_loop()
        started = loop.time()
        replies = []
        while loop.time() - started < 5:
            writer.write(keepalive + b"\r\n")
            reply = await asyncio.wait_for(reader.readline(), 5)
            if not reply:
                break
            replies.append(reply[:3])
            await asyncio.sleep(0.2)
        writer.close()
    # Answered meanwhile (250, 252 or 500: the command was read, it just moved nothing on).
    assert replies and set(replies) <= {b"250", b"252", b"500"}, replies
    assert 0.4 < loop.time() - started < 1.5


async def connect_from(address: str, port: int) -> tuple[asyncio.StreamReader,
                                                          asyncio.StreamWriter]:
    """A connection to the server from this loopback address (any of 127.0.0.0/8)."""
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))


async def test_sessions_over_the_per_client_cap_get_421_and_other_clients_go_on(
        engine: Engine) -> None:
    async with running(engine, smtp_max_sessions_per_client=2,
                       smtp_client_limit_exceptions=["127.0.0.3/32"]) as (port, metrics):
        held = [await connect_from("127.0.0.1", port) for _ in range(2)]
        for reader, _ in held:
            assert (await reader.readline()).startswith(b"220 ")
        # A third from the same address: told so and closed (Postfix answers 421 4.7.0 to
        # one over smtpd_client_connection_count_limit).
        reader, writer = await connect_from("127.0.0.1", port)
        assert await reader.readline() == (
            b"421 4.7.0 Too many connections from 127.0.0.1; try again later\r\n")
        assert await reader.read() == b""
        writer.close()
        # Another client has its own count: two sessions, the second delivers a DSN.
        other = await connect_from("127.0.0.2", port)
        assert (await other[0].readline()).startswith(b"220 ")
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port,
                                   source_address=("127.0.0.2", 0)) as client:
            await client.mail("")
            await client.rcpt(token())
            assert (await client.data(DSN))[0] == 250
        # An address among the exceptions is not counted at all.
        exempt = [await connect_from("127.0.0.3", port) for _ in range(3)]
        for reader, _ in exempt:
            assert (await reader.readline()).startswith(b"220 ")
        # One of the first client's leaves: it may have another.
        held[0][1].close()
        await asyncio.sleep(0.2)
        reader, writer = await connect_from("127.0.0.1", port)
        assert (await reader.readline()).startswith(b"220 ")
        for _, w in [*held[1:], other, *exempt, (reader, writer)]:
            w.close()
    assert metrics.refused.labels("client")._value.get() == 1
    assert [r.peer for r in stored(engine)] == ["127.0.0.2"]


async def test_sessions_over_the_cap_get_421(engine: Engine) -> None:
    async with running(engine, smtp_max_sessions=2) as (port, metrics):
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        for reader, _ in held:
            assert (await reader.readline()).startswith(b"220 ")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await reader.readline() == b"421 4.3.2 Too many connections; try again later\r\n"
        assert await reader.read() == b""
        writer.close()
        # One leaves: the next one is served.
        held[0][1].close()
        await asyncio.sleep(0.2)
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
            assert (await client.noop())[0] == 250
        for _, w in held[1:]:
            w.close()
    assert metrics.refused.labels("sessions")._value.get() == 1


async def test_postmaster_is_taken_and_stored_like_mail_to_the_complaint_address(
        engine: Engine) -> None:
    """RFC 5321 section 4.5.1: postmaster at every domain we take mail for, in any case;
    section 4.1.1.3: the bare ``<Postmaster>``. Stored as it came, like abuse@'s mail:
    what it means is for processing to say."""
    postmasters = ["postmaster@" + DOMAIN, "POSTMASTER@Old-Bounces.Sender.Test",
                   "Postmaster", "postmaster"]
    async with running(engine) as (port, _), \
            aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
        for n, rcpt in enumerate(["abuse@" + DOMAIN, *postmasters]):
            await client.mail("someone@example.org")
            assert (await client.rcpt(rcpt))[0] == 250, rcpt
            assert (await client.data(DSN + f"n={n}\r\n".encode()))[0] == 250
    rows = stored(engine)
    assert [json.loads(r.rcpts) for r in rows] == [
        ["abuse@" + DOMAIN], *([p] for p in postmasters)]
    assert {(r.mail_from, r.status, r.source) for r in rows} == {
        ("someone@example.org", "pending", "smtp")}
    with engine.connect() as conn:
        jobs_of = {(j.kind, j.ref) for j in conn.execute(select(jobs))}
    assert jobs_of == {("bounce", str(r.id)) for r in rows}


async def test_starttls_with_the_configured_certificate(engine: Engine, tmp_path: Path
                                                        ) -> None:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("bounces.sender.test")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with running(engine, smtp_tls_cert=tmp_path / "cert.pem",
                       smtp_tls_key=tmp_path / "key.pem") as (port, _):
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False,
                                 tls_context=client_context)
        await client.connect()
        await client.ehlo()
        assert "starttls" in client.esmtp_extensions
        await client.starttls(server_hostname="bounces.sender.test")
        assert client.get_transport_info("sslcontext") is not None
        await client.mail("")
        await client.rcpt(token())
        assert (await client.data(DSN))[0] == 250
        await client.quit()
    assert len(stored(engine)) == 1


async def test_no_starttls_without_a_certificate(engine: Engine) -> None:
    async with running(engine) as (port, _), \
            aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
        await client.ehlo()
        assert "starttls" not in client.esmtp_extensions


async def test_a_message_that_cannot_be_stored_gets_451_not_250(engine: Engine) -> None:
    # A real storage failure: the table is gone (as with a full disk, the write fails).
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE received"))
    async with running(engine) as (port, metrics), \
            aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
        await client.mail("")
        await client.rcpt(token())
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await client.data(DSN)
    assert (refused.value.code, refused.value.message) == (
        451, "4.3.0 Could not store the message now; try again later")
    assert metrics.received.labels("451")._value.get() == 1
    with engine.connect() as conn:
        assert conn.execute(select(jobs)).all() == []


async def test_many_sessions_at_once_share_commits_and_each_gets_its_own_id(
        engine: Engine) -> None:
    async def one(n: int) -> str:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
            await client.mail("")
            await client.rcpt(token())
            code, reply = await client.data(DSN + f"n={n}\r\n".encode())
            assert code == 250
            return reply

    async with running(engine) as (port, _):
        replies = await asyncio.gather(*(one(n) for n in range(40)))
    rows = stored(engine)
    assert sorted(replies) == sorted(f"2.0.0 Stored as {r.id}" for r in rows)
    assert sorted(bytes(r.raw) for r in rows) == sorted(
        DSN + f"n={n}\r\n".encode() for n in range(40))


_PATH_PIECES = ["<", ">", "@", ".", "a", "Z", "0", "+", "-", "_", "'", "=", " ", "\t", "(",
                ")", '"', "\\", ":", ",", "[", "]", "é", "SIZE=12", " BODY=8BITMIME",
                "jo", "dest.test", "<>", "<jo@dest.test>"]


@given(st.lists(st.sampled_from(_PATH_PIECES), max_size=12).map("".join),
       st.sampled_from([0, 3, 64]))
@hyp_settings(max_examples=3000, deadline=None)
def test_mail_and_rcpt_arguments_read_as_aiosmtpd_reads_them(arg: str, limit: int) -> None:
    """The inbound server reads the usual ``<local@domain> PARAMS`` itself (issue 17: a
    tenth of the event loop's time went to aiosmtpd's reading); every argument, usual or
    not, must come out as aiosmtpd's own _getaddr has it."""
    from aiosmtpd.smtp import SMTP

    from bounceloop.inbound.server import _Session

    def outcome(read: Any, text: str) -> Any:
        # aiosmtpd's reading raises on some odd arguments (email's parser, 1.4.6): the
        # session must then raise the same.
        try:
            return read(text)
        except Exception as exc:
            return type(exc)

    session = object.__new__(_Session)  # _getaddr reads only local_part_limit
    session.local_part_limit = limit
    theirs = functools.partial(SMTP._getaddr, session)
    assert outcome(session._getaddr, arg) == outcome(theirs, arg)
    for usual in ("<jo@dest.test>", " <jo.x+y@a-b.dest.test> SIZE=12", "<>", "<> SIZE=1"):
        assert session._getaddr(usual) == theirs(usual)
