"""RFC 3464 delivery status notifications from any MTA (the generic DSN reader).

Used when no family detector claimed the message: ``multipart/report;
report-type=delivery-status`` with a ``message/delivery-status`` part, or the same fields
written into a text part by MTAs that do not build the MIME structure (several appliances
and old Exchange gateways do).
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.command import find_command
from bounceloop.parsing.detectors._common import facts_or_original
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail
from bounceloop.parsing.once import Once

NAME = "rfc3464"

_FIELDS_IN_TEXT = rx.compile(r"^(?:final-recipient|original-recipient)\s*:", re.I | re.M)


def match(mail: Mail) -> bool:
    return bool(mail.dsn) or _FIELDS_IN_TEXT.search(mail.body) is not None


def inquire(mail: Mail) -> list[Fact]:
    text = mail.dsn or _fields_part(mail.body)
    _, facts = dsn.facts(text)
    facts = [f for f in facts if f.recipient or f.status or f.diagnosis]
    if not facts:
        return []
    body = mail.body if mail.dsn else mail.body[: mail.body.find(text)]
    notice = notification(body)
    notice_command = Once(find_command)  # the same notice for every recipient: read once
    head = body[:ENTRY_WINDOW]
    lowered = head.lower()
    for fact in facts:
        if not fact.diagnosis and fact.recipient:
            fact.diagnosis = entry_of(head, fact.recipient, lowered)
            # No remote reply, a generic status, and a connection that failed or timed out:
            # nothing any MTA takes as final, so a failure after it is a give-up
            # (Stalwart, crates/smtp/src/outbound/delivery.rs has_pending_delivery).
            if (fact.action == "failed" and fact.status in ("", "5.0.0")
                    and _NO_CONNECTION.search(fact.diagnosis.lower())):
                fact.soft = True
        if len(facts) == 1:
            # With one recipient the notification text is about that recipient; it often
            # holds what the Diagnostic-Code lacks (a local delivery agent's words, the SMTP
            # command).
            fact.context = notice
    # Several recipients: the command each one's own entry in the text names ("<a@b>: ...
    # (in reply to RCPT TO command)"); another's is no evidence for it. Only where no entry
    # names one is the command the notice names said of them all.
    own = ([find_command(entry_of(head, f.recipient, lowered)) if f.recipient else ""
            for f in facts[:MAX_ENTRIES]] if len(facts) > 1 else [])
    shared = not any(own)
    for i, fact in enumerate(facts):
        fact.command = (fact.command or find_command(fact.diagnosis)
                        or (own[i] if i < len(own) else "")
                        or (notice_command(notice) if shared else ""))
    return facts_or_original(mail, facts)


#: Lines of a recipient's entry in the notification text, at most; and how much of the text
#: is searched for entries.
ENTRY_LINES = 6
ENTRY_WINDOW = 8000
#: Recipients whose entries are looked for in that text, at most: more cannot all fit in it,
#: and each look reads it again.
MAX_ENTRIES = 1000
_NO_CONNECTION = rx.compile(r"\b(?:timeout|timed out)\b|connection refused|no route to host"
                            r"|network is unreachable|connection reset")
# A line that opens another entry: an address, bracketed or not, first on it.
_NEXT_ENTRY = rx.compile(r"^\s*['\"]?<?[^\s@<>'\"]+@")


def entry_of(text: str, recipient: str, lowered: str = "") -> str:
    """What the notification ``text`` says of ``recipient``, for a DSN that gives it no
    Diagnostic-Code (RFC 3464 makes the field optional; Stalwart writes one only for a
    remote server's reply, the reason of a DNS or connection failure only as text: "<a@b>
    (failed to lookup 'b': Domain not found: NXDomain)"): the line that names it and the
    lines under it, up to a blank line or a line that opens another entry, without the
    address; "" when the text names it with nothing more, or not at all. ``lowered`` is
    ``text.lower()``, when the caller has it."""
    lowered = lowered or text.lower()
    where = lowered.find(recipient.lower())
    if where < 0:
        return ""
    start = lowered.rfind("\n", 0, where) + 1
    lines: list[str] = []
    for line in text[start:start + 2000].split("\n")[:ENTRY_LINES]:
        if not line.strip() or (lines and _NEXT_ENTRY.match(line)):
            break
        lines.append(line.strip())
    said = " ".join(lines)
    # The address with the brackets and quotes around it ("Failed to deliver to '<a@b>'",
    # CommuniGate Pro).
    said = re.sub(rf"['\"]?<?{re.escape(recipient)}>?['\"]?", "", said, count=1, flags=re.I)
    said = said.strip(" \t<>:;,.-()")
    return said if len(said) >= 8 else ""


_BOILERPLATE = rx.compile(
    r"^(?:content-|this is a mime|this is a multi|this is an auto|###|\*\*\*|--)", re.I
)


def notification(body: str, limit: int = 4000) -> str:
    """The human-readable text of a report, without MIME and banner lines."""
    lines = []
    for line in body[:limit].split("\n"):
        stripped = line.strip()
        if not stripped or _BOILERPLATE.match(stripped):
            continue
        if "--- the follow" in stripped.lower() or "--- transcript" in stripped.lower():
            continue
        lines.append(stripped)
    return " ".join(lines)


def _fields_part(body: str) -> str:
    m = _FIELDS_IN_TEXT.search(body)
    if m is None:
        return ""
    # Take the block of fields from the line before the first recipient field (a
    # Reporting-MTA block usually precedes it) to the end of the fields.
    start = body.rfind("\n\n", 0, m.start())
    return body[start + 2 if start >= 0 else 0:]
