"""The DSN farm's smarthost, for an MTA that relays everything to one host (nullmailer).

Where the other MTAs look up each recipient's MX and meet that domain's own peer (a
FakeMX scripted with one reply), nullmailer hands every message to the one host in its
``remotes``. This plays all the peers at once: it knows each message by its return path
(the farm's, one per scenario) and answers that scenario's reply at its stage (MAIL, RCPT,
DATA or after the final dot), or accepts. A message with the null return path, or to the
bounce domain, is a bounce on its way back: it is accepted and kept in ``messages``, as the
bounce domain's MX (the farm's catcher) keeps the other MTAs' bounces.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from bounceloop.testing import ReceivedMessage
from bounceloop.testing.mx import format_reply


def wire(text: str) -> str:
    """A reply text (lines joined by ``\\n``, each with its code) as it goes on the wire:
    ``-`` after the code on every line but the last (RFC 5321 section 4.2.1), as the farm's
    other peers send theirs (bounceloop.testing.mx.format_reply). A smarthost route only
    refuses: 4xx or 5xx."""
    if text.strip("\r\n")[:1] not in ("4", "5"):
        raise ValueError(f"reply {text!r} does not start with a 4xx or 5xx code")
    return format_reply(text)


@dataclass(frozen=True)
class Route:
    """What the smarthost answers a message with this return path: ``text`` at ``stage``."""

    stage: str
    text: str


class Smarthost:
    """An SMTP server on ``host:25`` whose replies follow ``routes`` (the return path,
    lower-cased, to its :class:`Route`); ``bounce_domain`` is where bounces go."""

    def __init__(self, host: str, hostname: str, bounce_domain: str,
                 routes: dict[str, Route]) -> None:
        self.host = host
        self.hostname = hostname
        self.bounce_domain = bounce_domain.lower()
        self.routes = routes
        self.messages: list[ReceivedMessage] = []
        self._server: asyncio.Server | None = None

    def route(self, envelope: Envelope, stage: str) -> str | None:
        sender = (envelope.mail_from or "").lower()
        chosen = self.routes.get(sender)
        if chosen is None or chosen.stage != stage:
            return None
        return wire(chosen.text)

    async def __aenter__(self) -> Smarthost:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Server(self), self.host, 25)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class _Handler:
    def __init__(self, smarthost: Smarthost) -> None:
        self.smarthost = smarthost

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        envelope.mail_from = address
        return self.smarthost.route(envelope, "MAIL") or "250 2.1.0 Ok"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if not address.lower().endswith("@" + self.smarthost.bounce_domain):
            reply = self.smarthost.route(envelope, "RCPT")
            if reply is not None:
                return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self.smarthost.route(envelope, "DATA_END")
        if reply is not None:
            return reply
        self.smarthost.messages.append(ReceivedMessage(
            mail_from=envelope.mail_from or "", rcpt_tos=list(envelope.rcpt_tos),
            data=bytes(envelope.original_content or b"")))
        return f"250 2.0.0 Ok: queued as {len(self.smarthost.messages)}"


class _Server(SMTP):
    """aiosmtpd's SMTP, with the DATA command itself answerable by route."""

    def __init__(self, smarthost: Smarthost) -> None:
        super().__init__(_Handler(smarthost), hostname=smarthost.hostname,
                         ident="ESMTP farm smarthost")
        self.smarthost = smarthost

    async def smtp_DATA(self, arg: str) -> Any:
        envelope = self.envelope
        if envelope is not None and envelope.rcpt_tos:
            reply = self.smarthost.route(envelope, "DATA")
            if reply is not None:
                await self.push(reply)
                return None
        return await super().smtp_DATA(arg)
