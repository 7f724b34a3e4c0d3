"""Steps 2-4: one SMTP connection to one target, driven step by step; nothing escapes.

:mod:`bounceloop.delivery.wire` reads the replies; this adapter turns each step into a
:class:`StepResult` and every exception - timeouts, refused or reset connections, TLS
failures, garbage replies, a 421 in mid-session - into a result too. So the engine deals in
results, not exceptions (DEVELOPERS.md: exceptions stop at the adapter).

    open()        connect (our own socket, so a refused connection and a silent greeting are
                  told apart), greeting, EHLO (HELO when EHLO is not understood), STARTTLS
                  when offered (opportunistic: a failed handshake reconnects in plain text;
                  required: it fails the attempt)
    transaction() MAIL FROM with DSN parameters when offered (RFC 3461), one RCPT per
                  recipient (each answered on its own), DATA, the content, the final dot;
                  when the server offers PIPELINING (RFC 2920) MAIL, the RCPTs and DATA go
                  in one write and their replies are read in order
    reset()       RSET between transactions on a reused connection (pipelined with the
                  next transaction's commands when the server allows it)
    then=         with PIPELINING, the next transaction's MAIL, RCPTs and DATA go out in
                  the same write as this one's content and final dot (RFC 2920 section
                  3.1: message content may lead a group), so a reused connection costs one
                  write and one round trip a message, not two
    close()       QUIT, politely, ignoring what happens

After the server's 354, the content and the final dot are written together, and only by
``on_final_dot``: the engine marks the message in flight there and writes them straight
after, so a process killed between the dot and the reply knows afterwards that the server
may have the message (RFC 1047's window), and does not send it twice; see
delivery.journal for the microseconds that remain.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bounceloop.config import Settings
from bounceloop.delivery.resolver import Target
from bounceloop.delivery.result import StepResult
from bounceloop.delivery.wire import Closed, Garbage, Reply, Wire, WireError


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 30.0
    greeting: float = 300.0
    command: float = 300.0
    data: float = 600.0

    @classmethod
    def of(cls, settings: Settings) -> Timeouts:
        return cls(settings.connect_timeout, settings.greeting_timeout,
                   settings.command_timeout, settings.data_timeout)


def _tls_context() -> ssl.SSLContext:
    # MX-to-MX TLS is opportunistic: certificates of MX hosts rarely match and nobody checks
    # them (RFC 7435); "required" TLS means encryption, as Postfix's "encrypt" level does.
    # The context create_default_context() builds for a client, less the system's CA
    # certificates: loading them took about 20 ms of every start-up, for a check we turn off.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


_TLS = _tls_context()


_XTEXT_PLAIN = re.compile(r"[!-*,-<>-~]*")


def xtext(value: str) -> str:
    """RFC 3461 section 4 xtext: '+', '=' and characters outside '!'..'~' as +HH."""
    if _XTEXT_PLAIN.fullmatch(value):  # the usual address: nothing to encode
        return value
    return "".join(c if "!" <= c <= "~" and c not in "+=" else f"+{ord(c):02X}" for c in value)


def prepare(content: bytes) -> bytes:
    """Message content for DATA: CRLF line ends, leading dots doubled (RFC 5321 4.5.2),
    ending with CRLF. The final dot is not included."""
    text = content.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not text.endswith(b"\n"):
        text += b"\n"
    lines = text.split(b"\n")[:-1]
    return b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n"
                    for line in lines)


#: What a step can raise, all turned into results.
_TROUBLE = (WireError, OSError, ssl.SSLError, TimeoutError)


def parse_ehlo(text: str) -> dict[str, str]:
    """EHLO reply lines after the first -> {keyword (lower case): parameters}."""
    out: dict[str, str] = {}
    for line in text.split("\n")[1:]:
        keyword, _, params = line.strip().partition(" ")
        if keyword:
            out[keyword.lower()] = params.strip()
    return out


@dataclass(frozen=True, slots=True)
class Next:
    """The transaction a lane will run next on the same connection, whose commands may go
    out with this one's final dot (see :meth:`Connection.transaction`)."""

    envelope: str
    recipients: Sequence[str]
    content: bytes
    envid: str = ""


class _Dot:
    """Writes the message content and its final dot, once, in one write: the engine calls
    it right after marking the message in flight (nothing of the message goes out before,
    so a process killed before it leaves the server only an empty DATA to discard).
    ``after``: the next transaction's commands, in the same write."""

    __slots__ = ("after", "content", "sent", "wire")

    def __init__(self, wire: Wire, content: bytes, after: bytes = b"") -> None:
        self.wire = wire
        self.content = content
        self.after = after
        self.sent = False

    def __call__(self) -> None:
        if not self.sent:
            self.wire.write(self.content + b".\r\n" + self.after)
            self.sent = True


class Connection:
    """An SMTP session with one target. Build, :meth:`open`, use, :meth:`close`."""

    def __init__(self, target: Target, hostname: str, timeouts: Timeouts,
                 tls: str = "opportunistic") -> None:
        self.target = target
        self.hostname = hostname
        self.timeouts = timeouts
        self.tls_mode = tls
        self.wire: Wire | None = None
        self.extensions: dict[str, str] = {}
        self.encrypted = False
        self.transactions = 0
        self.opened_at = 0.0
        self._rset_due = False
        self.ahead: Next | None = None
        """The transaction whose commands went out with the last final dot: the next call
        of :meth:`transaction` must be for it, and reads their replies."""
        self._ahead_commands: list[tuple[str, bytes]] = []

    @property
    def alive(self) -> bool:
        return self.wire is not None and self.wire.alive

    @property
    def dsn(self) -> bool:
        return "dsn" in self.extensions

    @property
    def pipelining(self) -> bool:
        return "pipelining" in self.extensions

    def _reply(self, state: str, reply: Reply) -> StepResult:
        return StepResult.reply(state, reply.code, reply.text, self.target.mx, self.target.ip)

    def _fail(self, state: str, exc: BaseException) -> StepResult:
        t = self.target
        where = f"{t.mx}[{t.ip}]"
        if isinstance(exc, Garbage):
            return StepResult(state, "invalid", "", "4.5.0", f"{where}: {exc} ({state})",
                              t.mx, t.ip)
        if isinstance(exc, TimeoutError):
            what = "no greeting in time" if state == "greeting" else f"no reply in time ({state})"
            return StepResult(state, "timeout", "", "4.4.2", f"{where}: {what}", t.mx, t.ip)
        if isinstance(exc, ssl.SSLError) or (state == "starttls" and not isinstance(exc, Closed)):
            return StepResult(state, "tls", "", "4.7.0",
                              f"{where}: TLS handshake failed: {exc or type(exc).__name__}",
                              t.mx, t.ip)
        text = str(exc) or type(exc).__name__
        return StepResult(state, "lost", "", "4.4.2", f"{where}: {text} ({state})", t.mx, t.ip)

    async def _ask(self, state: str, line: bytes, timeout: float | None = None) -> Reply:
        assert self.wire is not None
        self.wire.write(line)
        return await self.wire.read(self.timeouts.command if timeout is None else timeout)

    # ------------------------------------------------------------------ open

    async def open(self) -> StepResult | None:
        """Connect and greet. None when ready for a transaction, else why not."""
        failure = await self._open(tls=self.tls_mode != "off")
        if failure is not None and failure.state == "starttls" and (
                self.tls_mode == "opportunistic"):
            # RFC 3207 section 4.1 leaves it to the client; an opportunistic one goes on in
            # plain text rather than not delivering at all.
            await self.abort()
            failure = await self._open(tls=False)
        return failure

    async def _open(self, tls: bool) -> StepResult | None:
        t = self.target
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in t.ip else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        # asyncio sets TCP_NODELAY only on sockets it creates itself. Without it the final
        # dot, a small write after the content, waits for the peer's delayed ACK (Nagle,
        # RFC 896/1122): about 40 ms per message on Linux.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opened_at = time.monotonic()
        self.extensions = {}
        self.encrypted = False
        self._rset_due = False
        self.ahead = None
        try:
            async with asyncio.timeout(self.timeouts.connect):
                await loop.sock_connect(sock, (t.ip, t.port))
        except TimeoutError:
            sock.close()
            return StepResult("connect", "timeout", "", "4.4.1",
                              f"connect to {t.mx}[{t.ip}]:{t.port}: timed out", t.mx, t.ip)
        except OSError as exc:
            sock.close()
            return StepResult("connect", "refused", "", "4.4.1",
                              f"connect to {t.mx}[{t.ip}]:{t.port}: "
                              f"{exc.strerror or type(exc).__name__}", t.mx, t.ip)
        _, self.wire = await loop.create_connection(Wire, sock=sock)
        try:
            greeting = await self.wire.read(self.timeouts.greeting)
        except _TROUBLE as exc:
            await self.abort()
            return self._fail("greeting", exc)
        if greeting.code != 220:
            # RFC 5321 3.1: a 554 (or 421) greeting; QUIT is still polite.
            await self.close()
            return self._reply("greeting", greeting)
        failure = await self._hello()
        if failure is not None:
            return failure
        if tls and "starttls" in self.extensions:
            failure = await self._starttls()
            if failure is not None:
                return failure
        elif self.tls_mode == "required":
            await self.close()
            return StepResult("starttls", "tls", "", "4.7.0",
                              f"{t.mx}[{t.ip}]: STARTTLS required but not offered", t.mx, t.ip)
        return None

    async def _hello(self) -> StepResult | None:
        name = self.hostname.encode("idna")
        state = "ehlo"
        try:
            reply = await self._ask(state, b"EHLO " + name + b"\r\n")
            if reply.code == 250:
                self.extensions = parse_ehlo(reply.text)
                return None
            if reply.code not in (500, 502, 504):
                await self.close()
                return self._reply(state, reply)
            # RFC 5321 4.1.4: a server that does not know EHLO gets HELO.
            state = "helo"
            reply = await self._ask(state, b"HELO " + name + b"\r\n")
            if reply.code == 250:
                self.extensions = {}
                return None
            await self.close()
            return self._reply(state, reply)
        except _TROUBLE as exc:
            await self.abort()
            return self._fail(state, exc)

    async def _starttls(self) -> StepResult | None:
        assert self.wire is not None
        t = self.target
        try:
            reply = await self._ask("starttls", b"STARTTLS\r\n")
            if reply.code != 220:
                await self.close()
                return self._reply("starttls", reply)
            await self.wire.starttls(_TLS, t.mx, self.timeouts.command)
        except _TROUBLE as exc:
            await self.abort()
            return self._fail("starttls", exc)
        self.encrypted = True
        return await self._hello()  # RFC 3207 4.2: forget what was learnt before TLS

    # ------------------------------------------------------------------ transactions

    async def reset(self) -> bool:
        """RSET before the next transaction; False when the connection is not usable.

        With PIPELINING the RSET waits and goes out with the next transaction's commands
        (RFC 2920 section 3.1 lets RSET lead a pipelined group).
        """
        if not self.alive:
            return False
        if self.pipelining:
            self._rset_due = True
            return True
        try:
            reply = await self._ask("mailfrom", b"RSET\r\n")
        except _TROUBLE:
            await self.abort()
            return False
        return reply.code == 250

    def _commands(self, envelope: str, recipients: Sequence[str], content: bytes,
                  envid: str) -> list[tuple[str, bytes]]:
        mail = [f"MAIL FROM:<{envelope}>".encode()]
        if "size" in self.extensions:
            mail.append(f"SIZE={len(content)}".encode())
        if "8bitmime" in self.extensions and not content.isascii():
            mail.append(b"BODY=8BITMIME")
        if self.dsn:
            # RFC 3461: return headers only, and our id, should the message bounce later.
            mail.append(b"RET=HDRS")
            if envid:
                mail.append(f"ENVID={xtext(envid)}".encode())
        commands = [("reset", b"RSET\r\n")] if self._rset_due else []
        commands.append(("mailfrom", b" ".join(mail) + b"\r\n"))
        for rcpt in recipients:
            line = f"RCPT TO:<{rcpt}>"
            if self.dsn:
                line += f" NOTIFY=FAILURE ORCPT=rfc822;{xtext(rcpt)}"
            commands.append(("rcptto", line.encode() + b"\r\n"))
        commands.append(("data", b"DATA\r\n"))
        return commands

    async def transaction(
        self,
        envelope: str,
        recipients: Sequence[str],
        content: bytes,
        *,
        envid: str = "",
        on_final_dot: Callable[[Callable[[], None]], Awaitable[None]] | None = None,
        then: Next | None = None,
    ) -> dict[str, StepResult]:
        """Deliver prepared ``content`` (see :func:`prepare`) to ``recipients``.

        Returns one result per recipient: its RCPT refusal, or the outcome of DATA. Never
        raises (but for what ``on_final_dot`` raises); a connection that broke is closed
        (``alive`` turns False).

        ``then``: with PIPELINING, the commands of that next transaction are written with
        this one's final dot (RFC 2920 section 3.1 lets message content lead a group), with
        no RSET: the reply to the final dot ends the transaction and clears the server's
        buffers, whatever it says (RFC 5321 section 4.1.1.4). Afterwards ``ahead`` is that
        transaction when its commands went out and the connection is still usable; the
        caller's next call must then be for it. Otherwise ``ahead`` is None and the
        caller still holds ``then`` (without a final dot, or on a connection that broke,
        nothing of it was sent or it is void).
        """
        wire = self.wire
        assert wire is not None
        self.transactions += 1
        pipelined = self.pipelining
        sent = self.ahead
        if sent is not None:
            # Its commands went out with the last final dot; their replies are next.
            assert (sent.envelope, list(sent.recipients), sent.envid) == (
                envelope, list(recipients), envid), "not the transaction sent ahead"
            commands, self._ahead_commands, self.ahead = self._ahead_commands, [], None
        else:
            commands = self._commands(envelope, recipients, content, envid)
        self._rset_due = False
        results: dict[str, StepResult] = {}
        refused: StepResult | None = None  # MAIL (or the RSET before it) said no
        accepted: list[str] = []
        waiting = list(recipients)
        state = "mailfrom"
        timeout = self.timeouts.command
        try:
            if pipelined and sent is None:
                wire.write(b"".join(line for _, line in commands))
            for kind, line in commands:
                state = "mailfrom" if kind == "reset" else kind
                if not pipelined:
                    if refused is not None or (kind == "data" and not accepted):
                        break
                    wire.write(line)
                reply = await wire.read(timeout)
                if reply.code == 421:
                    # RFC 5321 3.8: the server is closing; everyone still waiting (and
                    # those accepted, whose transaction it ends) gets its answer.
                    await self.abort()
                    closing = self._reply(state, reply)
                    return {r: results.get(r, closing) for r in recipients}
                if kind == "reset":
                    if reply.code != 250:
                        refused = self._reply(state, reply)
                elif kind == "mailfrom":
                    if reply.code != 250 and refused is None:
                        refused = self._reply(state, reply)
                elif kind == "rcptto":
                    rcpt = waiting.pop(0)
                    if refused is not None:
                        continue  # a 503 after the refused MAIL says nothing new
                    if reply.code in (250, 251):
                        accepted.append(rcpt)
                    else:
                        results[rcpt] = self._reply(state, reply)
                elif reply.code == 354 and (refused is not None or not accepted):
                    # RFC 2920 3.1: DATA was sent ahead and accepted although no recipient
                    # was; end the empty message with a lone dot.
                    wire.write(b".\r\n")
                    await wire.read(timeout)
                elif reply.code != 354 and refused is None and accepted:
                    failed = self._reply(state, reply)
                    return results | dict.fromkeys(accepted, failed)
            if refused is not None:
                return dict.fromkeys(recipients, refused)
            if not accepted:
                return results
            state = "message"
            following: list[tuple[str, bytes]] = []
            if then is not None and pipelined:
                following = self._commands(then.envelope, then.recipients, then.content,
                                           then.envid)
            dot = _Dot(wire, content, b"".join(line for _, line in following))
            if on_final_dot is None:
                dot()
            else:
                try:
                    await on_final_dot(dot)
                except BaseException:
                    if not dot.sent:
                        # Not recorded as in flight, so the message must not be completed:
                        # without its final dot the server discards it (RFC 5321 4.1.1.4).
                        await self.abort()
                    raise
                if not dot.sent:
                    dot()
            reply = await wire.read(self.timeouts.data)
            outcome = self._reply(state, reply)
            if reply.code == 421:
                await self.abort()
            elif following:
                self.ahead, self._ahead_commands = then, following
            return results | dict.fromkeys(accepted, outcome)
        except _TROUBLE as exc:
            # The transaction broke: recipients already refused keep their refusal, all
            # others (accepted or not yet asked) get what broke it.
            await self.abort()
            failure = self._fail(state, exc)
            return {r: results.get(r, failure) for r in recipients}

    # ------------------------------------------------------------------ closing

    async def abort(self) -> None:
        """Drop the connection at once, without QUIT (mid-DATA: the message is void)."""
        wire, self.wire = self.wire, None
        self.ahead = None
        if wire is not None:
            wire.abort()

    async def close(self) -> None:
        """QUIT when still connected; close in any case. Never raises."""
        if self.ahead is not None:
            # The next transaction's DATA may have been answered 354: a QUIT now would be
            # message text. Without its final dot the server discards it (RFC 5321
            # 4.1.1.4).
            await self.abort()
            return
        wire, self.wire = self.wire, None
        if wire is None:
            return
        try:
            if wire.alive:
                wire.write(b"QUIT\r\n")
                await wire.read(2.0)
        except _TROUBLE:
            pass
        finally:
            wire.close()
