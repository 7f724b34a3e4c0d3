"""The SMTP client's wire: write command lines, read replies - pipelined or one at a time.

An asyncio protocol that parses every reply the server sends (RFC 5321 section 4.2:
``code SP text`` or ``code - text`` continuation lines) into a queue as the bytes arrive, so
several commands may be written at once and their replies read in order afterwards
(PIPELINING, RFC 2920). What it cannot parse is kept as the reason the next read fails.

Why not aiosmtplib, the stack's choice (DEVELOPERS.md records the change): its protocol
expects one reply per written command and awaited read - replies that arrive while
another is waiting to be picked up are dropped - so it cannot pipeline, and pipelining
halves the round trips of every message. The rest it did for us (STARTTLS, reply parsing)
is the few lines below.

Reads raise only :class:`WireError` (its kinds: :class:`Closed`, :class:`Garbage`),
``TimeoutError`` and ``ssl.SSLError``/``OSError`` from STARTTLS; the session turns each
into a step result.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from dataclasses import dataclass

#: RFC 5321 4.5.3.1.5 allows 512 octets a reply line; real servers send longer ones.
MAX_LINE = 4096
#: Lines in one reply (an EHLO reply has one per extension).
MAX_LINES = 200


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    text: str
    """The lines' texts without their codes, joined by newlines."""


class WireError(Exception):
    """The connection cannot give a reply."""


class Closed(WireError):
    """The server closed or reset the connection."""


class Garbage(WireError):
    """The server sent something that is not an SMTP reply."""


def _code(line: bytes) -> int | None:
    head = line[:3]
    if (len(head) == 3 and head.isdigit() and head[:1] in b"2345"
            and (len(line) == 3 or line[3:4] in (b" ", b"-"))):
        return int(head)
    return None


class Wire(asyncio.Protocol):
    """One connection's replies, parsed as they arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.replies: collections.deque[Reply] = collections.deque()
        self.error: WireError | None = None
        self._buffer = bytearray()
        self._lines: list[str] = []
        self._waiter: asyncio.Future[None] | None = None

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.error is not None:
            return
        self._buffer += data
        self._parse()
        self._wake()

    def eof_received(self) -> bool:
        self._fail(Closed("connection closed by the server"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"connection lost: {exc}" if exc else "connection closed by the server"
        self._fail(Closed(reason))

    # -- parsing -----------------------------------------------------------------------

    def _parse(self) -> None:
        # Every complete line of the buffer in one pass, the buffer cut once at the end (a
        # pipelined group's replies arrive together: a cut per line moved the rest each
        # time).
        buffer = self._buffer
        start = 0
        try:
            while True:
                end = buffer.find(b"\n", start)
                if end < 0:
                    if len(buffer) - start > MAX_LINE:
                        self._fail(Garbage(f"reply line longer than {MAX_LINE} octets"))
                    return
                line = bytes(buffer[start:end]).rstrip(b"\r")
                start = end + 1
                code = _code(line)
                if code is None or len(line) > MAX_LINE:
                    shown = line[:200].decode("utf-8", "replace")
                    self._fail(Garbage(f"not an SMTP reply: {shown!r}"))
                    return
                self._lines.append(line[4:].decode("utf-8", "replace").strip())
                if len(self._lines) > MAX_LINES:
                    self._fail(Garbage(f"reply of more than {MAX_LINES} lines"))
                    return
                if line[3:4] != b"-":
                    self.replies.append(Reply(code, "\n".join(self._lines)))
                    self._lines = []
        finally:
            del buffer[:start]

    def _fail(self, error: WireError) -> None:
        if self.error is None:
            self.error = error
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the client's side -------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return (self.error is None and self.transport is not None
                and not self.transport.is_closing())

    def write(self, data: bytes) -> None:
        if not self.alive:
            raise self.error or Closed("connection closed")
        assert self.transport is not None
        self.transport.write(data)

    async def read(self, timeout: float) -> Reply:
        """The next reply; waits at most ``timeout`` seconds for it."""
        if not self.replies and self.error is None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while not self.replies and self.error is None:
                # Woken by every chunk of data, which need not complete a reply.
                waiter = self._waiter = loop.create_future()
                timer = loop.call_at(deadline, _expire, waiter)
                try:
                    await waiter
                finally:
                    timer.cancel()
                    self._waiter = None
        if self.replies:
            return self.replies.popleft()
        raise self.error or Closed("connection closed")

    async def starttls(self, context: ssl.SSLContext, server_hostname: str,
                       timeout: float) -> None:
        """Upgrade the connection (RFC 3207), forgetting anything read before."""
        assert self.transport is not None
        self._buffer.clear()
        self.replies.clear()
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(self.transport, self, context,
                                         server_hostname=server_hostname,
                                         ssl_handshake_timeout=timeout)
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


__all__ = ["Closed", "Garbage", "Reply", "Wire", "WireError"]
