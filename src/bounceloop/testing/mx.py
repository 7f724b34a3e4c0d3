"""FakeMX: an aiosmtpd SMTP server on loopback whose replies a test scripts.

Steps 3 and 4 of a delivery (EHLO, STARTTLS, MAIL, RCPT, DATA and the reply after the final
dot) fail with replies the engine must record per recipient and per step. FakeMX is a real
SMTP server (aiosmtpd's state machine, in the caller's event loop) that accepts mail and
records it, and that fails on demand:

* **per recipient, by local part**: ``r<code>[-<enhanced digits>][.anything]@any.domain``
  is refused at RCPT with that code; the enhanced digits are class, subject and detail, so
  ``r550-511.bob@example.org`` gets ``550 5.1.1 Bad destination mailbox address`` and
  ``r452-422@example.org`` gets ``452 4.2.2 Mailbox full``; ``r421.x@`` (no enhanced part)
  gets a plain ``421 Service not available, closing transmission channel``. See
  :func:`rcpt_reply_for`.
* **per command, once**: :meth:`FakeMX.fail_next` queues replies for the next ``EHLO``,
  ``HELO``, ``STARTTLS``, ``MAIL``, ``RCPT``, ``DATA`` (the command, before ``354``) or
  ``DATA_END`` (the reply after the final dot);
* **per command, always**: :meth:`FakeMX.override` until cleared;
* **stalls**: :meth:`FakeMX.stall_next` delays the next reply to a command, to provoke the
  client's read timeout.

A ``421`` reply, scripted or not, closes the connection after it is sent, as RFC 5321
section 3.8 has servers do. Precedence for a command: queued reply, then override, then (for
RCPT) the local-part convention, then normal acceptance.

Run as ``python -m bounceloop.testing.mx --listen 127.0.0.1:PORT --record FILE.jsonl`` it is a
separate process that appends one fsynced JSON line per accepted message *before* answering
250, for crash tests; :func:`spawn_mx` starts it and waits until it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import json
import os
import re
import select
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, cast

from aiosmtpd.smtp import DATA_SIZE_DEFAULT, SMTP, Envelope, Session

from bounceloop.config import host_port
from bounceloop.testing.lifecycle import Served

__all__ = [
    "COMMANDS",
    "FakeMX",
    "MXProcess",
    "ReceivedMessage",
    "format_reply",
    "rcpt_reply_for",
    "read_records",
    "spawn_mx",
]

#: Commands whose replies can be scripted. ``DATA`` is the DATA command itself (the reply
#: that would be ``354``); ``DATA_END`` is the reply after the message's final dot.
COMMANDS: Final = frozenset({"EHLO", "HELO", "STARTTLS", "MAIL", "RCPT", "DATA", "DATA_END"})

#: RFC 5321 section 4.2.2/4.2.3 texts, for replies without an enhanced code.
_BASIC_TEXT: Final = {
    "421": "Service not available, closing transmission channel",
    "450": "Requested mail action not taken: mailbox unavailable",
    "451": "Requested action aborted: local error in processing",
    "452": "Requested action not taken: insufficient system storage",
    "550": "Requested action not taken: mailbox unavailable",
    "551": "User not local",
    "552": "Requested mail action aborted: exceeded storage allocation",
    "553": "Requested action not taken: mailbox name not allowed",
    "554": "Transaction failed",
}
#: RFC 3463 (and RFC 7505 for x.1.10) texts by subject.detail, for enhanced replies.
_ENHANCED_TEXT: Final = {
    "0.0": "Other undefined status",
    "1.0": "Other address status",
    "1.1": "Bad destination mailbox address",
    "1.2": "Bad destination system address",
    "1.3": "Bad destination mailbox address syntax",
    "1.6": "Destination mailbox has moved, no forwarding address",
    "1.10": "Recipient address has null MX",
    "2.0": "Other or undefined mailbox status",
    "2.1": "Mailbox disabled, not accepting messages",
    "2.2": "Mailbox full",
    "2.3": "Message length exceeds administrative limit",
    "3.0": "Other or undefined mail system status",
    "3.1": "Mail system full",
    "3.2": "System not accepting network messages",
    "4.7": "Delivery time expired",
    "7.0": "Other or undefined security status",
    "7.1": "Delivery not authorized, message refused",
}

_RCPT_LOCAL: Final = re.compile(r"r([45]\d\d)(?:-([245])(\d)(\d{1,3}))?(?:[.+_-].*)?", re.I)
_REPLY_LINE: Final = re.compile(r"([2-5]\d\d)(?:[ -](.*))?")

#: RFC 3461 sections 4.1-4.4: the DSN parameters, which aiosmtpd 1.4 refuses with 555.
_DSN_MAIL: Final = frozenset({"RET", "ENVID"})
_DSN_RCPT: Final = frozenset({"NOTIFY", "ORCPT"})
_NOTIFY_WORDS: Final = frozenset({"SUCCESS", "FAILURE", "DELAY"})
_SYNTAX_ATTRIBUTES: Final = ("__smtp_syntax__", "__smtp_syntax_extended__",
                             "__smtp_syntax_when__")


def rcpt_reply_for(address: str) -> str | None:
    """The RCPT reply the local-part convention scripts for ``address``, or None to accept.

    ``r<code>`` with a 4xx/5xx code, optionally ``-`` and the enhanced code's digits
    (class, subject, then detail: ``511`` is 5.1.1, ``5726`` is 5.7.26), optionally followed
    by ``.``, ``+``, ``_`` or ``-`` and anything. Case-insensitive.
    """
    local = address.rpartition("@")[0] or address
    match = _RCPT_LOCAL.fullmatch(local.strip('"'))
    if match is None:
        return None
    code, klass, subject, detail = match.groups()
    if klass is None:
        return f"{code} {_BASIC_TEXT.get(code, 'Scripted failure')}"
    text = _ENHANCED_TEXT.get(f"{subject}.{detail}", "Scripted failure")
    return f"{code} {klass}.{subject}.{detail} {text}"


def format_reply(reply: str) -> str:
    """Validate a scripted reply and give multi-line ones the RFC 5321 ``-`` continuation.

    Lines are separated by ``\\n`` (``\\r\\n`` works too) and each starts with the code:
    ``"550 5.1.1 line one\\n550 5.1.1 line two"`` goes out as ``550-5.1.1 line one``,
    ``550 5.1.1 line two``.
    """
    lines = [line.rstrip("\r") for line in reply.strip("\r\n").split("\n")]
    out: list[str] = []
    for index, line in enumerate(lines):
        match = _REPLY_LINE.fullmatch(line)
        if match is None:
            raise ValueError(f"scripted reply line {line!r} does not start with a 3-digit code")
        code, text = match.groups()
        if code != lines[0][:3]:
            raise ValueError(f"scripted reply {reply!r} mixes codes")
        last = index == len(lines) - 1
        if text is None:
            out.append(code if last else f"{code}-")
        else:
            out.append(f"{code}{' ' if last else '-'}{text}")
    return "\r\n".join(out)


def _check_script(command: str, reply: str) -> str:
    command = command.upper()
    if command not in COMMANDS:
        raise ValueError(f"cannot script {command!r}: choose one of {sorted(COMMANDS)}")
    formatted = format_reply(reply)
    # A 2xx for MAIL/RCPT/DATA would claim an acceptance the server state does not have;
    # EHLO/HELO and DATA_END may succeed with a custom text (an old server's capabilities,
    # a queue id).
    if formatted[0] not in "45" and command not in {"EHLO", "HELO", "DATA_END"}:
        raise ValueError(f"a scripted {command} reply must be 4xx or 5xx, not {reply!r}")
    if formatted[0] == "3":
        raise ValueError(f"a scripted reply cannot be 3xx: {reply!r}")
    return formatted


Params = dict[str, str | None]


@dataclass
class ReceivedMessage:
    """One message FakeMX answered 2xx to after the final dot.

    ``mail_params`` and each of ``rcpt_params`` (one per recipient, in order) map the
    upper-cased parameter keyword to its value exactly as the client sent it (``None`` for
    a bare keyword such as ``SMTPUTF8``); xtext (``ORCPT=rfc822;a+2Bb@x``) is not decoded.
    ``connection`` is the 1-based serial number of the connection it came on, so tests can
    tell reuse from reconnects; ``data`` is the content with dot-stuffing removed.
    """

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    mail_params: Params = field(default_factory=dict)
    rcpt_params: list[Params] = field(default_factory=list)
    peer: tuple[str, int] = ("", 0)
    helo: str = ""
    tls: bool = False
    connection: int = 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict; the bytes go as base64 (``data_b64``) to survive any 8-bit."""
        return {
            "mail_from": self.mail_from,
            "rcpt_tos": self.rcpt_tos,
            "mail_params": self.mail_params,
            "rcpt_params": self.rcpt_params,
            "data_b64": base64.b64encode(self.data).decode("ascii"),
            "peer": list(self.peer),
            "helo": self.helo,
            "tls": self.tls,
            "connection": self.connection,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ReceivedMessage:
        peer = obj.get("peer") or ("", 0)
        return cls(
            mail_from=obj["mail_from"],
            rcpt_tos=list(obj["rcpt_tos"]),
            data=base64.b64decode(obj["data_b64"]),
            mail_params=dict(obj.get("mail_params") or {}),
            rcpt_params=[dict(p) for p in obj.get("rcpt_params") or []],
            peer=(str(peer[0]), int(peer[1])),
            helo=obj.get("helo", ""),
            tls=bool(obj.get("tls", False)),
            connection=int(obj.get("connection", 0)),
        )


def read_records(path: str | os.PathLike[str]) -> list[ReceivedMessage]:
    """The messages a FakeMX process recorded in ``path`` (missing file: none).

    A torn last line (the process killed mid-write) is ignored: only fsynced, complete
    lines count, which is what the fake promises before it answers 250.
    """
    try:
        text = Path(path).read_text(encoding="ascii")
    except FileNotFoundError:
        return []
    out: list[ReceivedMessage] = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            out.append(ReceivedMessage.from_json(json.loads(line)))
    return out


class _Envelope(Envelope):
    def __init__(self) -> None:
        super().__init__()
        self.mail_params: Params = {}
        self.rcpt_params: list[Params] = []


class _Handler:
    """aiosmtpd hooks: called only once aiosmtpd has checked a command's syntax and state."""

    def __init__(self, fake: FakeMX) -> None:
        self.fake = fake

    async def handle_EHLO(self, server: _SMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        # The 5-argument hook replaces aiosmtpd's reply, so it must do what aiosmtpd's own
        # EHLO would: remember the client's name.
        session.host_name = hostname
        extra = ["250-ENHANCEDSTATUSCODES"]
        if self.fake.pipelining:
            extra.append("250-PIPELINING")
        if self.fake.dsn:
            extra.append("250-DSN")
        # aiosmtpd advertises AUTH after STARTTLS; an MX does not take AUTH on port 25.
        kept = [r for r in responses[:-1] if not r.startswith("250-AUTH")]
        return [*kept, *extra, responses[-1]]

    async def handle_MAIL(self, server: _SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        cast(_Envelope, envelope).mail_params = server.pending_params
        self.fake.transactions += 1
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server: _SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        scripted = rcpt_reply_for(address)
        if scripted is not None:
            return scripted
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        cast(_Envelope, envelope).rcpt_params.append(server.pending_params)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server: _SMTP, session: Session, envelope: Envelope) -> str:
        reply = await server.scripted("DATA_END")
        if reply is not None and reply[0] != "2":
            return reply
        env = cast(_Envelope, envelope)
        peer = cast(tuple[str, int], session.peer)
        message = ReceivedMessage(
            mail_from=env.mail_from or "",
            rcpt_tos=list(env.rcpt_tos),
            data=bytes(env.original_content or b""),
            mail_params=env.mail_params,
            rcpt_params=list(env.rcpt_params),
            peer=(str(peer[0]), int(peer[1])),
            helo=session.host_name or "",
            tls=session.ssl is not None,
            connection=server.serial,
        )
        # The record (and, in process mode, the fsync) happens before the 250 goes out.
        if self.fake.on_message is not None:
            self.fake.on_message(message)
        self.fake.messages.append(message)
        return reply or f"250 2.0.0 Ok: queued as {len(self.fake.messages)}"

    async def handle_exception(self, error: Exception) -> str:
        # Replaces aiosmtpd's log.exception (a traceback on stderr for every failed TLS
        # handshake); the error stays inspectable in FakeMX.errors.
        self.fake.errors.append(error)
        return f"451 4.3.0 Error: ({type(error).__name__}) {error}"


class _SMTP(SMTP):
    """aiosmtpd's SMTP with scripted replies, DSN parameters and a command log.

    Overrides only wrap: the script is consulted first, then aiosmtpd does its usual work.
    """

    def __init__(self, fake: FakeMX, serial: int) -> None:
        super().__init__(
            _Handler(fake),
            hostname=fake.hostname,
            ident="ESMTP FakeMX",
            tls_context=fake.tls_context,
            require_starttls=fake.require_tls,
            data_size_limit=fake.size_limit,
            enable_SMTPUTF8=fake.smtputf8,
            timeout=fake.idle_timeout,
            loop=asyncio.get_running_loop(),
        )
        self.fake = fake
        self.serial = serial
        self.pending_params: Params = {}
        # aiosmtpd keeps these limits in a dict shared by the class (and clears it in every
        # __init__); give each connection its own, raised as RFC 3461 section 4 requires of
        # a server that offers DSN (MAIL +110 octets, RCPT +500).
        self.command_size_limits = collections.defaultdict(
            lambda: SMTP.command_size_limit,
            {"MAIL": SMTP.command_size_limit + 110, "RCPT": SMTP.command_size_limit + 500},
        )
        # Log every recognised command with its argument, before it runs.
        self._smtp_methods = {
            name: self._logged(name, method) for name, method in self._smtp_methods.items()
        }

    def _logged(self, name: str, method: Callable[[str | None], Any]
                ) -> Callable[[str | None], Any]:
        async def run(arg: str | None) -> None:
            self.fake.commands.append((self.serial, name if arg is None else f"{name} {arg}"))
            await method(arg)
        # HELP lists a command only if its method carries aiosmtpd's @syntax attributes;
        # take them from aiosmtpd's own method, which the overrides here wrap.
        original = getattr(SMTP, f"smtp_{name}", method)
        for attribute in _SYNTAX_ATTRIBUTES:
            if hasattr(original, attribute):
                setattr(run, attribute, getattr(original, attribute))
        return run

    def _create_envelope(self) -> Envelope:
        return _Envelope()

    def connection_lost(self, error: Exception | None) -> None:
        self.fake._protocols.discard(self)
        super().connection_lost(error)

    async def push(self, status: str | bytes) -> None:
        text = status.decode("ascii", "replace") if isinstance(status, bytes) else status
        if text == "530 Must issue a STARTTLS command first":
            text = "530 5.7.0 Must issue a STARTTLS command first"  # RFC 3207 section 4
        await super().push(text)
        if text.startswith("421") and self.transport is not None:
            self.transport.close()

    async def scripted(self, command: str) -> str | None:
        """Apply a queued stall, then return the queued or persistent reply, if any."""
        stall = self.fake._take(self.fake._stalls, command)
        if stall is not None:
            await asyncio.sleep(stall)
        reply = self.fake._take(self.fake._queued, command)
        return reply if reply is not None else self.fake._overrides.get(command)

    async def _scripted_push(self, command: str) -> bool:
        reply = await self.scripted(command)
        if reply is None:
            return False
        await self.push(reply)
        return True

    async def smtp_EHLO(self, hostname: str) -> None:
        reply = await self.scripted("EHLO")
        if reply is None:
            await super().smtp_EHLO(hostname)
            return
        if reply[0] == "2" and hostname:
            # A scripted capability list: the session state is what aiosmtpd's EHLO sets.
            self.envelope = self._create_envelope()  # what aiosmtpd's _set_rset_state does
            assert self.session is not None
            self.session.extended_smtp = True
            self.session.host_name = hostname
        await self.push(reply)

    async def smtp_HELO(self, hostname: str) -> None:
        reply = await self.scripted("HELO")
        if reply is None:
            await super().smtp_HELO(hostname)
            return
        if reply[0] == "2" and hostname:
            self.envelope = self._create_envelope()  # what aiosmtpd's _set_rset_state does
            assert self.session is not None
            self.session.extended_smtp = False
            self.session.host_name = hostname
        await self.push(reply)

    async def smtp_STARTTLS(self, arg: str) -> None:
        if not await self._scripted_push("STARTTLS"):
            await super().smtp_STARTTLS(arg)

    async def smtp_MAIL(self, arg: str | None) -> None:
        if await self._scripted_push("MAIL"):
            return
        arg, self.pending_params, error = self._dsn_params("FROM:", arg, _DSN_MAIL)
        if error is not None:
            await self.push(error)
            return
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str | None) -> None:
        if await self._scripted_push("RCPT"):
            return
        arg, self.pending_params, error = self._dsn_params("TO:", arg, _DSN_RCPT)
        if error is not None:
            await self.push(error)
            return
        await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg: str) -> None:
        if not await self._scripted_push("DATA"):
            await super().smtp_DATA(arg)

    def _dsn_params(self, keyword: str, arg: str | None, dsn: frozenset[str]
                    ) -> tuple[str | None, Params, str | None]:
        """Take the DSN parameters out of a MAIL/RCPT argument, checked, with their case.

        aiosmtpd 1.4 upper-cases every parameter (ENVID and ORCPT values are case-sensitive
        xtext) and refuses any it does not know with 555, so FakeMX reads them itself and
        hands aiosmtpd the rest. Returns (argument for aiosmtpd, all parameters as sent,
        error reply or None). Anything unparsable goes to aiosmtpd unchanged for its error.
        """
        if arg is None:
            return arg, {}, None
        stripped = self._strip_command_keyword(keyword, arg)
        if stripped is None:
            return arg, {}, None
        address, rest = self._getaddr(stripped)
        if address is None or rest is None or not arg.endswith(rest):
            return arg, {}, None
        prefix = arg[: len(arg) - len(rest)].rstrip()
        params: Params = {}
        kept: list[str] = []
        for token in rest.split():
            name, eq, value = token.partition("=")
            key = name.upper()
            if key in params:
                return arg, {}, f"501 5.5.4 Duplicate {key} parameter"
            params[key] = value if eq else None
            if key in dsn and self.fake.dsn:
                error = _check_dsn(key, params[key])
                if error is not None:
                    return arg, {}, error
            else:
                kept.append(token)
        return " ".join([prefix, *kept]), params, None


def _check_dsn(key: str, value: str | None) -> str | None:
    """RFC 3461 syntax of one DSN parameter: None if valid, else a 501 reply."""
    bad = f"501 5.5.4 Invalid {key} parameter"
    if not value:
        return bad
    if key == "RET":
        return None if value.upper() in {"FULL", "HDRS"} else bad
    if key == "ENVID":
        return None if len(value) <= 100 else bad
    if key == "NOTIFY":
        words = value.upper().split(",")
        if words == ["NEVER"]:
            return None
        return None if set(words) <= _NOTIFY_WORDS and len(set(words)) == len(words) else bad
    # ORCPT: addr-type ";" xtext
    addr_type, semi, xtext = value.partition(";")
    return None if semi and addr_type and xtext else bad


class FakeMX(Served):
    """An SMTP server on ``host:port`` (port 0: any free one) in the running event loop.

    ``async with FakeMX() as mx:`` then connect to ``(mx.host, mx.port)``. Several instances
    may share a port on different loopback addresses (``FakeMX(host="127.0.0.3",
    port=mx2.port)``) to stand for several MX hosts.

    Advertises SIZE, 8BITMIME, ENHANCEDSTATUSCODES, PIPELINING (unless
    ``pipelining=False``), DSN (unless ``dsn=False``:
    then RET/ENVID/NOTIFY/ORCPT get aiosmtpd's 555) and, with ``tls_context``, STARTTLS
    (``require_tls``: MAIL and the rest get ``530 5.7.0`` before it). ``smtputf8`` enables
    SMTPUTF8.

    Records: ``messages`` (:class:`ReceivedMessage`, appended before the 250 is sent),
    ``connections`` (accepted TCP connections), ``peak_connections`` (the most open at
    once), ``transactions`` (MAIL commands accepted)
    and ``commands``: ``(connection, "VERB argument")`` for every command aiosmtpd
    recognised, in order (``"RSET"``, ``"QUIT"`` included); ``errors``: exceptions raised
    while serving (a failed TLS handshake is ``aiosmtpd.smtp.TLSSetupException``; the
    client is answered ``451 4.3.0``). ``on_message`` is called with
    each message before it is appended (process mode writes it to disk there).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, hostname: str = "mx.test",
                 tls_context: ssl.SSLContext | None = None, require_tls: bool = False,
                 dsn: bool = True, size_limit: int | None = DATA_SIZE_DEFAULT,
                 smtputf8: bool = False, idle_timeout: float = 300.0, pipelining: bool = True,
                 on_message: Callable[[ReceivedMessage], None] | None = None) -> None:
        if require_tls and tls_context is None:
            raise ValueError("require_tls needs a tls_context")
        self.host = host
        self.port = port
        # Given explicitly: aiosmtpd's default is socket.getfqdn(), a reverse DNS lookup.
        self.hostname = hostname
        self.tls_context = tls_context
        self.require_tls = require_tls
        self.dsn = dsn
        self.pipelining = pipelining
        self.size_limit = size_limit
        self.smtputf8 = smtputf8
        self.idle_timeout = idle_timeout
        self.on_message = on_message
        self.messages: list[ReceivedMessage] = []
        self.connections = 0
        self.peak_connections = 0
        self.transactions = 0
        self.commands: list[tuple[int, str]] = []
        self.errors: list[Exception] = []
        self._queued: dict[str, collections.deque[str]] = collections.defaultdict(
            collections.deque)
        self._stalls: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque)
        self._overrides: dict[str, str] = {}
        self._server: asyncio.Server | None = None
        self._protocols: set[_SMTP] = set()

    # -- scripting ---------------------------------------------------------------------

    def fail_next(self, command: str, *replies: str) -> None:
        """Queue replies for the next occurrences of ``command``, one each, in order.

        E.g. ``fail_next("MAIL", "553 5.1.8 Sender address rejected")``,
        ``fail_next("DATA_END", "552 5.2.2 Mailbox full")``,
        ``fail_next("RCPT", "421 4.7.0 Too many errors")`` (closes the connection).
        A command that gets a scripted reply is not otherwise processed.
        """
        for reply in replies:
            formatted = _check_script(command, reply)
            self._queued[command.upper()].append(formatted)

    def override(self, command: str, reply: str | None) -> None:
        """Answer every ``command`` with ``reply`` from now on (``None`` clears it)."""
        if reply is None:
            self._overrides.pop(command.upper(), None)
        else:
            self._overrides[command.upper()] = _check_script(command, reply)

    def stall_next(self, command: str, seconds: float) -> None:
        """Wait ``seconds`` before replying to the next ``command`` (then reply as usual)."""
        if command.upper() not in COMMANDS:
            raise ValueError(f"cannot stall {command!r}: choose one of {sorted(COMMANDS)}")
        self._stalls[command.upper()].append(seconds)

    def reset_script(self) -> None:
        """Forget queued replies, stalls and overrides (recorded data stays)."""
        self._queued.clear()
        self._stalls.clear()
        self._overrides.clear()

    def apply_script(self, script: Mapping[str, Any]) -> None:
        """Load a script as data: ``{"fail_next": {"RCPT": ["452 4.2.2 Full"]},
        "override": {"DATA_END": "554 5.7.1 No"}, "stall_next": {"MAIL": [2.0]}}``
        (the ``--script`` of process mode)."""
        unknown = set(script) - {"fail_next", "override", "stall_next"}
        if unknown:
            raise ValueError(f"unknown script keys: {sorted(unknown)}")
        for command, replies in dict(script.get("fail_next") or {}).items():
            self.fail_next(command, *([replies] if isinstance(replies, str) else replies))
        for command, reply in dict(script.get("override") or {}).items():
            self.override(command, reply)
        for command, stalls in dict(script.get("stall_next") or {}).items():
            for seconds in [stalls] if isinstance(stalls, int | float) else stalls:
                self.stall_next(command, float(seconds))

    @staticmethod
    def _take(queues: Mapping[str, collections.deque[Any]], command: str) -> Any:
        queue = queues.get(command)
        return queue.popleft() if queue else None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Listen. With port 0 the chosen port is in ``port`` afterwards."""
        loop = asyncio.get_running_loop()
        # aiosmtpd's Controller runs its own loop in a thread and probes readiness by
        # connecting to the configured port, which fails for port 0; create_server in the
        # test's loop needs neither.
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def _protocol(self) -> _SMTP:
        self.connections += 1
        protocol = _SMTP(self, self.connections)
        self._protocols.add(protocol)
        self.peak_connections = max(self.peak_connections, len(self._protocols))
        return protocol

    async def close(self) -> None:
        """Stop listening and drop open connections (abort: no TLS close_notify wait)."""
        if self._server is None:
            return
        self._server.close()
        tasks = []
        for protocol in list(self._protocols):
            if protocol.transport is not None:
                cast(asyncio.Transport, protocol.transport).abort()
            task = protocol._handler_coroutine
            if task is not None:
                tasks.append(task)
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port


# -- process mode -----------------------------------------------------------------------

_READY: Final = "LISTENING"


def _append_record(handle: IO[str], message: ReceivedMessage) -> None:
    handle.write(json.dumps(message.to_json(), separators=(",", ":")) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


async def _serve(host: str, port: int, record: Path, script: Mapping[str, Any],
                 hostname: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    with record.open("a", encoding="ascii") as handle:
        fake = FakeMX(host=host, port=port, hostname=hostname,
                      on_message=lambda message: _append_record(handle, message))
        fake.apply_script(script)
        async with fake:
            # The parent (MXProcess.start) waits for this line: the port is known and bound.
            sys.stdout.write(f"{_READY} {fake.host} {fake.port}\n")
            sys.stdout.flush()
            await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bounceloop.testing.mx``: a FakeMX in its own process, until killed."""
    parser = argparse.ArgumentParser(
        prog="python -m bounceloop.testing.mx",
        description="A FakeMX in its own process: appends each accepted message to --record "
                    "(fsynced before the 250) and runs until SIGTERM or SIGKILL.")
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any)")
    parser.add_argument("--record", required=True, type=Path,
                        help="JSON lines file; one fsynced line per accepted message")
    parser.add_argument("--script", default="{}",
                        help="JSON object as for FakeMX.apply_script, or @FILE holding one")
    parser.add_argument("--hostname", default="mx.test")
    args = parser.parse_args(argv)
    host, port = host_port(args.listen, 0)
    text = Path(args.script[1:]).read_text() if args.script.startswith("@") else args.script
    asyncio.run(_serve(host, port, args.record, json.loads(text), args.hostname))
    return 0


class MXProcess:
    """A FakeMX in a child process (``python -m bounceloop.testing.mx``), for crash tests.

    :meth:`start` blocks until the child prints that it listens (a fraction of a second);
    ``port`` is then the real port. :meth:`kill` is SIGKILL: the crash being tested.
    """

    def __init__(self, record: str | os.PathLike[str], *, host: str = "127.0.0.1",
                 port: int = 0, script: Mapping[str, Any] | None = None,
                 hostname: str = "mx.test") -> None:
        self.record = Path(record)
        self.host = host
        self.port = port
        self.script = dict(script or {})
        self.hostname = hostname
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> MXProcess:
        listen = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bounceloop.testing.mx", "--listen", listen,
             "--record", str(self.record), "--script", json.dumps(self.script),
             "--hostname", self.hostname],
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        # Raw reads on the descriptor: a buffered reader could hold the line while select()
        # reports the pipe empty.
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        buffer = b""
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            if not ready:
                self.kill()
                raise TimeoutError(f"FakeMX process did not listen within {timeout} s")
            chunk = os.read(fd, 1024)
            if not chunk:
                self.kill()
                raise RuntimeError(
                    f"FakeMX process exited with {self.process.returncode} before listening")
            buffer += chunk
        line = buffer.decode("ascii", "replace")
        word, host, port = line.split()
        if word != _READY:
            self.kill()
            raise RuntimeError(f"unexpected line from FakeMX process: {line!r}")
        self.host, self.port = host, int(port)
        return self

    def messages(self) -> list[ReceivedMessage]:
        """What the process has recorded so far (complete lines only)."""
        return read_records(self.record)

    def kill(self) -> None:
        """SIGKILL and reap: no clean-up runs in the child."""
        self._stop(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM: the child closes its listener and exits 0."""
        self._stop(signal.SIGTERM)

    def _stop(self, signum: signal.Signals) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signum)
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> MXProcess:
        return self if self.process is not None else self.start()

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None, tb: TracebackType | None) -> None:
        self.kill()


def spawn_mx(record: str | os.PathLike[str], *, host: str = "127.0.0.1", port: int = 0,
             script: Mapping[str, Any] | None = None, timeout: float = 10.0) -> MXProcess:
    """Start ``python -m bounceloop.testing.mx`` and return once it listens."""
    return MXProcess(record, host=host, port=port, script=script).start(timeout)


if __name__ == "__main__":
    sys.exit(main())
