"""Active!hunter (QUALITIA's mail filtering gateway) bounces.

Active!hunter writes a Sendmail-style text in a multipart/report whose boundary names the
product ("----=_Active!Hunter_..."), with its own X-AHMAILID header and the subject
"FAILURE NOTICE : <original subject>"::

      ----- The following addresses had permanent fatal errors -----

    >>> jane@example.net <jane@example.net>

      ----- Transcript of session follows -----
    550 5.1.1 <jane@example.net>: Recipient address rejected: User unknown

The transcript holds the remote replies; with several addresses a reply is given to the
address it names, or to every address when it names none.
"""

from __future__ import annotations

import re

from bounceloop.parsing.detectors._common import first_address
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "activehunter"

_ADDRESS_LINE = re.compile(r"^>>>\s*(.+)$")
_SECTION = re.compile(r"^-----\s*(.+?)\s*-----$")
# Sendmail's transcript marks what was sent with ">>> " and what came back with "<<< ".
_SENT = re.compile(r"^>>>\s*(MAIL FROM|RCPT TO|DATA|EHLO|HELO)\b", re.I)


def match(mail: Mail) -> bool:
    if mail.has("X-AHMAILID"):
        return True
    ctype = " ".join(mail.headers_all("Content-Type"))
    return "Active!Hunter" in ctype and mail.subject.upper().startswith("FAILURE NOTICE")


def inquire(mail: Mail) -> list[Fact]:
    section = ""
    facts: list[Fact] = []
    transcript: list[str] = []
    for raw in mail.body.split("\n"):
        line = raw.strip()
        if not line:
            continue
        sec = _SECTION.match(line)
        if sec:
            section = sec.group(1).lower()
            continue
        if "addresses had" in section:
            m = _ADDRESS_LINE.match(line)
            addr = first_address(m.group(1)) if m else ""
            if addr:
                # "had transient non-fatal errors" is Sendmail's wording for a delay notice.
                action = "delayed" if "transient" in section else "failed"
                facts.append(Fact(recipient=addr, action=action, date=mail.header("Date")))
        elif "transcript" in section:
            transcript.append(line)
    if not facts:
        return []
    # Transcript lines belong to the last address they named; lines before any address
    # (or a transcript naming none) belong to every address.
    owned: dict[str, list[str]] = {f.recipient.lower(): [] for f in facts}
    shared: list[str] = []
    owner = ""
    for line in transcript:
        low = line.lower()
        owner = next((r for r in owned if r in low), owner)
        (owned[owner] if owner else shared).append(line)
    for fact in facts:
        lines = shared + owned[fact.recipient.lower()]
        fact.diagnosis = " ".join(t.lstrip("<").strip() for t in lines if not t.startswith(">>>"))
        for t in lines:
            sent = _SENT.match(t)
            if sent:
                fact.command = sent.group(1).upper().split()[0]
    return facts
