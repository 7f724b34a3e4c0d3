"""Tie a returned message (and each record read from it) to the message it answers.

Strongest evidence first, as MailerQ and Copernica do it (spec section 1.3):

    verp        the envelope address it came back to names the message (exact, HMAC-checked)
    header      the returned copy still carries our ``X-Bounceloop-Id`` (or
                ``X-Bounceloop-Mailing`` plus the failed recipient)
    envid       RFC 3461 ENVID echoed as Original-Envelope-Id: we send the message id (or
                ``mailing-N`` for a many-recipient transaction)
    message-id  the returned copy's Message-ID is the mailing's document Message-ID
    recipient   only the failed address is known: the latest message sent to it

A mailing found by a weaker clue still needs the failed address (Final-Recipient, else
Original-Recipient) to name one message of it. The database is reached through
:class:`Lookup`, so this module stays free of storage code and is tested with a dict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from bounceloop.core import verp
from bounceloop.core.model import Bounce


@dataclass(frozen=True, slots=True)
class Sent:
    """What correlation needs of a message we sent."""

    id: str
    mailing_id: int
    recipient: str
    envelope: str
    tags: tuple[str, ...] = ()


class Lookup(Protocol):
    def message(self, message_id: str) -> Sent | None: ...

    def in_mailing(self, mailing_id: int, recipient: str) -> Sent | None: ...

    def mailing_with_message_id(self, header_message_id: str) -> int | None: ...

    def latest_to(self, recipient: str) -> Sent | None: ...


@dataclass(frozen=True, slots=True)
class Tie:
    sent: Sent | None
    by: str = ""
    """verp, header, envid, message-id, recipient, or "" when untied."""


UNTIED = Tie(None)

_MESSAGE_ID = re.compile(r"^[0-9a-f]{16,40}$")
_MAILING_ENVID = re.compile(r"^mailing-(\d{1,18})$")
# In raw bytes, for messages the parser did not recognise: our header in the returned copy.
_RAW_ID = re.compile(rb"^X-Bounceloop-Id:[ \t]*([0-9a-f]{16,40})[ \t]*\r?$", re.M | re.I)
_RAW_MAILING = re.compile(rb"^X-Bounceloop-Mailing:[ \t]*(\d{1,18})[ \t]*\r?$", re.M | re.I)


def envelope(rcpts: Iterable[str], domains: Iterable[str], secret: str
             ) -> tuple[str, str] | None:
    """The first valid VERP address among ``rcpts``, and the message id it names."""
    domains = list(domains)
    for rcpt in rcpts:
        for domain in domains:
            message_id = verp.decode(rcpt, domain, secret)
            if message_id is not None:
                return rcpt, message_id
    return None


@dataclass(frozen=True, slots=True)
class Clues:
    """What a returned message says about its original, record by record or from raw."""

    message_id: str = ""
    mailing_id: int | None = None
    mailing_by: str = ""
    recipients: tuple[str, ...] = ()
    message_by: str = "header"


def clues_of(record: Bounce, lookup: Lookup) -> Clues:
    headers = {name.lower(): value.strip() for name, value in record.headers}
    recipients = tuple(r for r in (record.recipient, record.original_recipient) if r)
    own = headers.get("x-bounceloop-id", "").lower()
    if _MESSAGE_ID.match(own):
        return Clues(message_id=own, recipients=recipients)
    envid = record.original_envelope_id.strip().lower()
    if _MESSAGE_ID.match(envid):
        return Clues(message_id=envid, recipients=recipients, message_by="envid")
    mailing = headers.get("x-bounceloop-mailing", "")
    if mailing.isdigit():
        return Clues(mailing_id=int(mailing), mailing_by="header", recipients=recipients)
    m = _MAILING_ENVID.match(envid)
    if m:
        return Clues(mailing_id=int(m.group(1)), mailing_by="envid", recipients=recipients)
    if record.original_message_id:
        found = lookup.mailing_with_message_id(record.original_message_id)
        if found is not None:
            return Clues(mailing_id=found, mailing_by="message-id", recipients=recipients)
    return Clues(recipients=recipients)


def clues_in_raw(raw: bytes) -> Clues:
    """Our headers anywhere in an unrecognised message (a quoted copy of the original)."""
    m = _RAW_ID.search(raw)
    if m:
        return Clues(message_id=m.group(1).decode().lower())
    m = _RAW_MAILING.search(raw)
    if m:
        return Clues(mailing_id=int(m.group(1)), mailing_by="header")
    return Clues()


def tie(verp_id: str | None, clues: Clues, lookup: Lookup) -> Tie:
    """The message these clues point to, with the strongest evidence that names it."""
    if verp_id:
        sent = lookup.message(verp_id)
        if sent is not None:
            return Tie(sent, "verp")
    if clues.message_id:
        sent = lookup.message(clues.message_id)
        if sent is not None:
            return Tie(sent, clues.message_by)
    if clues.mailing_id is not None:
        for rcpt in clues.recipients:
            sent = lookup.in_mailing(clues.mailing_id, rcpt)
            if sent is not None:
                return Tie(sent, clues.mailing_by)
    for rcpt in clues.recipients:
        sent = lookup.latest_to(rcpt)
        if sent is not None:
            return Tie(sent, "recipient")
    return UNTIED
