"""The webhook client (webhooks.http) against canned answers from a real TCP server on
127.0.0.1: body framing, keep-alive and reuse, bounds and failures; h11 as the oracle of
what an HTTP/1.1 reader makes of each answer; and requests that must not be sent."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import deque
from dataclasses import dataclass

import h11
import pytest

from bounceloop.webhooks.http import BODY_KEPT, BODY_MAX, Client, Failed, Reply

HEADERS = [("Content-Type", "application/x-www-form-urlencoded"),
           ("X-Bounceloop-Event", "42"), ("X-Bounceloop-Signature", "t=1,v1=ab")]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
HANG = b"(no answer)"
"""Canned: read the request and answer nothing, leaving the connection open."""


class Canned:
    """A TCP server that answers each request it reads with the next canned answer, then
    closes the connection if told to (an empty answer: closes without one); past the
    canned ones it answers OK. Counts the connections it accepted and keeps the
    requests."""

    def __init__(self, *answers: tuple[bytes, bool]) -> None:
        self.answers = deque(answers)
        self.accepted = 0
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._done: set[asyncio.Future[None]] = set()
        self._stop = asyncio.Event()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/hook?x=1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                     ) -> None:
        self.accepted += 1
        self._writers.add(writer)
        done = asyncio.get_running_loop().create_future()
        self._done.add(done)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                found = re.search(rb"\r\ncontent-length: *([0-9]+)", head, re.I)
                body = await reader.readexactly(int(found[1]) if found else 0)
                self.requests.append(head + body)
                answer, close = self.answers.popleft() if self.answers else (OK, False)
                if answer == HANG:
                    await self._stop.wait()
                    return
                writer.write(answer)
                await writer.drain()
                if close:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()
            done.set_result(None)

    async def __aenter__(self) -> Canned:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        self._stop.set()
        for writer in self._writers:
            writer.close()
        await asyncio.gather(*self._done)


@dataclass(frozen=True)
class Case:
    name: str
    answer: bytes
    close: bool = False
    """The server closes the connection after the answer."""
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    reused: bool = True
    """The next call goes on the same connection."""
    error: str = ""
    """The Failed kind (then status, headers and body are not looked at)."""


def _chunks(size: int, n: int) -> bytes:
    return b"".join(b"%x\r\n" % size + b"c" * size + b"\r\n" for _ in range(n)) + b"0\r\n\r\n"


CASES = [
    Case("content-length", b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
         b"Content-Length: 5\r\n\r\nhello", status=200,
         headers=(("Content-Type", "text/plain"), ("Content-Length", "5")), body=b"hello"),
    Case("chunked, extensions and trailers", b"HTTP/1.1 201 Created\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n"
         b'6;a="b;c";d\r\n world\r\nA\r\n0123456789\r\n0;last\r\nX-Trailer: t\r\n'
         b"X-Other: u\r\n\r\n", status=201,
         headers=(("Transfer-Encoding", "chunked"),), body=b"hello world0123456789"),
    Case("chunked, empty", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         status=200, headers=(("Transfer-Encoding", "chunked"),)),
    Case("close-delimited", b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end",
         close=True, status=200, headers=(("Content-Type", "text/plain"),),
         body=b"to the end", reused=False),
    Case("204 without a body", b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", status=204,
         headers=(("X-A", "1"),)),
    Case("304 without a body", b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n',
         status=304, headers=(("ETag", '"v1"'),)),
    Case("100 Continue and 103 Early Hints first", b"HTTP/1.1 100 Continue\r\n\r\n"
         b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
         b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", status=200,
         headers=(("Content-Length", "2"),), body=b"ok"),
    Case("HTTP/1.0", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", status=200,
         headers=(("Content-Length", "2"),), body=b"ok", reused=False),
    Case("HTTP/1.0 with keep-alive", b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"
         b"Content-Length: 2\r\n\r\nok", status=200,
         headers=(("Connection", "Keep-Alive"), ("Content-Length", "2")), body=b"ok"),
    Case("Connection: close", b"HTTP/1.1 200 OK\r\nconnection: x, Close\r\n"
         b"Content-Length: 2\r\n\r\nok", status=200,
         headers=(("connection", "x, Close"), ("Content-Length", "2")), body=b"ok",
         reused=False),
    Case("a body over BODY_KEPT, kept cut", b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n"
         % (3 * BODY_KEPT) + b"e" * (3 * BODY_KEPT), status=500,
         headers=(("Content-Length", str(3 * BODY_KEPT)),), body=b"e" * BODY_KEPT),
    Case("a body over BODY_MAX", b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
         % (BODY_MAX + 1) + b"m" * (BODY_MAX + 1), status=200,
         headers=(("Content-Length", str(BODY_MAX + 1)),), body=b"m" * BODY_KEPT,
         reused=False),
    Case("a chunked body over BODY_MAX", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
         b"\r\n\r\n" + _chunks(65536, BODY_MAX // 65536 + 1), status=200,
         headers=(("Transfer-Encoding", "chunked"),), body=b"c" * BODY_KEPT, reused=False),
    Case("no reason phrase, odd spacing, obs-text", b"HTTP/1.1 503\r\nX-Pad: \t a  b \t\r\n"
         b"X-Empty:\r\nX-Text: caf\xe9\r\nContent-Length: 0\r\n\r\n", status=503,
         headers=(("X-Pad", "a  b"), ("X-Empty", ""), ("X-Text", "café"),
                  ("Content-Length", "0"))),
    Case("obsolete line folding", b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\n\tc\r\n"
         b"Content-Length: 0\r\n\r\n", status=200,
         headers=(("X-Folded", "a b c"), ("Content-Length", "0"))),
    Case("a later HTTP/1 minor version", b"HTTP/1.7 200 OK\r\nContent-Length: 0\r\n\r\n",
         status=200, headers=(("Content-Length", "0"),)),
    # RFC 9112 section 2.2: a bare LF ends a line too (as h11 reads it).
    Case("bare LF line ends", b"HTTP/1.1 200 OK\nContent-Type: text/plain\n"
         b"Content-Length: 2\n\nok", status=200,
         headers=(("Content-Type", "text/plain"), ("Content-Length", "2")), body=b"ok"),
    Case("bare LF in a chunked body and its trailer", b"HTTP/1.1 200 OK\r\n"
         b"Transfer-Encoding: chunked\n\n2\nok\n1;x=y\r\n!\n0\nX-T: 1\n\n", status=200,
         headers=(("Transfer-Encoding", "chunked"),), body=b"ok!"),
    # Not HTTP/1 answers.
    Case("a four-digit status", b"HTTP/1.1 2000 OK\r\n\r\n", error="protocol"),
    Case("not HTTP", b"ICY 200 OK\r\n\r\n", error="protocol"),
    Case("HTTP/2", b"HTTP/2 200\r\n\r\n", error="protocol"),
    Case("no status code", b"HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n", error="protocol"),
    Case("101 Switching Protocols", b"HTTP/1.1 101 Switching Protocols\r\n"
         b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n", error="protocol"),
    Case("a space in a field name", b"HTTP/1.1 200 OK\r\nX Y: 1\r\n\r\n", error="protocol"),
    Case("a space before the colon", b"HTTP/1.1 200 OK\r\nX-Y : 1\r\n\r\n",
         error="protocol"),
    Case("a field line without a colon", b"HTTP/1.1 200 OK\r\nnonsense\r\n\r\n",
         error="protocol"),
    Case("a bare CR in a value", b"HTTP/1.1 200 OK\r\nX-Y: a\rb\r\n\r\n", error="protocol"),
    Case("a NUL in a value", b"HTTP/1.1 200 OK\r\nX-Y: a\x00b\r\n\r\n", error="protocol"),
    Case("a folded first field line", b"HTTP/1.1 200 OK\r\n X-Y: 1\r\n\r\n",
         error="protocol"),
    Case("a bad Content-Length", b"HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok",
         error="protocol"),
    Case("a negative Content-Length", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
         error="protocol"),
    Case("conflicting Content-Lengths", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
         b"Content-Length: 3\r\n\r\nok!", error="protocol"),
    Case("a Content-Length list", b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok!",
         error="protocol"),
    Case("a bad chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"zz\r\nhello\r\n0\r\n\r\n", error="protocol"),
    Case("a chunk size over 16 hex digits", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: "
         b"chunked\r\n\r\n" + b"1" * 17 + b"\r\nhello\r\n0\r\n\r\n", error="protocol"),
    Case("a chunk longer than its size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
         b"\r\n\r\n2\r\nhello\r\n0\r\n\r\n", error="protocol"),
    Case("a transfer coding not chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip"
         b"\r\n\r\nxyz", close=True, error="protocol"),
    Case("over 100 header fields", b"HTTP/1.1 200 OK\r\n" + b"X-F: v\r\n" * 101
         + b"Content-Length: 0\r\n\r\n", error="protocol"),
    Case("a head over 64 KiB", b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * 70000
         + b"\r\nContent-Length: 0\r\n\r\n", error="protocol"),
    Case("a trailer section over 100 fields", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: "
         b"chunked\r\n\r\n2\r\nok\r\n0\r\n" + b"X-T: v\r\n" * 101 + b"\r\n",
         error="protocol"),
    # The server closes too early.
    Case("closed in the middle of the body", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"
         b"\r\nshort", close=True, error="closed"),
    Case("closed in the middle of a chunk", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: "
         b"chunked\r\n\r\na\r\nshort", close=True, error="closed"),
    Case("closed in the middle of the head", b"HTTP/1.1 200 OK\r\nContent-Le", close=True,
         error="closed"),
    Case("closed before any answer (a new connection: no retry)", b"", close=True,
         error="closed"),
]


async def _two_calls(*answers: tuple[bytes, bool]
                     ) -> tuple[Reply | Failed, Reply | Failed, Canned]:
    """Two calls in turn, to a server with these answers."""
    async with Canned(*answers) as server:
        client = Client()
        try:
            first = await client.post(server.url, "127.0.0.1", HEADERS, b"a=1", 5)
            second = await client.post(server.url, "127.0.0.1", HEADERS, b"a=2", 5)
        finally:
            await client.aclose()
    return first, second, server


async def _answered(case: Case) -> tuple[Reply | Failed, Canned]:
    """The case's answer to a first call, then a second call (answered OK) to see whether
    it went on the same connection."""
    first, second, server = await _two_calls((case.answer, case.close))
    assert isinstance(second, Reply) and (second.status, second.body) == (200, b"ok")
    assert len(server.requests) == 2  # no call was made twice
    return first, server


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_answers(case: Case) -> None:
    first, server = await _answered(case)
    if case.error:
        assert isinstance(first, Failed) and first.error == case.error, first
        assert first.ip == "127.0.0.1"
        assert server.accepted == 2  # a failed call's connection is not reused
        return
    assert isinstance(first, Reply), first
    assert (first.status, first.headers, first.body) == (
        case.status, list(case.headers), case.body)
    assert server.accepted == (1 if case.reused else 2)


def h11_reads(answer: bytes, closed: bool) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """What h11 (the client role) makes of an answer: status, fields and the body's first
    BODY_KEPT bytes; None when it rejects it or finds it incomplete."""
    conn = h11.Connection(our_role=h11.CLIENT)
    conn.send(h11.Request(method="POST", target="/", headers=[("Host", "x"),
                                                              ("Content-Length", "0")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(answer)
    if closed:
        conn.receive_data(b"")
    status, fields, body = 0, [], bytearray()
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                return None
            if isinstance(event, h11.Response):
                status = event.status_code
                fields = [(k.decode("latin-1"), v.decode("latin-1"))
                          for k, v in event.headers.raw_items()]
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return status, fields, bytes(body[:BODY_KEPT])
    except h11.ProtocolError:
        return None


#: Answers h11 reads that the client refuses on purpose, and why.
REFUSED_ON_PURPOSE = {
    "over 100 header fields": "FIELDS_MAX, a bound of ours; h11 has none",
    "a head over 64 KiB": "HEAD_MAX; h11 bounds only what it holds unparsed, by default "
                          "16 KiB, and it was given the whole answer at once here",
    "a trailer section over 100 fields": "FIELDS_MAX bounds trailer sections too",
}


READ_BY_H11 = [c for c in CASES if h11_reads(c.answer, c.close) is not None]


@pytest.mark.parametrize("case", READ_BY_H11, ids=[c.name for c in READ_BY_H11])
async def test_answers_read_as_h11_reads_them(case: Case) -> None:
    expected = h11_reads(case.answer, case.close)
    first, _ = await _answered(case)
    if case.name in REFUSED_ON_PURPOSE:
        assert isinstance(first, Failed) and first.error == "protocol", first
        return
    assert isinstance(first, Reply), first
    assert (first.status, first.headers, first.body) == expected


def test_what_the_client_refuses_h11_refuses_too() -> None:
    """The other way round: an answer the client fails, h11 rejects or finds incomplete,
    but for REFUSED_ON_PURPOSE."""
    assert [c.name for c in READ_BY_H11 if c.error] == list(REFUSED_ON_PURPOSE)


async def test_a_kept_alive_connection_closed_by_the_server_is_retried_on_a_new_one(
        ) -> None:
    first, second, server = await _two_calls((OK, False), (b"", True))
    assert isinstance(first, Reply) and isinstance(second, Reply) and second.status == 200
    assert server.accepted == 2
    assert [r.endswith(b"a=2") for r in server.requests] == [False, True, True]


async def test_no_answer_in_time_is_a_timeout() -> None:
    async with Canned((HANG, False)) as server:
        client = Client()
        try:
            got = await client.post(server.url, "127.0.0.1", HEADERS, b"a=1", 0.3)
        finally:
            await client.aclose()
    assert isinstance(got, Failed) and got.error == "timeout", got
    assert 250 <= got.duration_ms < 2000


#: Header fields and URL paths that must not be sent: they would add a line to the request
#: (or end it), are no token, or would change its framing.
BAD_FIELDS = [("X-Bounceloop-Event", "1\r\nX-Smuggled: yes"), ("X-Bounceloop-Event", "1\nX: y"),
              ("X-Bounceloop-Event", "1\rX: y"), ("X-Bounceloop-Event", "1\x00"),
              ("X-Bounceloop-Event", " 1"), ("X-Bounceloop-Event", "1\t"),
              ("X-Bounceloop-Event", "caf\xe9"), ("X-Smuggled: yes\r\nX-Event", "1"),
              ("X Event", "1"), ("", "1"), ("Content-Length", "0"),
              ("transfer-encoding", "chunked"), ("Host", "elsewhere.example")]
BAD_PATHS = ["/a b", "/a\r\nX-Smuggled: yes", "/a\r\nb", "/a\nb", "/a\x00b", "/a\tb", "/caf\xe9",
             "/a HTTP/1.1\r\nX-Smuggled: yes\r\n\r\nPOST /b"]


@pytest.mark.parametrize(("path", "headers"), [("/hook", [f]) for f in BAD_FIELDS]
                         + [(p, HEADERS) for p in BAD_PATHS])
async def test_a_request_that_would_not_be_what_it_says_is_not_sent(
        path: str, headers: list[tuple[str, str]]) -> None:
    async with Canned() as server:
        url = server.url.replace("/hook?x=1", path)
        client = Client()
        try:
            got = await client.post(url, "127.0.0.1", headers, b"a=1", 5)
        finally:
            await client.aclose()
        await asyncio.sleep(0.05)
    assert isinstance(got, Failed) and got.error == "protocol", got
    assert server.accepted == 0 and server.requests == []


async def test_the_request_as_sent() -> None:
    async with Canned() as server:
        client = Client(user_agent="bounceloop/test")
        url = server.url
        try:
            got = await client.post(url, "127.0.0.1", HEADERS, b"a=1&b=2", 5)
        finally:
            await client.aclose()
    assert isinstance(got, Reply) and got.status == 200
    host = url.split("/")[2].encode()
    assert server.requests == [
        b"POST /hook?x=1 HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"User-Agent: bounceloop/test\r\nContent-Length: 7\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nX-Bounceloop-Event: 42\r\n"
        b"X-Bounceloop-Signature: t=1,v1=ab\r\n\r\na=1&b=2"]
    with pytest.raises(ValueError, match="header field value"):
        Client(user_agent="x\r\nX-Smuggled: yes")


async def test_a_refused_connection() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    got = await Client().post(f"http://127.0.0.1:{port}/", "127.0.0.1", HEADERS, b"", 5)
    assert isinstance(got, Failed) and got.error == "refused", got
