"""The inbound SMTP server under abuse, over loopback: crowds of idle connections, senders
that trickle, lines and commands far too long, garbage of every kind, sessions that collect
errors, and more DATA at once than memory is allowed for.

What each test asks of the real server (InboundServer on 127.0.0.1, as in test_server.py,
which has the plain limits: a stalled peer, idle commands, the session caps, 30 MB,
pipelining, bare LF):
a clear 4xx/5xx reply or a closed connection, never a crash, a hang or a traceback in the
log; nothing in the database but what was answered 250; memory and file descriptors
bounded; and a good sender served meanwhile and afterwards (its DSN stored, its 250).
Clients are raw sockets where the bytes matter, aiosmtplib where they do not.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tracemalloc
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import aiosmtplib
import pytest
from sqlalchemy import Engine, func, select

from bounceloop.inbound.server import RUN_LIMIT
from bounceloop.storage.tables import jobs
from tests.inbound.test_server import DSN, serving, stored, token

TOKEN = token().encode()
EHLO = b"EHLO peer.test\r\n"


class Raw:
    """A client that writes bytes exactly as given and reads whole replies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> Raw:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def reply(self, timeout: float = 10) -> bytes:
        """The last line of the next reply (``250 OK``), or b"" when the server closed."""
        while True:
            try:
                line = await asyncio.wait_for(self.reader.readline(), timeout)
            except ConnectionError:
                return b""
            if not line or line[3:4] != b"-":
                return line.rstrip(b"\r\n")

    async def write(self, data: bytes, chunk: int = 64 * 1024) -> bool:
        """Write ``data`` in chunks (so neither side holds it whole); False if closed."""
        try:
            for i in range(0, len(data), chunk):
                self.writer.write(data[i:i + chunk])
                await self.writer.drain()
        except ConnectionError:
            return False
        return True

    async def send(self, line: bytes) -> bytes:
        await self.write(line)
        return await self.reply()

    async def closed(self, timeout: float) -> bool:
        """Whether the server closes the connection within ``timeout`` (what it still
        sends is read and dropped)."""
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except ConnectionError:
            pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with suppress(ConnectionError):
            await self.writer.wait_closed()


async def good_sender(port: int, n: int = 0) -> bytes:
    """A well-behaved client's DSN: the bytes it sent, after asserting its 250."""
    raw = DSN + f"good sender {n}\r\n".encode()
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10) as client:
        await client.ehlo()
        await client.mail("")
        await client.rcpt(token())
        code, reply = await client.data(raw)
    assert code == 250 and reply.startswith("2.0.0 Stored as "), (code, reply)
    return raw


def assert_stored(engine: Engine, raws: list[bytes]) -> None:
    """Exactly these messages are stored (in any order), each with its processing job."""
    rows = stored(engine)
    assert sorted(bytes(r.raw) for r in rows) == sorted(raws)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(jobs)).scalar_one() == len(rows)


async def until(condition: Callable[[], bool], timeout: float = 5) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Any:
    """After the test: nothing logged at ERROR (aiosmtpd logs a handler's exception there,
    with a traceback, before it answers ``500 Error: (...)``; asyncio logs lost tasks)."""
    caplog.set_level(logging.ERROR)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]


# ---------------------------------------------------------------------------------------------
# Many idle connections
# ---------------------------------------------------------------------------------------------

async def test_a_crowd_of_idle_connections_is_capped_timed_out_and_released(
        engine: Engine, no_errors_logged: None) -> None:
    fds = open_fds()
    timeout = 2.0
    loop = asyncio.get_running_loop()
    # The crowd comes from one address: the cap per client (tested in test_server.py) is
    # off, so that this is about the cap on all sessions.
    async with serving(engine, smtp_max_sessions=250, smtp_command_timeout=timeout,
                       smtp_session_timeout=60, smtp_max_sessions_per_client=0
                       ) as (server, port):
        started = loop.time()
        crowd = await asyncio.gather(*(Raw.connect(port) for _ in range(300)))
        greetings = await asyncio.gather(*(c.reply() for c in crowd))
        idle = [c for c, g in zip(crowd, greetings, strict=True) if g.startswith(b"220 ")]
        over = [c for c, g in zip(crowd, greetings, strict=True)
                if g == b"421 4.3.2 Too many connections; try again later"]
        # The cap holds: 250 sessions, the 50 over it told so and closed at once.
        assert (len(idle), len(over)) == (250, 50)
        assert len(server.gate.sessions) == 250
        assert all(await asyncio.gather(*(c.closed(2) for c in over)))
        # Full: a sender arriving now is refused at once as well, not left waiting.
        late = await Raw.connect(port)
        assert (await late.reply()).startswith(b"421 4.3.2")
        await late.close()
        # One idle connection leaves: the next sender is served beside the 249 others.
        await idle.pop().close()
        await until(lambda: len(server.gate.sessions) == 249)
        good = await good_sender(port)
        assert len(server.gate.sessions) == 249, "the crowd timed out before the sender"
        # Never a word from them: each is dropped by the command timeout, and its session
        # and socket with it.
        assert all(await asyncio.gather(*(c.closed(timeout + 8) for c in idle)))
        assert timeout - 0.1 <= loop.time() - started < timeout + 8
        await until(lambda: not server.gate.sessions)
        for c in crowd:
            await c.close()
    assert_stored(engine, [good])
    # Every socket of the 301 connections is closed (the engine's pool keeps a few files).
    assert open_fds() <= fds + 10


# ---------------------------------------------------------------------------------------------
# Slow senders
# ---------------------------------------------------------------------------------------------

async def trickle(port: int, prelude: list[bytes], drip: bytes, every: float = 0.05
                  ) -> float:
    """A client that says ``prelude`` (each line answered 2xx/3xx), then writes ``drip``
    over and over, one byte every ``every`` seconds, until the server closes: the seconds
    from its connecting to the close."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    c = await Raw.connect(port)
    assert (await c.reply()).startswith(b"220 ")
    for line in prelude:
        assert (await c.send(line))[:1] in (b"2", b"3"), line

    async def drip_forever() -> None:
        while True:
            for byte in drip:
                if not await c.write(bytes([byte])):
                    return
                await asyncio.sleep(every)

    dripping = asyncio.create_task(drip_forever())
    try:
        assert await c.closed(30), "the server never closed a trickling connection"
        return loop.time() - started
    finally:
        dripping.cancel()
        await c.close()


async def test_slow_senders_end_in_the_timeouts_and_block_no_one(
        engine: Engine, no_errors_logged: None) -> None:
    command_timeout, session_timeout = 1.0, 2.5
    async with serving(engine, smtp_command_timeout=command_timeout,
                       smtp_session_timeout=session_timeout) as (server, port):
        # A byte every 50 ms: whole HELOs (progress: each restarts the command timeout, so
        # only the session timeout ends them), whole NOOPs (no progress: the command
        # timeout ends them), one endless command line, an endless DATA.
        heloing = [asyncio.create_task(trickle(port, [EHLO], b"HELO x\r\n")) for _ in range(8)]
        nooping = [asyncio.create_task(trickle(port, [EHLO], b"NOOP\r\n")) for _ in range(8)]
        endless = [asyncio.create_task(trickle(port, [EHLO], b"MAIL FROM:<" + b"x" * 100))
                   for _ in range(8)]
        data = [asyncio.create_task(trickle(
            port, [EHLO, b"MAIL FROM:<>\r\n", b"RCPT TO:<" + TOKEN + b">\r\n", b"DATA\r\n"],
            b"X-Slow: y\r\n")) for _ in range(8)]
        await until(lambda: len(server.gate.sessions) == 32)
        # Meanwhile good senders are served as if nobody else were there: each in far
        # less than the slow ones' timeouts, all while the slow ones still trickle.
        loop = asyncio.get_running_loop()
        good = []
        for n in range(5):
            began = loop.time()
            good.append(await good_sender(port, n))
            assert loop.time() - began < command_timeout, "a good sender waited"
        assert len(server.gate.sessions) >= 8, "the slow ones were gone before the good"
        heloed = await asyncio.gather(*heloing)
        nooped = await asyncio.gather(*nooping)
        cut = await asyncio.gather(*endless)
        unfinished = await asyncio.gather(*data)
        await until(lambda: not server.gate.sessions)
    assert all(session_timeout - 0.1 <= t < session_timeout + 1.5 for t in heloed), heloed
    assert all(command_timeout - 0.1 <= t < session_timeout for t in nooped), nooped
    assert all(command_timeout - 0.1 <= t < session_timeout for t in cut), cut
    # Each line of DATA is progress (a line every 0.55 s here): the session timeout ends
    # them.
    assert all(session_timeout - 0.1 <= t < session_timeout + 1.5 for t in unfinished), \
        unfinished
    assert_stored(engine, good)


# ---------------------------------------------------------------------------------------------
# Oversized lines and commands
# ---------------------------------------------------------------------------------------------

async def peak_while(work: Any) -> tuple[Any, int]:
    """What ``work`` (an awaitable) returns, and the most memory the process allocated
    over what it held when it began (tracemalloc: the server runs in this process)."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = await work
        return result, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


async def session(port: int, *lines: bytes) -> Raw:
    """A connection past its greeting and these commands (each answered 2xx/3xx)."""
    c = await Raw.connect(port)
    assert (await c.reply()).startswith(b"220 ")
    for line in lines:
        assert (await c.send(line))[:1] in (b"2", b"3"), line
    return c


MB = 1024 * 1024
#: After these three, DATA's lines come.
TRANSACTION = (EHLO, b"MAIL FROM:<>\r\n", b"RCPT TO:<" + TOKEN + b">\r\n")
#: What the server says before it closes a connection that sent a line without end.
TOO_LONG = b"421 4.5.2 Line too long; closing connection"


async def test_long_lines_get_500s_and_the_session_goes_on(engine: Engine,
                                                         no_errors_logged: None) -> None:
    async with serving(engine) as (_, port):
        c = await session(port, EHLO)
        # 100 kB of command: read and dropped as it comes (the reader holds 32 kB).
        assert await c.send(b"NOOP " + b"x" * 100_000 + b"\r\n") == \
            b"500 Command line too long"
        assert await c.send(b"NOOP\r\n") == b"250 OK"
        # 600 bytes of RCPT: over RFC 5321's 512 (section 4.5.3.1.4); the next one is fine.
        assert await c.send(b"MAIL FROM:<>\r\n") == b"250 OK"
        long_rcpt = b"RCPT TO:<" + b"a" * 570 + b"@bounces.sender.test>\r\n"
        assert len(long_rcpt) > 600
        assert await c.send(long_rcpt) == b"500 Command line too long"
        assert await c.send(b"RCPT TO:<" + TOKEN + b">\r\n") == b"250 2.1.5 OK"
        # A 100 kB line in DATA: refused after the final dot (RFC 5321 4.5.3.1.6).
        assert (await c.send(b"DATA\r\n")).startswith(b"354 ")
        assert await c.send(DSN + b"y" * 100_000 + b"\r\n.\r\n") == \
            b"500 Line too long (see RFC5321 4.5.3.1.6)"
        assert stored(engine) == []
        # The same session goes on: a good message now is stored.
        for line in TRANSACTION[1:]:
            assert (await c.send(line))[:1] == b"2"
        assert (await c.send(b"DATA\r\n")).startswith(b"354 ")
        assert (await c.send(DSN + b".\r\n")).startswith(b"250 2.0.0 Stored as ")
        await c.close()
    assert_stored(engine, [DSN])


async def test_lines_without_end_are_cut_in_bounded_memory(engine: Engine,
                                                           no_errors_logged: None) -> None:
    """aiosmtpd kept every piece of an over-long DATA line until its end (10 MB sent, 11 MB
    held; a line that never ends, without bound). Now a run of RUN_LIMIT bytes without a
    CRLF closes the connection, wherever it is."""
    async with serving(engine, smtp_command_timeout=1.0) as (server, port):
        # Just over the limit, and nothing after it: the 421, then the close.
        c = await session(port, EHLO)
        assert await c.send(b"NOOP " + b"x" * RUN_LIMIT) == TOO_LONG
        assert await c.closed(5)
        await c.close()
        # 10 MB of DATA line, and 1 MB of command line: cut at the limit (a client still
        # sending may see its connection reset before it reads the 421).
        c = await session(port, *TRANSACTION, b"DATA\r\n")
        reply, peak = await peak_while(c.send(DSN + b"y" * (10 * MB) + b"\r\n.\r\n"))
        assert reply in (TOO_LONG, b"") and peak < 2 * MB, (reply, peak)
        await c.close()
        c = await session(port, EHLO)
        reply, peak = await peak_while(c.send(b"NOOP " + b"x" * MB + b"\r\n"))
        assert reply in (TOO_LONG, b"") and peak < 2 * MB, (reply, peak)
        await c.close()
        # Under the limit but never ending: no reply; the command timeout closes it.
        c = await session(port, *TRANSACTION, b"DATA\r\n")
        assert await c.write(DSN + b"z" * (RUN_LIMIT - len(DSN)))
        assert await c.closed(8)
        await c.close()
        await until(lambda: not server.gate.sessions)
        assert stored(engine) == []
        assert_stored(engine, [await good_sender(port)])


# ---------------------------------------------------------------------------------------------
# Malformed commands
# ---------------------------------------------------------------------------------------------

RCPT = b"RCPT TO:<" + TOKEN + b">\r\n"
#: Conversations, each on a connection of its own after the greeting: (what is sent, how
#: the reply begins); b"" for a closed connection.
MALFORMED: dict[str, list[tuple[bytes, bytes]]] = {
    "binary garbage": [
        (b"\x80\x81\xfe\xff\x00\x01garbage\r\n", b"500 Error: bad syntax"),
        # Every byte but LF (which ends a command line, as CRLF does).
        (bytes(b for b in range(256) if b != 10) + b"\r\n", b"500 "),
        (b"NOOP\r\n", b"250 OK")],
    "NUL bytes": [
        (b"\x00\x00\x00\x00\r\n", b"500 "), (b"MAIL\x00FROM:<>\r\n", b"500 "),
        (b"EHLO\x00\r\n", b"500 "), (EHLO, b"250 "), (b"MAIL FROM:<a\x00b@x.test>\r\n",
                                                   b"553 5.1.7"),
        (b'MAIL FROM:<"a\x00b"@x.test>\r\n', b"553 5.1.7"),
        (b'MAIL FROM:<"a\\\x00b"@x.test>\r\n', b"553 5.1.7"),
        (b"MAIL FROM:<>\r\n", b"250 OK"), (b"RCPT TO:<a\x00b@x.test>\r\n", b"550 5.1.1 "),
        (b"DATA\r\n", b"503 ")],
    "commands before HELO": [
        (b"MAIL FROM:<>\r\n", b"503 Error: send HELO first"), (RCPT, b"503 "),
        (b"HELO\r\n", b"501 "), (b"EHLO\r\n", b"501 ")],
    "MAIL without FROM:<...>": [
        (EHLO, b"250 "), (b"MAIL <>\r\n", b"501 "), (b"MAIL\r\n", b"501 "),
        (b"MAIL FROM:\r\n", b"501 "), (b"MAIL TO:<>\r\n", b"501 "),
        (b"MAIL FROM:<<<>>>\r\n", b"553 5.1.3"), (b"MAIL FROM:<> SIZE=x\r\n", b"501 "),
        (b"MAIL FROM:<> BODY=9BIT\r\n", b"501 "), (b"MAIL FROM:<> NOSUCH=1\r\n", b"555 ")],
    "RCPT before MAIL": [(EHLO, b"250 "), (RCPT, b"503 Error: need MAIL command"),
                         (b"DATA\r\n", b"503 ")],
    "DATA before RCPT": [
        (EHLO, b"250 "), (b"MAIL FROM:<>\r\n", b"250 OK"),
        (b"DATA\r\n", b"503 Error: need RCPT command"),
        (b"RCPT TO:<nobody@example.org>\r\n", b"550 5.1.1 "), (b"DATA\r\n", b"503 "),
        (b"MAIL FROM:<>\r\n", b"503 Error: nested MAIL command")],
    "unknown verbs, five and out": [
        (EHLO, b"250 "), (b"XYZZY\r\n", b'500 Error: command "XYZZY" not recognized'),
        (b"GET / HTTP/1.1\r\n", b"500 "), (b"Host: bounces.sender.test\r\n", b"500 "),
        (b"STARTTLS\r\n", b"454 "),  # a known verb (no certificate): not counted
        (b"BDAT 10 LAST\r\n", b"500 "),
        (b"X-EXCH50\r\n", b"502 5.5.1 Too many unrecognized commands, goodbye."),
        (b"NOOP\r\n", b"")],
    "non-UTF-8 bytes": [
        (b"EHLO \xff\xfe.test\r\n", b"250 "),
        (b"MAIL FROM:<\xff\xfe@x.test>\r\n", b"553 5.1.7 Bad sender address syntax"),
        (b"MAIL FROM:<p\xc3\xa9@x.test> SMTPUTF8\r\n", b"250 OK"),  # good UTF-8 is taken
        (b"RCPT TO:<\xff@bounces.sender.test>\r\n",
         b"550 5.1.1 <\\xff@bounces.sender.test>: no such bounce address here"),
        (b"RCPT TO:<a\rb@x.test>\r\n", b"550 5.1.1 <a\\x0db@x.test>")],
    "header injection in MAIL FROM": [
        (EHLO, b"250 "),
        (b"MAIL FROM:<a@b.test> BODY=8BITMIME\rX-Injected: yes\r\n", b"501 "),
        (b"MAIL FROM:<a@b.test> SIZE=1\rBcc: x@y.test\r\n", b"501 "),
        (b"MAIL FROM:<a@b.test\rX-Injected: 1>\r\n", b"501 "),
        (b"MAIL FROM:<a@b.test> X-INJECTED=yes\r\n", b"501 "),
        (b"MAIL FROM:<a@b.test> XINJECTED=yes\r\n", b"555 "),
        (b"MAIL FROM:<a\x1b@b.test>\r\n", b"553 5.1.7"),
        (b"MAIL FROM:<a\x7f@b.test>\r\n", b"553 5.1.7")],
    "too long": [
        (EHLO, b"250 "), (b"MAIL FROM:<" + b"a" * 600 + b"@b.test>\r\n", b"500 Command line "),
        (b"HELO " + b"h" * 600 + b"\r\n", b"500 Command line too long")],
}


async def converse(port: int, script: list[tuple[bytes, bytes]]) -> list[bytes]:
    c = await Raw.connect(port)
    try:
        assert (await c.reply()).startswith(b"220 ")
        got = []
        for line, _ in script:
            got.append(await c.send(line))
        return got
    finally:
        await c.close()


async def test_malformed_commands_get_clear_answers_and_store_nothing(
        engine: Engine, no_errors_logged: None) -> None:
    async with serving(engine) as (server, port):
        for name, script in MALFORMED.items():
            got = await converse(port, script)
            for (line, want), reply in zip(script, got, strict=True):
                assert reply.startswith(want) if want else reply == b"", (name, line, reply)
            assert stored(engine) == [], name
        await until(lambda: not server.gate.sessions)
        assert_stored(engine, [await good_sender(port)])


async def test_a_thousand_bad_commands_leave_the_transaction_intact(
        engine: Engine, no_errors_logged: None) -> None:
    bad = [(b"DATA x\r\n", b"501"), (b"RCPT TO:\r\n", b"501"), (b"HELO\r\n", b"501"),
           (b"\r\n", b"500"), (b"\xff\xff\r\n", b"500"), (b"MAIL FROM:<>\r\n", b"503"),
           (b"RCPT TO:<nobody@example.org>\r\n", b"550"), (b"VRFY\r\n", b"501")]
    script = [bad[n % len(bad)] for n in range(1000)]
    # The error limit is off: this is about the transaction that outlives them (the limit
    # is tested below).
    async with serving(engine, smtp_hard_error_limit=0) as (_, port):
        c = await Raw.connect(port)
        await c.reply()
        for line in (EHLO, b"MAIL FROM:<>\r\n", RCPT):
            assert (await c.send(line))[:1] == b"2"
        # Pipelined, all at once: every one answered, in order.
        async def answers() -> list[bytes]:
            return [await c.reply() for _ in script]

        written, replies = await asyncio.gather(
            c.write(b"".join(line for line, _ in script)), answers())
        assert written
        assert [r[:3] for r in replies] == [want for _, want in script]
        # The MAIL and the RCPT from before still stand: DATA goes through.
        assert (await c.send(b"DATA\r\n")).startswith(b"354 ")
        assert (await c.send(DSN + b".\r\n")).startswith(b"250 2.0.0 Stored as ")
        await c.close()
        # A thousand unknown verbs: the fifth ends the session; the rest is never read.
        c = await Raw.connect(port)
        await c.reply()
        await c.write(b"NOSUCHVERB\r\n" * 1000)
        replies = [await c.reply() for _ in range(6)]
        assert [r[:3] for r in replies] == [b"500"] * 4 + [b"502", b""]
        await c.close()
    [row] = stored(engine)
    assert bytes(row.raw) == DSN and json.loads(row.rcpts) == [token()]


async def test_a_helo_that_is_not_text_is_kept_escaped_beside_good_senders(
        engine: Engine, no_errors_logged: None) -> None:
    """A HELO name with a NUL, an escape sequence and bytes that are not UTF-8 was stored
    as is: no driver encodes the lone surrogates (nor PostgreSQL a NUL), so the commit
    failed - a 451 on every try for this sender, and for every message of the other
    sessions in the same group commit. The name is recorded escaped now."""
    odd = DSN + b"8-bit \xff\xfe and a NUL \x00 in the body, kept byte for byte\r\n"

    async def odd_sender() -> bytes:
        c = await Raw.connect(port)
        await c.reply()
        for line in (b"EHLO mx\xff\x00\x1b[31m.test\r\n", b"MAIL FROM:<>\r\n", RCPT):
            assert (await c.send(line))[:1] == b"2", line
        assert (await c.send(b"DATA\r\n")).startswith(b"354 ")
        reply = await c.send(odd + b".\r\n")
        await c.close()
        return reply

    async with serving(engine) as (_, port):
        replies = await asyncio.gather(odd_sender(), *(good_sender(port, n) for n in range(10)))
    assert replies[0].startswith(b"250 2.0.0 Stored as "), replies[0]
    assert_stored(engine, [odd, *replies[1:]])
    [row] = [r for r in stored(engine) if bytes(r.raw) == odd]
    assert row.helo == "mx\\xff\\x00\\x1b[31m.test"


# ---------------------------------------------------------------------------------------------
# Errors and junk commands
# ---------------------------------------------------------------------------------------------

NOBODY = b"RCPT TO:<nobody@example.org>\r\n"
TOO_MANY_ERRORS = b"421 4.7.0 Too many errors"


async def test_a_session_that_collects_errors_is_closed_with_421(
        engine: Engine, no_errors_logged: None) -> None:
    """Postfix's smtpd_hard_error_limit (20): so many 4yz/5yz replies without a stored
    message end the session; a stored message forgives those before it."""
    async with serving(engine) as (server, port):
        # 19 refused recipients, a stored message, 19 more: still open.
        c = await session(port, EHLO, b"MAIL FROM:<>\r\n")
        for _ in range(19):
            assert (await c.send(NOBODY)).startswith(b"550 ")
        for line in (RCPT, b"DATA\r\n"):
            assert (await c.send(line))[:1] in (b"2", b"3")
        forgiven = DSN + b"forgiven\r\n"
        assert (await c.send(forgiven + b".\r\n")).startswith(b"250 2.0.0 Stored as ")
        assert (await c.send(b"MAIL FROM:<>\r\n")).startswith(b"250 ")
        for _ in range(19):
            assert (await c.send(NOBODY)).startswith(b"550 ")
        # The 20th: its answer, then the 421 and the close. What was pipelined behind it (a
        # good recipient and a whole message) is not acted on.
        await c.write(NOBODY + RCPT + b"DATA\r\n" + DSN + b".\r\n")
        assert (await c.reply()).startswith(b"550 ")
        assert await c.reply() == TOO_MANY_ERRORS
        assert await c.closed(5)
        await c.close()
        # Errors of every kind count: bad syntax, a missing argument, commands out of order.
        c = await session(port)
        errors = [b"MAIL FROM:<>\r\n", b"HELO\r\n", b"\r\n", b"VRFY\r\n", RCPT,
                  b"DATA\r\n", b"\xff\r\n"]
        replies = [await c.send(errors[n % len(errors)]) for n in range(22)]
        assert all(r[:1] in (b"4", b"5") for r in replies[:20]), replies
        assert replies[20:] == [TOO_MANY_ERRORS, b""], replies[20:]
        await c.close()
        await until(lambda: not server.gate.sessions)
        assert server.policy.metrics.refused.labels("errors")._value.get() == 2
    assert_stored(engine, [forgiven])


async def test_junk_commands_past_their_limit_count_as_errors(
        engine: Engine, no_errors_logged: None) -> None:
    """Postfix's smtpd_junk_command_limit: past it, each NOOP, RSET, VRFY, HELP, HELO or
    EHLO counts as an error too (here 3 of them, then 2 errors end the session)."""
    async with serving(engine, smtp_junk_command_limit=3, smtp_hard_error_limit=2
                       ) as (_, port):
        c = await session(port)
        await c.write(b"NOOP\r\nRSET\r\nHELP\r\nNOOP\r\nHELO x\r\nNOOP\r\n")
        replies = [await c.reply() for _ in range(7)]
        assert [r[:3] for r in replies[:5]] == [b"250"] * 5
        assert replies[5:] == [TOO_MANY_ERRORS, b""]
        await c.close()
        assert_stored(engine, [await good_sender(port)])


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------

NO_ROOM = b"452 4.3.1 Insufficient system storage"


async def test_data_held_in_memory_is_bounded_across_sessions(
        engine: Engine, no_errors_logged: None) -> None:
    """The DATA of all sessions held until its commit is bounded (smtp_data_memory, 2 MiB
    here): past it, a declared SIZE= is refused at MAIL and data at its end, both with 452
    (the sender tries again later); within it, messages are stored as ever."""
    line = b"y" * 998 + b"\r\n"
    big = DSN + line * 900  # about 0.9 MB each: two fit in the budget, not three
    async with serving(engine, smtp_max_size=MB, smtp_data_memory=2 * MB) as (server, port):
        budget = server.policy.budget
        first, second = [await session(port, *TRANSACTION, b"DATA\r\n") for _ in range(2)]
        assert await first.write(big)  # all but the final dot: held, not yet committed
        await until(lambda: budget.used == len(big))
        assert await second.write(big)
        await until(lambda: budget.used == 2 * len(big))
        # A third, while both are held: a SIZE= that does not fit is refused at MAIL...
        third = await session(port, EHLO)
        assert await third.send(b"MAIL FROM:<> SIZE=%d\r\n" % len(big)) == NO_ROOM
        # ...and data that does not fit, after its final dot (the rest is read and dropped).
        for command in TRANSACTION[1:]:
            assert (await third.send(command))[:1] == b"2"
        assert (await third.send(b"DATA\r\n")).startswith(b"354 ")
        third_message = DSN + line * 400 + b"third\r\n"
        assert await third.send(third_message + b".\r\n") == NO_ROOM
        assert budget.used == 2 * len(big)
        # A connection lost mid-DATA gives back what it held.
        lost = await session(port, *TRANSACTION, b"DATA\r\n")
        assert await lost.write(DSN + line * 100)
        await until(lambda: budget.used > 2 * len(big))
        await lost.close()
        await until(lambda: budget.used == 2 * len(big))
        # The two held finish: stored, and their bytes given back.
        for c in (first, second):
            assert (await c.send(b".\r\n")).startswith(b"250 2.0.0 Stored as ")
        assert budget.used == 0
        # Now the third's message fits, in the same session.
        for command in TRANSACTION[1:]:
            assert (await third.send(command))[:1] == b"2"
        assert (await third.send(b"DATA\r\n")).startswith(b"354 ")
        assert (await third.send(third_message + b".\r\n")).startswith(b"250 2.0.0 ")
        for c in (first, second, third):
            await c.close()
        assert server.policy.metrics.refused.labels("memory")._value.get() == 2
        assert budget.used == 0
    assert_stored(engine, [big, big, third_message])
