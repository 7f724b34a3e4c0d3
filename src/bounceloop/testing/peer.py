"""ScriptedPeer: a raw TCP server that plays a fixed SMTP dialogue, right or wrong.

aiosmtpd always greets with ``220`` and always speaks valid SMTP, but the delivery engine
must also survive servers that greet with ``554``, send multi-line replies in odd places,
fall silent, hang up mid-command, answer with binary garbage, or send ``421`` in the middle
of a transaction (RFC 5321 section 3.8). ScriptedPeer plays a list of steps on each
connection and records what the client sent, so those cases are tested over a real socket.

Steps (tuples):

* ``("send", text)``: write ``text`` (str as UTF-8, or bytes) verbatim; include the
  ``\\r\\n`` yourself, so a multi-line reply is ``"250-a\\r\\n250 b\\r\\n"`` and a reply
  cut short is just a string without its line end;
* ``("garbage", data)``: the same, for bytes that are not SMTP (named for the reader);
* ``("expect", prefix)``: read one line from the client and check it starts with
  ``prefix`` (case-insensitive, e.g. ``"EHLO"``, ``"MAIL FROM"``); ``None`` accepts any
  line. A mismatch is recorded in ``errors`` and ends the connection;
* ``("expect_data",)``: read message content up to the lone ``.`` line;
* ``("stall", seconds)``: say nothing for that long (a client read timeout);
* ``("close",)``: close the connection (FIN);
* ``("reset",)``: abort it with a TCP RST (SO_LINGER 0): the client sees ECONNRESET.

When the steps run out the connection is closed, unless ``hold=True``: then the peer keeps
reading (and recording) without answering until the client leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from bounceloop.testing.lifecycle import Served

__all__ = ["PeerSession", "ScriptedPeer", "Step"]

Step: TypeAlias = (
    tuple[Literal["send"], str | bytes]
    | tuple[Literal["garbage"], bytes]
    | tuple[Literal["expect"], str | None]
    | tuple[Literal["expect_data"]]
    | tuple[Literal["stall"], float]
    | tuple[Literal["close"]]
    | tuple[Literal["reset"]]
)


@dataclass
class PeerSession:
    """What happened on one connection.

    ``received``: the client's command lines, without the line end; ``data``: message
    contents read by ``expect_data`` (as sent, dot-stuffing included, without the final
    dot line); ``errors``: expectation failures; ``steps_done``: how far the script got;
    ``client_closed``: the client hung up before the peer did.
    """

    peer: tuple[str, int]
    received: list[bytes] = field(default_factory=list)
    data: list[bytes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    steps_done: int = 0
    client_closed: bool = False


class _ClientGone(Exception):
    pass


class ScriptedPeer(Served):
    """A TCP server on ``host:port`` (port 0: any free one) playing ``scripts``.

    Connection *n* (counting from 0) plays ``scripts[n]``, the last script repeating for
    later ones, so ``ScriptedPeer(greet_421, normal)`` refuses the first attempt and serves
    the retry. ``async with ScriptedPeer(script) as peer:`` then connect to
    ``(peer.host, peer.port)``; ``peer.sessions`` holds one :class:`PeerSession` per
    connection.
    """

    def __init__(self, *scripts: Sequence[Step], host: str = "127.0.0.1", port: int = 0,
                 hold: bool = False) -> None:
        if not scripts:
            raise ValueError("ScriptedPeer needs at least one script")
        for script in scripts:
            for step in script:
                _check_step(step)
        self.scripts = [list(script) for script in scripts]
        self.host = host
        self.port = port
        self.hold = hold
        self.sessions: list[PeerSession] = []
        self._server: asyncio.Server | None = None
        self._closing = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def received(self) -> list[str]:
        """Every line the clients sent, all connections in order, decoded as Latin-1."""
        return [line.decode("latin-1") for s in self.sessions for line in s.received]

    @property
    def errors(self) -> list[str]:
        """Every expectation failure, all connections; a passing test expects none."""
        return [error for s in self.sessions for error in s.errors]

    async def start(self) -> None:
        self._closing.clear()
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and end every connection; running scripts stop where they are."""
        if self._server is None:
            return
        self._server.close()
        # Stalls wait on this event and reads end when their transport closes, so every
        # handler returns on its own: cancelling them instead makes Python 3.11's
        # start_server log a CancelledError from its done-callback.
        self._closing.set()
        for writer in list(self._writers):
            writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        peer = writer.get_extra_info("peername")
        session = PeerSession(peer=(str(peer[0]), int(peer[1])))
        script = self.scripts[min(len(self.sessions), len(self.scripts) - 1)]
        self.sessions.append(session)
        try:
            with contextlib.suppress(_ClientGone, ConnectionError):
                ended = await self._play(script, session, reader, writer)
                if not ended and self.hold:
                    while not self._closing.is_set():
                        session.received.append(await self._read_line(reader, session))
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def _play(self, script: Sequence[Step], session: PeerSession,
                    reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Run the steps; True if the script itself ended the connection."""
        for step in script:
            if self._closing.is_set():
                return True
            match step:
                case ("send", payload):
                    writer.write(payload.encode() if isinstance(payload, str) else payload)
                    await writer.drain()
                case ("garbage", payload):
                    writer.write(payload)
                    await writer.drain()
                case ("expect", prefix):
                    line = await self._read_line(reader, session)
                    session.received.append(line)
                    if prefix is not None and not line.upper().startswith(
                            prefix.upper().encode()):
                        session.errors.append(f"step {session.steps_done}: expected "
                                              f"{prefix!r}, got {line!r}")
                        return True
                case ("expect_data",):
                    session.data.append(await self._read_data(reader, session))
                case ("stall", seconds):
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), seconds)
                case ("close",):
                    session.steps_done += 1
                    return True
                case ("reset",):
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    session.steps_done += 1
                    return True
            session.steps_done += 1
        return not self.hold


    async def _read_line(self, reader: asyncio.StreamReader, session: PeerSession) -> bytes:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as error:
            if error.partial:
                session.received.append(error.partial)
            session.client_closed = not self._closing.is_set()
            raise _ClientGone from error
        return line.rstrip(b"\r\n")

    async def _read_data(self, reader: asyncio.StreamReader, session: PeerSession) -> bytes:
        # RFC 5321 section 4.1.1.4: the content ends with a line holding a single dot.
        lines: list[bytes] = []
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as error:
                session.data.append(b"".join(lines) + error.partial)
                session.client_closed = not self._closing.is_set()
                raise _ClientGone from error
            if line in (b".\r\n", b".\n"):
                return b"".join(lines)
            lines.append(line)


def _check_step(step: Step) -> None:
    kinds = {"send": 2, "garbage": 2, "expect": 2, "expect_data": 1, "stall": 2, "close": 1,
             "reset": 1}
    if not isinstance(step, tuple) or not step or kinds.get(step[0]) != len(step):
        raise ValueError(f"bad ScriptedPeer step {step!r}: want one of {sorted(kinds)}")
