"""A small HTTP/1.1 client for webhook calls: POST to a vetted address, never raise.

Why our own and not a general client: the SSRF guard (webhooks.guard) resolves the URL's
host and vets every address, and the call must then go *to the address vetted* - a client
that resolves the name again could be sent elsewhere by DNS rebinding. So
:meth:`Client.post` takes the IP to connect to, and sends the URL's host in ``Host`` and in
TLS SNI (and checks the certificate against it). Like the SMTP client (delivery.wire) it
returns a result, :class:`Reply` or :class:`Failed`, and raises nothing.

Why not on h11 (the sans-I/O HTTP/1.1 library under uvicorn): for our few, fixed requests
its per-call checks and state machine cost the worker more than all the rest of the HTTP
work. Measured a call (in memory, no sockets): ``h11.Request`` 17 µs (its regexes over
every field), with ``Connection.send`` three times and the reading of a 200 answer 53 µs,
of about 370 µs of the worker's CPU a call; :meth:`Client.post` on a kept-alive connection
took 73 µs on h11 and takes 15-20 µs here. The request is the worker's own: the URL is
checked once (cached), a field's name once, its value by one precompiled regex a call, so
nothing can add a line to it. The answer is read as RFC 9112 says, bounded: a status line
``HTTP/1.x NNN``, lines ended by CRLF or a bare LF (section 2.2, as h11 reads them), at
most HEAD_MAX bytes and FIELDS_MAX fields of head, interim 1xx
answers skipped, and the body framed by section 6.3 (none, chunked, Content-Length, or
until the server closes). Anything else is a ``protocol`` failure, and the connection is
closed.

Connections are kept alive per (scheme, IP, port, host) and reused by later calls, when
the answer was read to its end, in HTTP/1.1 (or 1.0 with keep-alive) and without
``Connection: close`` (RFC 9112 section 9.3). When a kept-alive connection turns out
closed before any byte of an answer (the server's idle timeout), the call is made once
more on a new connection; should the server have read the request before closing without
an answer, it gets it twice, which the at-least-once contract allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

#: Bytes of the response body kept for the failed-call log.
BODY_KEPT = 1024
#: Bytes of a response body read at most; a longer one closes the connection.
BODY_MAX = 1024 * 1024
#: Idle connections kept per destination.
IDLE_MAX = 100
#: Bytes of a response head (status line and fields) read at most, and its fields at most;
#: the same bound a chunked body's trailer section. Also the longest chunk-size line.
HEAD_MAX = 64 * 1024
FIELDS_MAX = 100

# RFC 9110 section 5.6.2: a token; section 5.5: a field value is visible characters (here
# ASCII only: ours are) with spaces or tabs between them, none at either end, and never
# CR, LF or NUL. Host, Content-Length and Transfer-Encoding are ours to write (RFC 9112
# sections 3.2 and 6): a caller's field of those names would change the framing.
_TOKEN = r"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
_NAME = re.compile(rf"(?!(?i:host|content-length|transfer-encoding)\Z){_TOKEN}")
_VALUE = re.compile(r"(?:[!-~]+(?:[ \t]+[!-~]+)*)?")
#: A URL we send: visible ASCII (no space, control or non-ASCII character anywhere).
_URL = re.compile(r"[!-~]+")

# The answer, read as latin-1 text (one character a byte). RFC 9112 section 4:
# status-line = HTTP-version SP status-code SP [reason-phrase]; the space before an empty
# reason is often left out, and accepted. Section 2.3: a 1.x minor version above ours is
# read as 1.1; other majors are not HTTP/1.
_STATUS = re.compile(r"HTTP/1\.([0-9]) ([1-5][0-9][0-9])(?: [\t -~\x80-\xff]*)?")
# Section 5.1: field-name ":" OWS field-value OWS, no space before the colon; a value may
# hold obs-text and (RFC 9110 section 5.5, for robustness) controls but never CR, LF, NUL.
_WORD = r"[^\x00\r\n \t]+"
_FIELD = re.compile(rf"({_TOKEN}):[ \t]*((?:{_WORD}(?:[ \t]+{_WORD})*)?)[ \t]*")
# Section 7.1: chunk-size [chunk-ext] CRLF; extensions are ignored, the size bounded.
_CHUNK = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")
_DIGITS = re.compile(r"[0-9]{1,18}")

_CUT = "the receiver closed the connection in the middle of its answer"


@dataclass(frozen=True, slots=True)
class Reply:
    """The receiver answered (any status)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    """The first :data:`BODY_KEPT` bytes."""
    ip: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Failed:
    """No answer: ``error`` is timeout, refused, closed, tls or protocol."""

    error: str
    description: str
    ip: str
    duration_ms: int


class _Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


Key = tuple[str, str, int, str]
Answer = tuple[int, list[tuple[str, str]], bytes, bool]
"""Status, header fields, the body kept, and whether the connection may be reused."""


class Client:
    """Webhook calls, with kept-alive connections. ``verify``: check TLS certificates
    (off only for tests with a self-signed receiver); ``cafile``: extra trusted roots."""

    def __init__(self, *, verify: bool = True, cafile: str | None = None,
                 user_agent: str = "bounceloop") -> None:
        if not user_agent or _VALUE.fullmatch(user_agent) is None:
            raise ValueError(f"not a header field value: {user_agent!r}")
        self._idle: dict[Key, list[_Conn]] = {}
        self._ssl = ssl.create_default_context(cafile=cafile)
        if not verify:
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE
        self.user_agent = user_agent

    async def post(self, url: str, ip: str, headers: Sequence[tuple[str, str]], body: bytes,
                   timeout: float) -> Reply | Failed:
        """POST ``body`` to ``url`` over a connection to ``ip``; the whole call (connect,
        send, read) within ``timeout`` seconds."""
        start = time.monotonic()
        to = _destination(url)
        if isinstance(to, str):
            return Failed("protocol", f"cannot send to this URL: {to}", ip, _ms(start))
        scheme, host, port, netloc, target = to
        for name, value in headers:
            if not _sendable(name) or _VALUE.fullmatch(value) is None:
                return Failed("protocol", f"cannot send the header field {name!r}: "
                              f"{value!r}", ip, _ms(start))
        request = (f"POST {target} HTTP/1.1\r\nHost: {netloc}\r\nUser-Agent: "
                   f"{self.user_agent}\r\nContent-Length: {len(body)}\r\n"
                   + "".join([f"{k}: {v}\r\n" for k, v in headers])
                   + "\r\n").encode("ascii") + body
        key: Key = (scheme, ip, port, host)
        conn: _Conn | None = None
        try:
            async with asyncio.timeout(timeout):
                for fresh in (False, True):
                    conn = None if fresh else self._take(key)
                    reused = conn is not None
                    if conn is None:
                        conn = await self._open(ip, port, host if scheme == "https" else None)
                    try:
                        status, fields, kept, reusable = await _exchange(conn, request)
                    except _Closed:
                        conn.close()
                        if reused:
                            continue  # a kept-alive connection the server had closed
                        raise
                    if reusable:
                        self._keep(key, conn)
                    else:
                        conn.close()
                    return Reply(status, fields, kept, ip, _ms(start))
                raise _Closed  # pragma: no cover - the loop returns or raises
        except TimeoutError:
            return self._failed(conn, "timeout", f"no answer within {timeout:g} s", ip, start)
        except ssl.SSLError as exc:
            return self._failed(conn, "tls", f"TLS: {exc.reason or exc}", ip, start)
        except ConnectionRefusedError:
            return self._failed(conn, "refused", "connection refused", ip, start)
        except _Closed:
            return self._failed(conn, "closed", "the receiver closed the connection "
                                "without an answer", ip, start)
        except asyncio.IncompleteReadError:
            return self._failed(conn, "closed", _CUT, ip, start)
        except ConnectionError as exc:
            return self._failed(conn, "closed", f"the connection broke: "
                                f"{exc.strerror or exc}", ip, start)
        except asyncio.LimitOverrunError:
            return self._failed(conn, "protocol", f"not an HTTP answer: a head or line over "
                                f"{HEAD_MAX} bytes", ip, start)
        except _Bad as exc:
            return self._failed(conn, exc.error, str(exc), ip, start)
        except OSError as exc:
            return self._failed(conn, "refused", f"cannot connect: {exc.strerror or exc}",
                                ip, start)

    def _failed(self, conn: _Conn | None, error: str, description: str, ip: str,
                start: float) -> Failed:
        if conn is not None:
            conn.close()
        return Failed(error, description, ip, _ms(start))

    async def _open(self, ip: str, port: int, sni: str | None) -> _Conn:
        reader, writer = await asyncio.open_connection(
            ip, port, ssl=self._ssl if sni else None, server_hostname=sni, limit=HEAD_MAX)
        return _Conn(reader, writer)

    def _take(self, key: Key) -> _Conn | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.writer.is_closing() and not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    def _keep(self, key: Key, conn: _Conn) -> None:
        if not conn.writer.is_closing():
            idle = self._idle.setdefault(key, [])
            if len(idle) < IDLE_MAX:
                idle.append(conn)
                return
        conn.close()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


@lru_cache(maxsize=256)
def _sendable(name: str) -> bool:
    """Whether a caller may send a field of this name (checked once: names are the
    worker's few own)."""
    return _NAME.fullmatch(name) is not None


@lru_cache(maxsize=1024)
def _destination(url: str) -> tuple[str, str, int, str, str] | str:
    """(scheme, host, port, Host field, origin-form target: RFC 9112 section 3.2.1) of a
    URL, or why it cannot be sent (the guard refuses such URLs; this holds without it)."""
    if _URL.fullmatch(url) is None:
        return "it has a space, a control or a non-ASCII character"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a URL: {exc}"
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        return "not an http(s) URL with a host"
    netloc = host if ":" not in host else f"[{host}]"
    if port:
        netloc += f":{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), netloc, target


async def _exchange(conn: _Conn, request: bytes) -> Answer:
    """Send the request and read the answer (module doc)."""
    reader = conn.reader
    try:
        conn.writer.write(request)
        await conn.writer.drain()
        status, http11, fields = _head(await _lines(reader))
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise _Bad("closed", _CUT) from None
        raise _Closed from None
    except ConnectionError:
        raise _Closed from None
    while status < 200:  # RFC 9110 section 15.2: interim answers before the final one
        if status == 101:
            raise _Bad("protocol", "not an HTTP answer: 101 Switching Protocols, to a "
                       "request that asked for no upgrade")
        status, http11, fields = _head(await _lines(reader))
    lengths: list[str] = []
    codings: list[str] = []
    options: list[str] = []
    for name, value in fields:
        low = name.lower()
        if low == "content-length":
            lengths += value.split(",")
        elif low == "transfer-encoding":
            codings += value.lower().split(",")
        elif low == "connection":
            options += [o.strip(" \t") for o in value.lower().split(",")]
    keep = "close" not in options and (http11 or "keep-alive" in options)
    body = _Body()
    # RFC 9112 section 6.3, in its order (1xx were skipped, and a POST is no HEAD).
    if status in (204, 304):
        done = True
    elif codings:
        if [c.strip(" \t") for c in codings] != ["chunked"]:
            raise _Bad("protocol", f"not an HTTP answer: Transfer-Encoding "
                       f"{','.join(codings)!r} (only chunked is read)")
        # Section 6.1: with a Content-Length too, or in HTTP/1.0, the framing is suspect:
        # the connection is closed after the answer.
        keep = keep and http11 and not lengths
        done = await _chunked(reader, body)
    elif lengths:
        values = {v.strip(" \t") for v in lengths}
        length = values.pop()
        if values or _DIGITS.fullmatch(length) is None:  # section 6.3, item 5
            raise _Bad("protocol", f"not an HTTP answer: Content-Length "
                       f"{','.join(lengths)!r}")
        n = int(length)
        if n <= BODY_MAX:
            done = await body.exactly(reader, n)
        else:  # draining it to reuse the connection is not worth it: keep the start
            done = False
            await body.exactly(reader, BODY_KEPT)
    else:  # section 6.3, item 8: the body runs until the server closes
        keep = False
        done = await body.until_closed(reader)
    return status, fields, bytes(body.kept), keep and done


async def _line(reader: asyncio.StreamReader) -> bytes:
    """One line without its end. RFC 9112 section 2.2: a recipient may take a bare LF for
    the end of a line and ignore a CR before it; h11, which this client replaced, does,
    and so do the small receivers people write."""
    line = await reader.readuntil(b"\n")
    return line[:-2] if line[-2:] == b"\r\n" else line[:-1]


async def _lines(reader: asyncio.StreamReader) -> list[str]:
    """The lines of a head, up to the empty line that ends it, at most HEAD_MAX bytes and
    FIELDS_MAX field lines (obsolete folding, RFC 9112 section 5.2, joined with a space)."""
    lines: list[str] = []
    left = HEAD_MAX
    while line := await _line(reader):
        left -= len(line) + 2
        if left < 0:
            raise _Bad("protocol", f"not an HTTP answer: a head over {HEAD_MAX} bytes")
        text = line.decode("latin-1")
        if text[0] in " \t":
            if len(lines) < 2:
                raise _Bad("protocol", "not an HTTP answer: a folded first line")
            lines[-1] += " " + text.lstrip(" \t")
            continue
        if len(lines) > FIELDS_MAX:
            raise _Bad("protocol", f"not an HTTP answer: over {FIELDS_MAX} header fields")
        lines.append(text)
    if not lines:
        raise _Bad("protocol", "not an HTTP answer: an empty line for a status line")
    return lines


def _head(lines: list[str]) -> tuple[int, bool, list[tuple[str, str]]]:
    """Status, HTTP/1.1 (or later 1.x) or not, and the fields of a head's lines."""
    status = _STATUS.fullmatch(lines[0])
    if status is None:
        raise _Bad("protocol", f"not an HTTP answer: the status line {lines[0][:80]!r}")
    fields: list[tuple[str, str]] = []
    for field in lines[1:]:
        m = _FIELD.fullmatch(field)
        if m is None:
            raise _Bad("protocol", f"not an HTTP answer: the field line {field[:80]!r}")
        fields.append((m[1], m[2]))
    return int(status[2]), status[1] != "0", fields


async def _chunked(reader: asyncio.StreamReader, body: _Body) -> bool:
    """A chunked body (RFC 9112 section 7.1); False when stopped past BODY_MAX."""
    while True:
        line = await _line(reader)
        m = _CHUNK.fullmatch(line)
        if m is None:
            raise _Bad("protocol", f"not an HTTP answer: the chunk line {line[:80]!r}")
        size = int(m[1], 16)
        if size == 0:
            break
        if not await body.exactly(reader, size):
            return False
        if await _line(reader):
            raise _Bad("protocol", "not an HTTP answer: a chunk longer than its size")
    # Section 7.1.2: the trailer section, field lines up to an empty one; read, not kept.
    left, count = HEAD_MAX, 0
    while line := await _line(reader):
        left -= len(line) + 2
        count += 1
        if left < 0 or count > FIELDS_MAX:
            raise _Bad("protocol", "not an HTTP answer: a trailer section over "
                       f"{HEAD_MAX} bytes or {FIELDS_MAX} fields")
    return True


class _Body:
    """A body being read: its first BODY_KEPT bytes kept, and the count of bytes read."""

    __slots__ = ("kept", "read")

    def __init__(self) -> None:
        self.kept = bytearray()
        self.read = 0

    def add(self, data: bytes) -> bool:
        """Take ``data``; False once past BODY_MAX (read no more)."""
        if len(self.kept) < BODY_KEPT:
            self.kept += data[:BODY_KEPT - len(self.kept)]
        self.read += len(data)
        return self.read <= BODY_MAX

    async def exactly(self, reader: asyncio.StreamReader, n: int) -> bool:
        """Read ``n`` bytes; False when stopped past BODY_MAX."""
        while n > 0:
            data = await reader.read(min(n, 65536))
            if not data:
                raise _Bad("closed", _CUT)
            n -= len(data)
            if not self.add(data):
                return False
        return True

    async def until_closed(self, reader: asyncio.StreamReader) -> bool:
        """Read to the end of the connection; False when stopped past BODY_MAX."""
        while data := await reader.read(65536):
            if not self.add(data):
                return False
        return True


class _Closed(Exception):
    """The connection ended before any byte of an answer."""


class _Bad(Exception):
    """A failed call: ``error`` as in :class:`Failed`, the description as the message."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error


def _ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)
