"""Outlook.com / Hotmail (consumer), before its move onto Exchange Online (until about 2017).

Hotmail's outbound servers ran Microsoft SMTPSVC, whose report is ``multipart/report`` with
a short text part (charset "unicode-1-1-utf-7"), an RFC 3464 part and the original::

    Subject: Delivery Status Notification (Failure)
    X-Message-Delivery: Vj0xLjE7...
    X-Message-Info: AuEzbeVr9u5f...

    This is an automatically generated Delivery Status Notification.

    Delivery to the following recipients failed.

           jane@example.org

The RFC 3464 part holds the remote reply in its Diagnostic-Code. When SMTPSVC could not
talk to any server for the domain there is none; the text sentence is then the only
explanation: "Unable to deliver message to the following recipients, due to being unable to
connect successfully to the destination mail server." ("... has been delayed." for a delay).

Reports sent by Outlook.com since its move (``X-MS-Exchange-Message-Is-Ndr``) are Exchange
Online's; office365 reads them and must be tried first.
"""

from __future__ import annotations

from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import ADDRESS, facts_or_original, subject_starts
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "outlook"

_INTRO = "this is an automatically generated delivery status notification"


def match(mail: Mail) -> bool:
    if not subject_starts(mail, "delivery status notification"):
        return False
    # Hotmail's stamps on every message it sends, and its host names.
    if mail.has("X-Message-Delivery") or mail.has("X-Message-Info") or mail.has("X-SID-PRA"):
        return True
    return any(".hotmail.com" in r for r in mail.headers_all("Received"))


def inquire(mail: Mail) -> list[Fact]:
    if _INTRO not in mail.body[:2000].lower() or not mail.dsn:
        return []
    _, facts = dsn.facts(mail.dsn)
    facts = [f for f in facts if f.recipient or f.diagnosis]
    if not facts:
        return []
    sentence = _sentence(mail.body)
    for fact in facts:
        if not fact.diagnosis:
            fact.diagnosis = sentence
    return facts_or_original(mail, facts)


def _sentence(body: str) -> str:
    """The sentences between the intro and the indented address list."""
    head = body[:3000]
    start = head.lower().find(_INTRO)
    if start < 0:
        return ""
    lines: list[str] = []
    for line in head[start:].split("\n")[1:]:
        stripped = line.strip()
        if ADDRESS.fullmatch(stripped):
            break
        if stripped:
            lines.append(stripped)
    return " ".join(lines)
