"""The inbound SMTP server: where bounces, auto-replies and ARF reports come back (step 5).

aiosmtpd's protocol, run in the service's own event loop (no Controller thread). Policy:

- RCPT is accepted only for a VERP address of ours whose HMAC tag checks out, on one of the
  bounce domains, or for a complaint address; anything else gets ``550 5.1.1``. So the
  server is never a relay, and a forged or mistyped token is refused at RCPT instead of
  accepted and bounced later (no backscatter).
- The null reverse-path ``MAIL FROM:<>`` (how every DSN arrives, RFC 5321 section 4.5.5),
  SMTPUTF8 and 8BITMIME are accepted; SIZE is announced and enforced (RFC 1870); pipelined
  commands are served in order; only ``<CRLF>.<CRLF>`` ends DATA (aiosmtpd >= 1.4.5, the
  2023 "SMTP smuggling" defence).
- DATA: the raw bytes, the envelope and the receive time are committed to the database
  (inbound.inbox, group commit) *before* the 250; if the commit fails the answer is
  ``451 4.3.0`` so the sender keeps the message and retries. Parsing happens later, in a
  worker, from the stored bytes.
- Limits: a command timeout (idle), a session timeout (whole connection), and a cap on
  concurrent sessions (the one over it gets ``421 4.3.2`` and is closed).
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from bounceloop.config import Settings
from bounceloop.core import verp
from bounceloop.inbound.inbox import Inbox
from bounceloop.observability.metrics import Metrics
from bounceloop.storage import received as store
from bounceloop.storage.engine import utcnow

log = logging.getLogger(__name__)

#: Longest line accepted in DATA. RFC 5321 says 1000 octets, but some MTAs quote a long
#: header or an unwrapped body line in their bounces; refusing the bounce would lose it.
LINE_LIMIT = 32 * 1024

#: The most bytes a connection may send without a CRLF, whatever it is saying: eight times the
#: longest line we take. aiosmtpd (1.4.6) keeps every piece of a DATA line longer than its
#: line limit until the line ends, so as to refuse it then: a line that never ends grows
#: in memory without bound (10 MB sent, 11 MB held). Past this, the connection is closed
#: with a 421 (RFC 5321 section 3.8); a line this long was never going to be taken.
RUN_LIMIT = 8 * LINE_LIMIT

#: Characters no envelope address can hold: C0 controls and DEL are in neither RFC 5321's
#: Mailbox (section 4.1.2: atext, qtextSMTP and quoted-pairSMTP are printable ASCII) nor
#: RFC 6531's UTF-8 extension of it, and U+DC80-U+DCFF stand for bytes that were not UTF-8
#: (aiosmtpd decodes arguments with surrogateescape). PostgreSQL stores no NUL in text and
#: no driver encodes a lone surrogate, so such a value cannot be stored either.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\udc80-\udcff]")

#: The listen queue (asyncio's default is 100). A burst of connections deeper than the
#: queue is not refused: Linux drops the last ACK of the handshakes it has no room for, and
#: a client that waits in silence for our 220 (as every SMTP client does, RFC 5321 section
#: 3.1) never sends what would complete its handshake - it sits connected to nothing until
#: its own greeting timeout (5 minutes, section 4.5.3.2.1). Seen with 300 connections at
#: once: 98 were never accepted. With a deep queue each is served or told 421 (the kernel
#: caps the depth at net.core.somaxconn).
BACKLOG = 4096


def printable(text: str) -> str:
    """``text`` with what :data:`_UNPRINTABLE` matches written as ``\\xNN`` (the byte it
    stood for): fit for a reply line and for the database."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()) & 0xFF:02x}", text)


class Gate:
    """The live sessions, against a cap (and to close them on stop)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.sessions: set[_Session] = set()

    def enter(self, session: _Session) -> bool:
        if len(self.sessions) >= self.cap:
            return False
        self.sessions.add(session)
        return True

    def leave(self, session: _Session) -> None:
        self.sessions.discard(session)


class Policy:
    """The aiosmtpd handler: which recipients we take, and storing what arrives."""

    def __init__(self, settings: Settings, inbox: Inbox, metrics: Metrics,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.domains = settings.accepted_domains
        self.secret = settings.verp_secret.get_secret_value()
        self.complaints = settings.complaint_mailboxes
        self.inbox = inbox
        self.metrics = metrics
        self.clock = clock

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        # A reverse-path with a control character or bytes that are not UTF-8 is no
        # address (see _UNPRINTABLE). Taken, it could not be stored: every try of the
        # sender would end in a 451 at the end of DATA - and fail the other sessions'
        # messages committed in the same transaction (inbound.inbox) with it. Refused here,
        # as a syntax error (RFC 3463 X.1.7: bad sender's mailbox address syntax).
        if _UNPRINTABLE.search(address):
            return "553 5.1.7 Bad sender address syntax"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    def accepts(self, address: str) -> bool:
        if address.lower() in self.complaints:
            return True
        return any(verp.decode(address, domain, self.secret) for domain in self.domains)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if not self.accepts(address):
            self.metrics.refused.labels("recipient").inc()
            # printable: the address may hold bytes that are not UTF-8 (the reply could
            # not be encoded: a 500 with a traceback in its place) or a bare CR.
            return f"550 5.1.1 <{printable(address)}>: no such bounce address here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")
        item = store.Incoming(
            # aiosmtpd keeps the null reverse-path as "<>"; we store it as "".
            raw=bytes(raw), mail_from="" if envelope.mail_from in (None, "<>")
            else envelope.mail_from,
            rcpts=tuple(envelope.rcpt_tos), received_at=self.clock(), source="smtp",
            # The HELO name is only recorded: one that is not text is kept escaped, not
            # refused (that would lose the bounce) nor stored as is (the commit would fail).
            peer=peer, helo=printable(session.host_name or ""))
        try:
            rid = await self.inbox.store(item)
        except Exception as exc:  # the sender keeps the message and retries: nothing lost
            log.error("could not store a message from %s: %s", peer, exc)
            self.metrics.received.labels("451").inc()
            return "451 4.3.0 Could not store the message now; try again later"
        self.metrics.received.labels("250").inc()
        return f"250 2.0.0 Stored as {rid}"


class _Session(SMTP):
    """aiosmtpd's protocol with a session cap and a whole-session deadline."""

    line_length_limit = LINE_LIMIT

    def __init__(self, handler: Policy, *, gate: Gate, session_timeout: float,
                 **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._gate = gate
        self._session_timeout = session_timeout
        self._refused = False
        self._deadline: asyncio.TimerHandle | None = None
        self._run = 0
        """Bytes received since the last CRLF (see RUN_LIMIT)."""
        self._cr = False
        """Whether the last chunk ended with a CR (a CRLF may straddle two chunks)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None:  # the TCP connection (not the STARTTLS re-entry)
            if not self._gate.enter(self):
                self._refused = True
                self.event_handler.metrics.refused.labels("sessions").inc()
                assert isinstance(transport, asyncio.WriteTransport)
                transport.write(b"421 4.3.2 Too many connections; try again later\r\n")
                transport.close()
                return
            self._deadline = self.loop.call_later(self._session_timeout, self._expire)
        super().connection_made(transport)

    def _expire(self) -> None:
        log.info("%r session timeout", self.session.peer if self.session else None)
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        view = b"\r" + data if self._cr else data
        end = view.rfind(b"\r\n")
        self._run = self._run + len(data) if end < 0 else len(view) - end - 2
        self._cr = data.endswith(b"\r")
        if self._run > RUN_LIMIT:
            if self.transport is not None and not self.transport.is_closing():
                log.info("%r line too long: closed", self.session.peer if self.session
                         else None)
                assert isinstance(self.transport, asyncio.WriteTransport)
                self.transport.write(b"421 4.5.2 Line too long; closing connection\r\n")
                self.transport.close()
            return
        super().data_received(data)

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        self._gate.leave(self)
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        if self._refused:
            return False
        return super().eof_received()


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The STARTTLS context from the configured certificate, or None (no STARTTLS)."""
    if settings.smtp_tls_cert is None or settings.smtp_tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.smtp_tls_cert, settings.smtp_tls_key)
    return context


class InboundServer:
    """The listening server; :meth:`start` on a bound socket, :meth:`close` to stop."""

    def __init__(self, settings: Settings, inbox: Inbox, metrics: Metrics,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.policy = Policy(settings, inbox, metrics, clock)
        self.gate = Gate(settings.smtp_max_sessions)
        self.tls = tls_context(settings)
        self._server: asyncio.Server | None = None

    def _protocol(self) -> _Session:
        s = self.settings
        return _Session(
            self.policy, gate=self.gate, session_timeout=s.smtp_session_timeout,
            data_size_limit=s.smtp_max_size, enable_SMTPUTF8=True, decode_data=False,
            hostname=s.hostname, ident="bounceloop", tls_context=self.tls,
            timeout=s.smtp_command_timeout, loop=asyncio.get_running_loop())

    async def start(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol, sock=sock, backlog=max(BACKLOG, self.settings.smtp_max_sessions))

    async def close(self) -> None:
        """Stop listening; sessions in progress are cut (their senders retry)."""
        if self._server is not None:
            self._server.close()
            for session in list(self.gate.sessions):
                if session.transport is not None:
                    session.transport.close()
            await self._server.wait_closed()
