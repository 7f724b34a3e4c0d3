"""Steps 2-4: one SMTP connection to one target, driven step by step; nothing escapes.

aiosmtplib does the protocol (reply parsing, multi-line replies, STARTTLS); this adapter
turns each step into a :class:`StepResult` and every exception - timeouts, refused or reset
connections, TLS failures, garbage replies, a 421 in mid-session - into a result too. So the
engine deals in results, not exceptions (DEVELOPERS.md: exceptions stop at the adapter).

    open()        connect (our own socket, so a refused connection and a silent greeting are
                  told apart), greeting, EHLO (HELO when EHLO is not understood), STARTTLS
                  when offered (opportunistic: a failed handshake reconnects in plain text;
                  required: it fails the attempt)
    transaction() MAIL FROM with DSN parameters when offered (RFC 3461), one RCPT per
                  recipient (each answered on its own), DATA, the content, the final dot
    reset()       RSET between transactions on a reused connection
    close()       QUIT, politely, ignoring what happens

The final dot is written only after ``on_final_dot`` has run: the engine records there that
the message is in flight, so a process killed between the dot and the reply knows afterwards
that the server may have the message (RFC 1047's window), and does not send it twice.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib.errors import (
    SMTPConnectResponseError,
    SMTPException,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from bounceloop.config import Settings
from bounceloop.delivery.resolver import Target
from bounceloop.delivery.result import StepResult


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
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


_TLS = _tls_context()


def xtext(value: str) -> str:
    """RFC 3461 section 4 xtext: '+', '=' and characters outside '!'..'~' as +HH."""
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


class Connection:
    """An SMTP session with one target. Build, :meth:`open`, use, :meth:`close`."""

    def __init__(self, target: Target, hostname: str, timeouts: Timeouts,
                 tls: str = "opportunistic") -> None:
        self.target = target
        self.hostname = hostname
        self.timeouts = timeouts
        self.tls_mode = tls
        self.smtp: aiosmtplib.SMTP | None = None
        self.extensions: dict[str, str] = {}
        self.encrypted = False
        self.transactions = 0
        self.opened_at = 0.0

    @property
    def alive(self) -> bool:
        return self.smtp is not None and self.smtp.is_connected

    @property
    def dsn(self) -> bool:
        return "dsn" in self.extensions

    def _fail(self, state: str, exc: BaseException) -> StepResult:
        t = self.target
        where = f"{t.mx}[{t.ip}]"
        if isinstance(exc, SMTPResponseException) and exc.code > 0:
            return StepResult.reply(state, exc.code, exc.message, t.mx, t.ip)
        if isinstance(exc, SMTPResponseException):
            return StepResult(state, "invalid", "", "4.5.0",
                              f"{where}: not an SMTP reply ({exc.message})", t.mx, t.ip)
        if isinstance(exc, (SMTPTimeoutError, TimeoutError)):
            return StepResult(state, "timeout", "", "4.4.2",
                              f"{where}: no reply in time ({state})", t.mx, t.ip)
        if isinstance(exc, ssl.SSLError):
            return StepResult(state, "tls", "", "4.7.0",
                              f"{where}: TLS handshake failed: {exc}", t.mx, t.ip)
        if isinstance(exc, (SMTPServerDisconnected, ConnectionError, OSError)):
            return StepResult(state, "lost", "", "4.4.2",
                              f"{where}: connection lost ({state})", t.mx, t.ip)
        return StepResult(state, "lost", "", "4.4.2",
                          f"{where}: {type(exc).__name__}: {exc} ({state})", t.mx, t.ip)

    async def open(self) -> StepResult | None:
        """Connect and greet. None when ready for a transaction, else why not."""
        failure = await self._open(tls=self.tls_mode != "off")
        if failure is not None and failure.state == "starttls" and (
                self.tls_mode == "opportunistic"):
            # RFC 3207 section 4.1 leaves it to the client; an opportunistic one goes on in
            # plain text rather than not delivering at all.
            await self.close()
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
        smtp = aiosmtplib.SMTP(local_hostname=self.hostname, timeout=self.timeouts.command,
                               start_tls=False, use_tls=False)
        self.smtp = smtp
        try:
            await smtp.connect(sock=sock, timeout=self.timeouts.greeting)
        except SMTPConnectResponseError as exc:
            await self.close()
            return StepResult.reply("greeting", exc.code, exc.message, t.mx, t.ip)
        except (SMTPException, OSError, ssl.SSLError, TimeoutError) as exc:
            await self.close()
            cause = exc.__cause__ if isinstance(exc, SMTPException) else None
            if isinstance(exc, SMTPTimeoutError) or isinstance(cause, TimeoutError):
                return StepResult("greeting", "timeout", "", "4.4.2",
                                  f"{t.mx}[{t.ip}]: no greeting in time", t.mx, t.ip)
            return self._fail("greeting", cause or exc)
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
        assert self.smtp is not None
        t = self.target
        try:
            reply = await self.smtp.execute_command(b"EHLO", self.hostname.encode())
            if reply.code == 250:
                self.extensions, _ = aiosmtplib.esmtp.parse_esmtp_extensions(reply.message)
                return None
            if reply.code not in (500, 502, 504):
                await self.close()
                return StepResult.reply("ehlo", reply.code, reply.message, t.mx, t.ip)
            # RFC 5321 4.1.4: a server that does not know EHLO gets HELO.
            reply = await self.smtp.execute_command(b"HELO", self.hostname.encode())
            if reply.code == 250:
                self.extensions = {}
                return None
            await self.close()
            return StepResult.reply("helo", reply.code, reply.message, t.mx, t.ip)
        except (SMTPException, OSError, ssl.SSLError, TimeoutError) as exc:
            await self.close()
            return self._fail("ehlo", exc)

    async def _starttls(self) -> StepResult | None:
        assert self.smtp is not None
        t = self.target
        try:
            reply = await self.smtp.starttls(tls_context=_TLS, server_hostname=t.mx,
                                             timeout=self.timeouts.command)
        except SMTPResponseException as exc:
            await self.close()
            return StepResult.reply("starttls", exc.code, exc.message, t.mx, t.ip)
        except (SMTPException, OSError, ssl.SSLError, TimeoutError) as exc:
            await self.close()
            return self._fail("starttls", exc.__cause__ or exc)
        if reply.code != 220:
            await self.close()
            return StepResult.reply("starttls", reply.code, reply.message, t.mx, t.ip)
        self.encrypted = True
        return await self._hello()  # RFC 3207 4.2: forget what was learnt before TLS

    async def reset(self) -> bool:
        """RSET before the next transaction; False when the connection is not usable."""
        if self.smtp is None or not self.alive:
            return False
        try:
            reply = await self.smtp.execute_command(b"RSET")
        except (SMTPException, OSError, ssl.SSLError, TimeoutError):
            await self.close()
            return False
        return reply.code == 250

    async def transaction(
        self,
        envelope: str,
        recipients: Sequence[str],
        content: bytes,
        *,
        envid: str = "",
        on_final_dot: Callable[[], Awaitable[None]] | None = None,
    ) -> dict[str, StepResult]:
        """Deliver prepared ``content`` (see :func:`prepare`) to ``recipients``.

        Returns one result per recipient: its RCPT refusal, or the outcome of DATA. Never
        raises; a connection that broke is closed (``alive`` turns False).
        """
        assert self.smtp is not None
        t = self.target
        smtp = self.smtp
        self.transactions += 1
        state = "mailfrom"
        params = [f"FROM:<{envelope}>".encode()]
        if "size" in self.extensions:
            params.append(f"SIZE={len(content)}".encode())
        if "8bitmime" in self.extensions and not content.isascii():
            params.append(b"BODY=8BITMIME")
        if self.dsn:
            # RFC 3461: return headers only, and our id, should the message bounce later.
            params.append(b"RET=HDRS")
            if envid:
                params.append(f"ENVID={xtext(envid)}".encode())
        results: dict[str, StepResult] = {}
        try:
            reply = await smtp.execute_command(b"MAIL", *params)
            if reply.code != 250:
                result = StepResult.reply("mailfrom", reply.code, reply.message, t.mx, t.ip)
                return dict.fromkeys(recipients, result)
            accepted: list[str] = []
            state = "rcptto"
            for i, rcpt in enumerate(recipients):
                rparams = [f"TO:<{rcpt}>".encode()]
                if self.dsn:
                    rparams += [b"NOTIFY=FAILURE", f"ORCPT=rfc822;{xtext(rcpt)}".encode()]
                reply = await smtp.execute_command(b"RCPT", *rparams)
                if reply.code in (250, 251):
                    accepted.append(rcpt)
                    continue
                results[rcpt] = StepResult.reply("rcptto", reply.code, reply.message, t.mx,
                                                 t.ip)
                if reply.code == 421:
                    # RFC 5321 3.8: the server is closing; the rest get the same answer.
                    for later in recipients[i + 1:]:
                        results[later] = results[rcpt]
                    for ok in accepted:
                        results[ok] = results[rcpt]
                    await self.close()
                    return results
            if not accepted:
                return results
            state = "data"
            reply = await smtp.execute_command(b"DATA")
            if reply.code != 354:
                failed = StepResult.reply("data", reply.code, reply.message, t.mx, t.ip)
                results.update(dict.fromkeys(accepted, failed))
                return results
            state = "message"
            protocol = smtp.protocol
            assert protocol is not None
            protocol.write(content)
            if on_final_dot is not None:
                try:
                    await on_final_dot()
                except BaseException:
                    # Not recorded as in flight: the message must not be completed. Without
                    # the final dot the server discards it (RFC 5321 4.1.1.4).
                    await self.abort()
                    raise
            protocol.write(b".\r\n")
            reply = await protocol.read_response(timeout=self.timeouts.data)
            outcome = StepResult.reply("message", reply.code, reply.message, t.mx, t.ip)
            results.update(dict.fromkeys(accepted, outcome))
            if reply.code == 421:
                await self.close()
            return results
        except (SMTPException, OSError, ssl.SSLError, TimeoutError) as exc:
            # The transaction broke: recipients already refused keep their refusal, all
            # others (accepted or not yet asked) get what broke it.
            await self.close()
            failure = self._fail(state, exc)
            return {r: results.get(r, failure) for r in recipients}

    async def abort(self) -> None:
        """Drop the connection at once, without QUIT (mid-DATA: the message is void)."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            smtp.close()

    async def close(self) -> None:
        """QUIT when still connected; close in any case. Never raises."""
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            if smtp.is_connected:
                await asyncio.wait_for(smtp.quit(), 2.0)
        except (SMTPException, OSError, ssl.SSLError, TimeoutError):
            pass
        finally:
            smtp.close()
