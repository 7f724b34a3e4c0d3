"""Lotus Notes (the Notes SMTP MTA of Notes/Domino R4 and R5): plain-text failure reports.

The report is one text part in the server's language (ISO-2022-JP on Japanese servers)::

    Subject: Undeliverable message

    ------- Failure Reasons  --------

    User not listed in public Name & Address Book
    jane@example.org

    ------- Returned Message --------
    Received: from mx.example.net ...
    (the original message, headers and body)

Under "Failure Reasons" each reason line is followed by the address(es) it applies to. There
is no SMTP reply: the reason line ("User not listed in public Name & Address Book", Japanese
"ディレクトリのリストにありません") is the diagnosis. Later Domino releases write a different
report (domino).
"""

from __future__ import annotations

from bounceloop.parsing.detectors._common import ADDRESS, attach_original, cut, subject_starts
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail
from bounceloop.parsing.once import Once

NAME = "notes"

_REASONS = "------- failure reasons"
# The server's fixed wording for a name its directory does not hold (English, Japanese).
# Notes looked the name up itself, with no SMTP dialogue: the wording states the cause.
_NOT_LISTED = ("not listed in public name & address book", "ディレクトリのリストにありません")
_RETURNED = ("------- returned message",)


def match(mail: Mail) -> bool:
    return subject_starts(mail, "undeliverable message") and (
        _REASONS in mail.body[:2000].lower())


def inquire(mail: Mail) -> list[Fact]:
    low = mail.body.lower()
    start = low.find(_REASONS)
    if start < 0:
        return []
    notice, original = cut(mail.body[start:], _RETURNED)
    attach_original(mail, original)
    facts: list[Fact] = []
    reason: list[str] = []
    last_reason = ""
    not_listed = Once(_not_listed)  # the reason above several addresses is read once
    for line in notice.split("\n")[1:]:
        stripped = line.strip()
        if not stripped or stripped.startswith("---"):
            continue
        if ADDRESS.fullmatch(stripped.strip("<>")):
            # The reason lines just read apply to this address; several addresses in a row
            # share the reason above them.
            if reason:
                last_reason = " ".join(reason)
                reason = []
            fact = Fact(recipient=stripped.strip("<>"), action="failed", diagnosis=last_reason,
                        date=mail.header("Date"))
            if not_listed(last_reason):
                fact.reason = "userunknown"
            facts.append(fact)
            continue
        reason.append(stripped)
    return facts


def _not_listed(reason: str) -> bool:
    low = reason.lower()
    return any(w in low for w in _NOT_LISTED)
