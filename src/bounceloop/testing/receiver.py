"""A real HTTP server on loopback that receives webhook calls, for tests and benches.

It answers what the test says, changeable while it runs: a ``status`` (200, 500, 410...),
after a ``delay``; or ``close`` the connection without answering; or go ``down`` (stop
listening: connections are refused) and come back ``up`` on the same port. With ``echo``
it answers a verification call with its token, as a receiver that proves ownership does.
Every request is kept (:class:`Received`), with the time it arrived.

Built on asyncio streams and h11 (server role), keep-alive included, so the client under
test meets the same protocol a real receiver speaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import h11


@dataclass(frozen=True, slots=True)
class Received:
    time: float
    method: str
    target: str
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes

    @property
    def event(self) -> str:
        return self.headers.get("x-bounceloop-event", "")

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    port: int = 0
    status: int = 200
    delay: float = 0.0
    close: bool = False
    echo: bool = False
    body: bytes = b"ok"
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    """The status given to each request (0: closed without one), in order."""
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    async def up(self) -> None:
        """Listen (again, on the same port)."""
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                      reuse_address=True)
            self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Stop listening and drop open connections: calls are refused."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Receiver:
        await self.up()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.down()

    def events(self, status: int = 200) -> list[str]:
        """Event ids of the calls answered ``status`` (default: those that succeeded)."""
        return [r.event for r, s in zip(self.requests, self.answers, strict=False)
                if s == status]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                     ) -> None:
        self._writers.add(writer)
        conn = h11.Connection(our_role=h11.SERVER)
        try:
            while True:
                request = await self._request(conn, reader)
                if request is None:
                    return
                self.requests.append(request)
                if self.delay:
                    await asyncio.sleep(self.delay)
                if self.close:
                    self.answers.append(0)
                    return
                status = self.status
                body = self.body
                if self.echo:
                    body = (request.form.get("token") or [""])[0].encode()
                self.answers.append(status)
                writer.write(conn.send(h11.Response(status_code=status, headers=[
                    ("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                    ("X-Receiver", "test")])) or b"")
                writer.write(conn.send(h11.Data(data=body)) or b"")
                writer.write(conn.send(h11.EndOfMessage()) or b"")
                await writer.drain()
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _request(self, conn: h11.Connection, reader: asyncio.StreamReader
                       ) -> Received | None:
        head: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed):
                return None
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                return Received(
                    time=time.time(), method=head.method.decode(), target=head.target.decode(),
                    headers={k.decode().lower(): v.decode() for k, v in head.headers},
                    body=bytes(body))
