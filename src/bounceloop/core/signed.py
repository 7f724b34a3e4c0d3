"""Signed references to mail we sent: what a returned message must carry to change anything.

A returned message (a DSN, an ARF report, an auto-reply) is evidence from outside. It may
change what we know about an address only through a tie that nobody but us could have made
(issue 16): the VERP envelope (core.verp) and the references below, each an HMAC under the
VERP secret. Everything else a report says - Final-Recipient, Original-Rcpt-To, a bare
message id - is a claim anybody can write.

One token names one message and the address we sent it to::

    3f9c2a7e51d04b18.kq7vzd2mx4ab6c3e     message id . tag of (message id, recipient)

and travels in three places of the copy that leaves us, so that whatever part of it a
reporting MTA returns still ties it::

    X-Bounceloop-Id: <token>             a header of our own (kept by most MTAs' returns)
    ENVID=<token>                        RFC 3461: echoed as Original-Envelope-Id
    Message-ID: <token@domain>           only when the document has none of its own; an
                                         auto-reply quotes it in In-Reply-To (RFC 3834 s3.1.3)

A transaction of several recipients (no VERP: one shared envelope, one shared copy) cannot
name one message, so its token names the mailing and the recipients' domain (a transaction
holds one domain's recipients): ``mailing-12.<tag>`` in ``X-Bounceloop-Mailing``, the ENVID
and the Message-ID. Such a tie holds for a recipient of that mailing at that domain only.

The tag is 16 base32 characters (80 bits) of HMAC-SHA256, lower-case because relays
lower-case what they copy; each kind of token signs its own context string, so a VERP tag
or a mailing tag is never a valid message tag.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass

from bounceloop.core import tags

TAG_LENGTH = 16
MAILING_PREFIX = "mailing-"
ID_HEADER = "X-Bounceloop-Id"
MAILING_HEADER = "X-Bounceloop-Mailing"

_TAG = f"[a-z2-7]{{{TAG_LENGTH}}}"
#: A message token: the message id (16 hex digits; up to 40 taken) and its tag.
MESSAGE_TOKEN = re.compile(rf"([0-9a-f]{{16,40}})\.({_TAG})")
#: A mailing token: the mailing id and its tag.
MAILING_TOKEN = re.compile(rf"{MAILING_PREFIX}(\d{{1,18}})\.({_TAG})")


def _tag(secret: str, *parts: str) -> str:
    return tags.tag(secret, "\0".join(parts).encode("utf-8", "surrogateescape"), TAG_LENGTH)


def message_token(message_id: str, recipient: str, secret: str) -> str:
    """The token of our message ``message_id`` to ``recipient``."""
    return f"{message_id}.{_tag(secret, 'message', message_id, recipient.lower())}"


def mailing_token(mailing_id: int, domain: str, secret: str) -> str:
    """The token of a many-recipient transaction of a mailing to one domain."""
    tag = _tag(secret, "mailing", str(mailing_id), domain.lower())
    return f"{MAILING_PREFIX}{mailing_id}.{tag}"


def message_valid(token_tag: str, message_id: str, recipient: str, secret: str) -> bool:
    """Whether ``token_tag`` is the tag of our message ``message_id`` to ``recipient``."""
    if not secret:
        return False
    return hmac.compare_digest(token_tag, _tag(secret, "message", message_id, recipient.lower()))


def mailing_valid(token_tag: str, mailing_id: int, domain: str, secret: str) -> bool:
    if not secret:
        return False
    return hmac.compare_digest(
        token_tag, _tag(secret, "mailing", str(mailing_id), domain.lower()))


@dataclass(frozen=True, slots=True)
class Found:
    """A token read from a returned message, not yet checked (checking needs our record of
    the message: the recipient is part of what is signed)."""

    kind: str
    """message | mailing"""
    ref: str
    """The message id, or the mailing id as text."""
    tag: str
    by: str
    """Where it was read: header, envid or message-id (correlate.BY)."""


_ANY_TOKEN = (rf"[0-9a-f]{{16,40}}\.{_TAG}|{MAILING_PREFIX}\d{{1,18}}\.{_TAG}")
#: Where a token may stand in a returned message, and what that place is called. A token
#: elsewhere (a body that happens to hold one) is not one we put there. Each pattern is
#: anchored on a fixed text and reads at most a token's length past it: linear in the size
#: of any message, however it is made.
_PLACES = (
    ("header", re.compile(rf"^(?:{ID_HEADER}|{MAILING_HEADER}):[ \t]*(?:\r?\n[ \t]+)?"
                          rf"({_ANY_TOKEN})(?![0-9a-z])", re.I | re.M)),
    ("envid", re.compile(rf"^Original-Envelope-Id:[ \t]*({_ANY_TOKEN})(?![0-9a-z])",
                         re.I | re.M)),
    ("message-id", re.compile(rf"<({_ANY_TOKEN})@", re.I)),
)


#: The field names the line-anchored places begin with, lower-cased.
_FIELDS = {"header": (f"{ID_HEADER.lower()}:", f"{MAILING_HEADER.lower()}:"),
           "envid": ("original-envelope-id:",)}
#: The other places, case-sensitive, for the lower-cased text.
_LOWER = {by: re.compile(pattern.pattern) for by, pattern in _PLACES if by not in _FIELDS}


def _matches(by: str, pattern: re.Pattern[str], text: str, low: str | None
             ) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, where ``low`` is ``text`` lower-cased (None: the
    patterns alone). A case-insensitive pattern has no literal prefix for ``re`` to skip
    ahead to, so it is tried at every position: 25 us for the three places on a 1.3 kB DSN,
    420 us on 34 kB. A line-anchored place is tried only where a line starts with its
    field name (``str.find`` in ``low``, a fast scan), and the others run without re.I on
    ``low``: 14 and 100-105 us."""
    if low is None:
        yield from pattern.finditer(text)
        return
    names = _FIELDS.get(by)
    if names is None:
        # Unanchored: the same pattern without re.I, on the lower-cased text (whose every
        # letter of the pattern is lower-case already), where re skips ahead to each "<".
        yield from _LOWER[by].finditer(low)
        return
    starts: list[int] = []
    for name in names:
        at = low.find(name)
        while at >= 0:
            if at == 0 or text[at - 1] == "\n":  # where the pattern's ^ (re.M) matches
                starts.append(at)
            at = low.find(name, at + 1)
    for at in sorted(starts):
        m = pattern.match(text, at)
        if m is not None:
            yield m


def find(text: str, limit: int = 16) -> list[Found]:
    """The distinct tokens in ``text`` (a returned message read as Latin-1), at most
    ``limit`` of them (each costs a database look-up to check: a message stuffed with made-up
    tokens must not cost more than a few)."""
    out: list[Found] = []
    seen: set[tuple[str, str, str]] = set()
    lowered = text.lower()
    # Beyond Latin-1 a letter may lower to two, and positions no longer match.
    low = lowered if len(lowered) == len(text) else None
    for by, pattern in _PLACES:
        for m in _matches(by, pattern, text, low):
            value = m.group(1).lower()
            hit = MESSAGE_TOKEN.fullmatch(value)
            if hit is not None:
                found = Found("message", hit.group(1), hit.group(2), by)
            else:
                mhit = MAILING_TOKEN.fullmatch(value)
                if mhit is None:
                    continue
                found = Found("mailing", mhit.group(1), mhit.group(2), by)
            key = (found.kind, found.ref, found.tag)
            if key in seen:
                continue
            seen.add(key)
            out.append(found)
            if len(out) >= limit:
                return out
    return out


def unsigned_ids(text: str, limit: int = 4) -> list[str]:
    """Message ids in our header or an ENVID without a valid-looking tag (what we sent
    before tokens were signed, or a forgery): a display hint, never a tie."""
    out: list[str] = []
    for m in _UNSIGNED.finditer(text):
        value = m.group(1).lower()
        if value not in out:
            out.append(value)
            if len(out) >= limit:
                break
    return out


_UNSIGNED = re.compile(
    rf"^(?:{ID_HEADER}|Original-Envelope-Id):[ \t]*([0-9a-f]{{16,40}})[ \t]*\r?$", re.I | re.M)


def stamp(*, secret: str, recipients: list[tuple[str, str]], mailing_id: int,
          message_id_domain: str = "") -> tuple[str, bytes]:
    """What a transaction's copy carries: (ENVID, header lines to put before the document).

    ``recipients`` are the transaction's (message id, recipient) pairs; one names a message,
    several a mailing to one domain (see the module doc). ``message_id_domain``: add a
    Message-ID of ours there (the document has none). Without a secret nothing can be
    signed: the references are the bare ids, which tie nothing (a display hint only)."""
    if len(recipients) == 1:
        message_id, recipient = recipients[0]
        token = message_token(message_id, recipient, secret) if secret else message_id
        header = ID_HEADER
    else:
        domain = recipients[0][1].rpartition("@")[2]
        token = (mailing_token(mailing_id, domain, secret) if secret
                 else f"{MAILING_PREFIX}{mailing_id}")
        header = MAILING_HEADER
    lines = f"{header}: {token}\r\n"
    if secret and message_id_domain:
        lines += f"Message-ID: <{token}@{message_id_domain}>\r\n"
    return token, lines.encode()
