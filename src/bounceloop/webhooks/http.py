"""A small HTTP/1.1 client for webhook calls: POST to a vetted address, never raise.

Why our own (on asyncio streams and h11, the sans-I/O HTTP/1.1 state machine that uvicorn
and httpcore use) and not a general client: the SSRF guard (webhooks.guard) resolves the
URL's host and vets every address, and the call must then go *to the address vetted* - a
client that resolves the name again could be sent elsewhere by DNS rebinding. So
:meth:`Client.post` takes the IP to connect to, and sends the URL's host in ``Host`` and in
TLS SNI (and checks the certificate against it). Like the SMTP client (delivery.wire) it
returns a result, :class:`Reply` or :class:`Failed`, and raises nothing.

Connections are kept alive per (scheme, IP, port, host) and reused by later calls. When a
kept-alive connection turns out closed (the server's idle timeout), the call is made once
more on a new connection; should the server have read the request before closing without
an answer, it gets it twice, which the at-least-once contract allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

#: Bytes of the response body kept for the failed-call log.
BODY_KEPT = 1024
#: Bytes of a response body read at most; a longer one closes the connection.
BODY_MAX = 1024 * 1024
#: Idle connections kept per destination.
IDLE_MAX = 100


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
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(our_role=h11.CLIENT)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


Key = tuple[str, str, int, str]


class Client:
    """Webhook calls, with kept-alive connections. ``verify``: check TLS certificates
    (off only for tests with a self-signed receiver); ``cafile``: extra trusted roots."""

    def __init__(self, *, verify: bool = True, cafile: str | None = None,
                 user_agent: str = "bounceloop") -> None:
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
        parts = urlsplit(url)
        tls = parts.scheme == "https"
        host = parts.hostname or ip
        port = parts.port or (443 if tls else 80)
        key: Key = (parts.scheme, ip, port, host)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        netloc = host if ":" not in host else f"[{host}]"
        if parts.port:
            netloc += f":{parts.port}"
        request = h11.Request(method="POST", target=target, headers=[
            ("Host", netloc), ("User-Agent", self.user_agent),
            ("Content-Length", str(len(body))), *headers])
        conn: _Conn | None = None
        try:
            async with asyncio.timeout(timeout):
                for fresh in (False, True):
                    conn = None if fresh else self._take(key)
                    reused = conn is not None
                    if conn is None:
                        conn = await self._open(ip, port, host if tls else None)
                    try:
                        reply = await self._exchange(conn, request, body)
                    except (ConnectionError, h11.RemoteProtocolError, _Closed):
                        conn.close()
                        if reused:
                            continue  # a kept-alive connection the server had closed
                        raise
                    self._keep(key, conn)
                    return Reply(reply[0], reply[1], reply[2], ip, _ms(start))
                raise _Closed  # pragma: no cover - the loop returns or raises
        except TimeoutError:
            return self._failed(conn, "timeout", f"no answer within {timeout:g} s", ip, start)
        except ssl.SSLError as exc:
            return self._failed(conn, "tls", f"TLS: {exc.reason or exc}", ip, start)
        except ConnectionRefusedError:
            return self._failed(conn, "refused", "connection refused", ip, start)
        except (_Closed, ConnectionError, asyncio.IncompleteReadError):
            return self._failed(conn, "closed", "the receiver closed the connection "
                                "without an answer", ip, start)
        except h11.ProtocolError as exc:
            return self._failed(conn, "protocol", f"not an HTTP answer: {exc}", ip, start)
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
            ip, port, ssl=self._ssl if sni else None, server_hostname=sni,
            limit=BODY_MAX)
        return _Conn(reader, writer)

    async def _exchange(self, conn: _Conn, request: h11.Request, body: bytes
                        ) -> tuple[int, list[tuple[str, str]], bytes]:
        h = conn.h11
        data = h.send(request) + (h.send(h11.Data(data=body)) if body else b"")
        data += h.send(h11.EndOfMessage()) or b""
        conn.writer.write(data)
        await conn.writer.drain()
        status = 0
        headers: list[tuple[str, str]] = []
        kept = bytearray()
        read = 0
        while True:
            event = h.next_event()
            if event is h11.NEED_DATA:
                chunk = await conn.reader.read(65536)
                if not chunk and status == 0:
                    raise _Closed
                h.receive_data(chunk)
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = [(k.decode("latin-1"), v.decode("latin-1"))
                           for k, v in event.headers.raw_items()]
            elif isinstance(event, h11.Data):
                read += len(event.data)
                if len(kept) < BODY_KEPT:
                    kept += event.data[:BODY_KEPT - len(kept)]
                if read > BODY_MAX:
                    conn.close()  # not worth reading on: and so not reusable
                    return status, headers, bytes(kept)
            elif isinstance(event, h11.EndOfMessage):
                return status, headers, bytes(kept)
            elif isinstance(event, h11.ConnectionClosed):
                raise _Closed

    def _take(self, key: Key) -> _Conn | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.writer.is_closing() and not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    def _keep(self, key: Key, conn: _Conn) -> None:
        h = conn.h11
        if (h.our_state is h11.DONE and h.their_state is h11.DONE
                and not conn.writer.is_closing()):
            h.start_next_cycle()
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


class _Closed(Exception):
    """The connection ended before a response."""


def _ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)
