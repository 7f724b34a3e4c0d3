"""The inbound SMTP server: where bounces, auto-replies and ARF reports come back (step 5).

aiosmtpd's protocol, run in the service's own event loop (no Controller thread). Policy:

- RCPT is accepted only for a VERP address of ours whose HMAC tag checks out, on one of the
  bounce domains, or for a complaint address; anything else gets ``550 5.1.1``. So the
  server is never a relay, and a forged or mistyped token is refused at RCPT instead of
  accepted and bounced later (no backscatter).
- The null reverse-path ``MAIL FROM:<>`` (how every DSN arrives, RFC 5321 section 4.5.5),
  SMTPUTF8 and 8BITMIME are accepted; SIZE is announced and enforced (RFC 1870); PIPELINING
  is announced and pipelined commands are served in order (RFC 2920); only
  ``<CRLF>.<CRLF>`` ends DATA (aiosmtpd >= 1.4.5, the 2023 "SMTP smuggling" defence).
- DATA: the raw bytes, the envelope and the receive time are committed to the database
  (inbound.inbox, group commit) *before* the 250; if the commit fails the answer is
  ``451 4.3.0`` so the sender keeps the message and retries. Parsing happens later, in a
  worker, from the stored bytes.
- ``postmaster`` is taken at RCPT for every domain we take mail for, and bare, without a
  domain (RFC 5321 sections 4.5.1 and 4.1.1.3; any case), and stored like any other message.
- Limits, so that hostile input costs bounded work (the Postfix parameter each follows):
  a cap on concurrent sessions (the one over it gets ``421 4.3.2``) and on those of one
  client (``421 4.7.0``, smtpd_client_connection_count_limit); a command timeout that only
  progress moves - HELO, EHLO, STARTTLS, MAIL, RCPT, DATA and the data's lines, not NOOP,
  RSET, VRFY, HELP or an unknown verb (smtpd_timeout) - and a session timeout; junk commands
  past a limit count as errors (smtpd_junk_command_limit), and so many errors without a
  stored message end the session with ``421 4.7.0`` (smtpd_hard_error_limit); the DATA of
  all sessions held in memory until its commit is bounded, and what would go past that
  gets ``452 4.3.1`` (at MAIL when SIZE= says so, else at the end of DATA).
- Pipelining peers (RFC 2920) are answered at once: every accepted socket has TCP_NODELAY,
  and the replies to a pipelined group go out in one write (see :meth:`_Session.push`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import ipaddress
import logging
import re
import socket
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

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


#: Replies of the limits. Postfix (3.x) says "421 4.7.0 <host> Error: too many connections
#: from <address>" and "421 4.7.0 <host> Error: too many errors" (smtpd/smtpd.c; X.7.0: other
#: or undefined security status, RFC 3463), and "452 4.3.1 Insufficient system storage" when
#: its queue has no room (smtpd_check.c; X.3.1: mail system full; RFC 5321 section 4.3.2
#: lists 452 for MAIL and for the end of DATA, and RFC 1870 section 6.1 for a SIZE= there is
#: no room for now). Each a 4yz: the sender keeps the message and tries again later.
TOO_MANY_SESSIONS = b"421 4.3.2 Too many connections; try again later\r\n"
TOO_MANY_FROM = "421 4.7.0 Too many connections from {}; try again later\r\n"
TOO_MANY_ERRORS = b"421 4.7.0 Too many errors\r\n"
NO_ROOM = "452 4.3.1 Insufficient system storage"
# aiosmtpd's (1.4.6) own replies for a DATA that is too big or has a line too long.
TOO_MUCH = "552 Error: Too much mail data"
TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"

#: Commands that move a session on: they, and each line of DATA, restart the command
#: timeout. NOOP, RSET, VRFY, HELP, an unknown verb or a line that is no command do not, so
#: a client cannot keep a session (and its slot) idle past the timeout with them.
PROGRESS = frozenset({"HELO", "EHLO", "STARTTLS", "MAIL", "RCPT", "DATA"})

#: Postfix's junk commands (SMTPD_CMD_FLAG_LIMIT in smtpd.c: HELO, EHLO, RSET, NOOP, VRFY and
#: ETRN, which we do not have; HELP, which Postfix does not have, is as idle as NOOP): past
#: smtpd_junk_command_limit of them, each also counts as an error.
JUNK = frozenset({"HELO", "EHLO", "RSET", "NOOP", "VRFY", "HELP"})

#: Commands whose reply may wait for the next one's. RFC 2920 section 3.2 (2): a server
#: SHOULD store the replies to grouped RSET, MAIL and RCPT commands so as to send them as a
#: unit; section 3.1: the message content may be the first "command" of a group (so the
#: reply after the final dot may wait too: see :meth:`_Session.smtp_DATA`). Every other
#: command ends a group (EHLO, DATA, QUIT, NOOP, ...; STARTTLS, RFC 3207 section 4.2) or
#: changes the connection, so its reply goes out at once with whatever waited.
GROUP = frozenset({"RSET", "MAIL", "RCPT"})

#: Most reply bytes held back before they go out anyway: Postfix's VSTREAM_BUFSIZE (4096,
#: util/vstream.h), its SMTP server's write buffer. A peer that pipelines commands without
#: end and reads nothing is then stopped by the transport's flow control, not by our memory.
HELD_LIMIT = 4096

#: IPv6 clients are counted by /84 network, as Postfix's anvil does
#: (smtpd_client_ipv6_prefix_length, default 84): one host may have a /64 to take a new
#: address from for each connection.
IPV6_PREFIX = 84


#: RFC 5322's atext (section 3.2.3): what a dot-atom is made of.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"

#: A MAIL or RCPT argument as nearly every client writes it: ``<local@domain>`` with both
#: parts dot-atoms, then the parameters, if any, after blanks; or the null path ``<>``
#: and what follows it (which aiosmtpd's parser leaves as it is). :meth:`_Session._getaddr`
#: takes these itself; anything else (a quoted local part, a domain literal, a source
#: route, a comment, non-ASCII) goes to aiosmtpd's parser.
_SIMPLE_PATH = re.compile(rf"[ \t]*<({_DOT_ATOM}@{_DOT_ATOM})>[ \t]*([^( \t].*)?|[ \t]*<>(.*)",
                          re.DOTALL)


class Gate:
    """The live sessions, against a cap on all of them and one per client (and to close
    them on stop)."""

    def __init__(self, cap: int, per_client: int = 0, exceptions: Iterable[str] = ()
                 ) -> None:
        self.cap = cap
        self.per_client = per_client
        self.exceptions = [ipaddress.ip_network(n, strict=False) for n in exceptions]
        self.sessions: dict[_Session, str] = {}
        """Each live session, and the client it counts against ("" when none)."""
        self.clients: Counter[str] = Counter()

    def enter(self, session: _Session, peer: Any) -> str:
        """"" when the session may begin, else why not: "sessions" (the cap) or "client"
        (its client has as many as it may have)."""
        if len(self.sessions) >= self.cap:
            return "sessions"
        client = self.client(peer)
        if client and self.clients[client] >= self.per_client:
            return "client"
        self.sessions[session] = client
        if client:
            self.clients[client] += 1
        return ""

    def leave(self, session: _Session) -> None:
        client = self.sessions.pop(session, None)
        if client:
            self.clients[client] -= 1
            if not self.clients[client]:
                del self.clients[client]

    def client(self, peer: Any) -> str:
        """What ``peer`` (a socket's peername) is counted as: its address (IPv6: its /84);
        "" when it is not counted (no per-client limit, an exception, not an IP)."""
        if not self.per_client:
            return ""
        try:
            ip = ipaddress.ip_address(peer[0])
        except (TypeError, ValueError, IndexError):
            return ""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # a dual-stack listener's IPv4 client (::ffff:a.b.c.d)
        if any(ip in network for network in self.exceptions):
            return ""
        if ip.version == 6:
            return str(ipaddress.ip_network((ip, IPV6_PREFIX), strict=False))
        return str(ip)


class Budget:
    """Bytes of DATA held in memory by all sessions, against ``smtp_data_memory``.

    A session takes each line as it arrives and gives all of it back once the message is
    committed and answered (or refused, or the connection is gone). The bytes counted are
    the message's; what the process holds for them is more (the buffer grows by an eighth
    ahead, and the database driver copies the message during its commit).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0

    def free(self) -> int:
        return self.capacity - self.used

    def take(self, n: int) -> bool:
        if self.used + n > self.capacity:
            return False
        self.used += n
        return True

    def give(self, n: int) -> None:
        self.used -= n


def declared_size(mail_options: list[str]) -> int:
    """The SIZE= of MAIL's parameters (RFC 1870; aiosmtpd checked it is digits), or 0."""
    return next((int(o[5:]) for o in mail_options if o.upper().startswith("SIZE=")), 0)


class Policy:
    """The aiosmtpd handler: which recipients we take, and storing what arrives."""

    def __init__(self, settings: Settings, inbox: Inbox, metrics: Metrics,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.domains = settings.accepted_domains
        self.secret = settings.verp_secret.get_secret_value()
        self.complaints = settings.complaint_mailboxes
        # Every domain we take mail for: the bounce domains and the complaint addresses'.
        self.postmaster_domains = {*self.domains,
                                   *(a.rpartition("@")[2] for a in self.complaints)}
        self.inbox = inbox
        self.metrics = metrics
        self.clock = clock
        self.budget = Budget(settings.smtp_data_memory)

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        # A client pipelines only to a server whose EHLO reply lists PIPELINING (RFC 2920
        # section 3.1), and aiosmtpd (1.4.6), which serves pipelined commands in order, does
        # not list it. This hook replaces aiosmtpd's reply, so it also does what aiosmtpd's
        # own EHLO does: remember the client's name.
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        # A reverse-path with a control character or bytes that are not UTF-8 is no
        # address (see _UNPRINTABLE). Taken, it could not be stored: every try of the
        # sender would end in a 451 at the end of DATA - and fail the other sessions'
        # messages committed in the same transaction (inbound.inbox) with it. Refused here,
        # as a syntax error (RFC 3463 X.1.7: bad sender's mailbox address syntax).
        if _UNPRINTABLE.search(address):
            return "553 5.1.7 Bad sender address syntax"
        # A declared size that does not fit in what the memory budget has free now is
        # refused before its data is sent, as Postfix does when its queue has no room.
        if declared_size(mail_options) > self.budget.free():
            self.metrics.refused.labels("memory").inc()
            return NO_ROOM
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    def accepts(self, address: str) -> bool:
        lowered = address.lower()
        # postmaster, at each domain we take mail for and bare, in any case: RFC 5321
        # section 4.5.1 (every SMTP server MUST take it) and 4.1.1.3 ("<Postmaster>").
        if lowered in self.complaints or lowered == "postmaster":
            return True
        local, _, host = lowered.rpartition("@")
        if local == "postmaster" and host in self.postmaster_domains:
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
    """aiosmtpd's protocol with the limits: session caps, a whole-session deadline, a
    command timeout only progress restarts, junk and error counts, and DATA read against
    the memory budget."""

    line_length_limit = LINE_LIMIT

    def __init__(self, handler: Policy, *, gate: Gate, session_timeout: float,
                 junk_limit: int, error_limit: int, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._gate = gate
        self._session_timeout = session_timeout
        self._refused = False
        self._deadline: asyncio.TimerHandle | None = None
        self._run = 0
        """Bytes received since the last CRLF (see RUN_LIMIT)."""
        self._cr = False
        """Whether the last chunk ended with a CR (a CRLF may straddle two chunks)."""
        self._active = 0.0
        """Loop time of the last progress (see PROGRESS)."""
        self._junk_limit = junk_limit
        self._error_limit = error_limit
        self._junk = 0
        self._errors = 0
        self._budget = handler.budget
        self._held = 0
        """Bytes of the budget this session holds (the DATA being read)."""
        self._out = bytearray()
        """Replies written but not yet sent (see :meth:`push`)."""
        self._may_hold = False
        """Whether the reply being made may wait for the next (see GROUP)."""
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._counted(verb, method)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's (1.4.6) reading of a MAIL or RCPT argument, without its cost for the
        usual case (:data:`_SIMPLE_PATH`): aiosmtpd defines a typing.Protocol class on
        every call and runs the email package's header parser (get_angle_addr), about a
        tenth of the event loop's time per message in bench/inbound.py. The answer is the
        same (tests/inbound/test_server.py compares them)."""
        m = _SIMPLE_PATH.fullmatch(arg)
        if m is None:
            return super()._getaddr(arg)
        address = m.group(1)
        if address is None:  # the null path, aiosmtpd's "<>"
            return "<>", m.group(3)
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, m.group(2) or ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None:  # the TCP connection (not the STARTTLS re-entry)
            nodelay(transport)
            peer = transport.get_extra_info("peername")
            why = self._gate.enter(self, peer)
            if why:
                self._refused = True
                self.event_handler.metrics.refused.labels(why).inc()
                assert isinstance(transport, asyncio.WriteTransport)
                transport.write(TOO_MANY_SESSIONS if why == "sessions"
                                else TOO_MANY_FROM.format(peer[0]).encode())
                transport.close()
                return
            self._deadline = self.loop.call_later(self._session_timeout, self._expire)
        super().connection_made(transport)

    def _expire(self) -> None:
        log.info("%r session timeout", self.session.peer if self.session else None)
        if self.transport is not None:
            self.transport.close()

    # The command timeout. aiosmtpd restarts it before every command it knows; here it is
    # started once, and only progress moves it on: when it fires, it looks at the time of
    # the last progress and waits out the rest, if any (cheaper than a new timer per line).

    def _reset_timeout(self, duration: float | None = None) -> None:
        if self._timeout_handle is None:
            self._active = self.loop.time()
            super()._reset_timeout(duration)

    def _timeout_cb(self) -> None:
        left = self._active + self._timeout_duration - self.loop.time()
        if left > 0:
            self._timeout_handle = self.loop.call_later(left, self._timeout_cb)
            return
        log.info("%r command timeout", self.session.peer if self.session else None)
        if self.transport is not None:
            self.transport.close()

    def _counted(self, verb: str, method: Callable[[str | None], Awaitable[None]]
                 ) -> Callable[[str | None], Awaitable[None]]:
        """``method`` (aiosmtpd's handler of ``verb``), counted as progress or junk."""
        progress, junk = verb in PROGRESS, verb in JUNK

        @functools.wraps(method)  # keeps aiosmtpd's @syntax text, which HELP shows
        async def counted(arg: str | None) -> None:
            if self.transport is None or self.transport.is_closing():
                return  # closed by a limit: what the client pipelined after is not acted on
            if progress:
                self._active = self.loop.time()
            if junk:
                self._junk += 1
                if self._junk_limit and self._junk > self._junk_limit:
                    self._errors += 1
            self._may_hold = verb in GROUP
            try:
                await method(arg)
            finally:
                self._may_hold = False

        return counted

    async def push(self, status: AnyStr) -> None:
        """Send a reply line, and count it if it is an error (4yz or 5yz). The reply that
        makes ``smtp_hard_error_limit`` errors is followed by the 421 and the close, as
        Postfix does before it reads the next command.

        Replies of a pipelined group go out together, in one write: a reply waits while
        the peer's next command is already here and its own may wait (GROUP, or a line of
        a longer reply), and goes out with all that waited once the input buffer holds no
        further command (RFC 2920 section 3.2 (7): all pending replies MUST be sent when
        the input buffer is emptied). Postfix's smtpd does the same: its client stream is
        double-buffered and written only when the read buffer is empty (vstream_buf_get_ready
        in util/vstream.c: "Delayed flushes reduce system call overhead, and on TCP sockets,
        avoid triggering Nagle's algorithm"). Written one by one on a socket without
        TCP_NODELAY, the second reply of a group would wait behind Nagle's algorithm for
        the peer's delayed ACK (40 ms on Linux), once a message."""
        if self.transport is None or self.transport.is_closing():
            return
        reply = status.encode("utf-8") if isinstance(status, str) else status
        self._out += reply + b"\r\n"
        last = reply[3:4] != b"-"  # else a line of a longer reply: counted at its last line
        if last and reply[:1] in (b"4", b"5"):
            self._errors += 1
        if last and self._error_limit and self._errors >= self._error_limit:
            self._stop(TOO_MANY_ERRORS, "errors")
            return
        if len(self._out) < HELD_LIMIT and (not last or (self._may_hold
                                                         and self._pipelined())):
            return
        await self._flush()

    def _pipelined(self) -> bool:
        """Whether the peer's next command line is already in the input buffer (read by
        the session's next step without waiting). aiosmtpd (1.4.6) reaches the same buffer
        to discard what was pipelined after STARTTLS."""
        return b"\n" in self._reader._buffer  # type: ignore[attr-defined]

    async def _flush(self) -> None:
        """Send the replies that waited, in one write."""
        if self._out:
            # A new buffer, not clear(): the transport may keep a view of the one written.
            out, self._out = self._out, bytearray()
            self._writer.write(out)
        await self._writer.drain()

    def _stop(self, reply: bytes, why: str) -> None:
        """Say ``reply`` and close. The handler is cancelled too: it stops at its next wait,
        so nothing more is read from what the client had sent, nor answered."""
        if self.transport is None or self.transport.is_closing():
            return
        log.info("%r %s: closed", self.session.peer if self.session else None, why)
        self.event_handler.metrics.refused.labels(why).inc()
        assert isinstance(self.transport, asyncio.WriteTransport)
        out, self._out = self._out, bytearray()
        self.transport.write(out + reply)  # the replies that waited, then the last
        self.transport.close()
        if self._handler_coroutine is not None:
            self._handler_coroutine.cancel()

    @syntax("DATA")
    async def smtp_DATA(self, arg: str | None) -> None:
        """aiosmtpd's DATA (1.4.6) with the memory budget: the same checks, replies and end
        of data (only <CRLF>.<CRLF>), but each line is taken from the budget as it comes,
        counts as progress, and goes into one growing buffer that becomes the message
        without a copy (aiosmtpd keeps a list of lines and joins it: twice the message)."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            message = await self._read_data()
            # The reply after the final dot may wait for the next command's (GROUP).
            self._may_hold = True
            if isinstance(message, str):  # refused, now that it has all been read
                if message == NO_ROOM:
                    self.event_handler.metrics.refused.labels("memory").inc()
                self.envelope = self._create_envelope()
                await self.push(message)
                return
            self.envelope.content = self.envelope.original_content = message
            del message  # the envelope's, freed when it is replaced after the commit
            status = str(await self._call_handler_hook("DATA"))
            self.envelope = self._create_envelope()
            if status.startswith("2"):
                # A stored message forgives the session's errors and junk (Postfix too).
                self._errors = self._junk = 0
            await self.push(status)
        finally:
            # Held until the commit is done and the answer given, whatever came of it.
            self._budget.give(self._held)
            self._held = 0

    async def _read_data(self) -> bytes | str:
        """The message up to the final dot, dot-stuffing undone (RFC 5321 section 4.5.2),
        or the reply that refuses it, once the rest is read and dropped: the answer to DATA
        comes after the final dot (RFC 5321 section 4.2.5)."""
        buffer = io.BytesIO()
        refusal = ""
        size = 0
        at_start = True  # whether the next read begins a line
        while True:
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.LimitOverrunError as overrun:
                refusal = refusal or TOO_LONG  # a line longer than the reader's limit
                line = await self._reader.read(overrun.consumed)
            self._active = self.loop.time()
            if at_start and line == b".\r\n":
                break
            size += len(line)
            if not refusal:
                if self.data_size_limit and size > self.data_size_limit:
                    refusal = TOO_MUCH
                elif len(line) > self.line_length_limit:
                    refusal = TOO_LONG
                elif not self._budget.take(len(line)):
                    refusal = NO_ROOM
                else:
                    self._held += len(line)
                    buffer.write(line[1:] if at_start and line[:1] == b"." else line)
                if refusal:  # drop what was kept, and give its bytes back at once
                    buffer = io.BytesIO()
                    self._budget.give(self._held)
                    self._held = 0
            at_start = line.endswith(b"\r\n")
        # BytesIO hands over its buffer as the bytes object, without copying it.
        return refusal or buffer.getvalue()

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


def nodelay(transport: asyncio.BaseTransport) -> None:
    """TCP_NODELAY on a TCP connection's socket. asyncio sets it itself only on sockets
    whose protocol number is IPPROTO_TCP (base_events._set_nodelay), and a listener from
    socket.create_server has 0 there, as have the sockets it accepts."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):  # a peer already gone: nothing to speed up
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


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
        self.gate = Gate(settings.smtp_max_sessions, settings.smtp_max_sessions_per_client,
                         settings.smtp_client_limit_exceptions)
        self.tls = tls_context(settings)
        self._server: asyncio.Server | None = None

    def _protocol(self) -> _Session:
        s = self.settings
        return _Session(
            self.policy, gate=self.gate, session_timeout=s.smtp_session_timeout,
            junk_limit=s.smtp_junk_command_limit, error_limit=s.smtp_hard_error_limit,
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
