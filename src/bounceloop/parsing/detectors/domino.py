"""IBM (Lotus, later HCL) Domino: "DELIVERY FAILURE" reports.

Domino writes a text part, since release 6 followed by an RFC 3464 part and the original::

    Subject: DELIVERY FAILURE: User Jane Doe (jane@example.org) not listed in Domino Directory

    Your message

      Subject: Quarterly figures

    was not delivered to:

      jane@example.org

    because:

      User Jane Doe (jane@example.org) not listed in Domino Directory

The block "was not delivered to: / because:" repeats for each recipient. Domino folds the
Diagnostic-Code of its RFC 3464 part at a fixed width, cutting words in two ("Ma\\n ximum hop
count exceeded"), so the "because:" text is the better diagnosis; the RFC 3464 part still
states the status and the remote host.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import first_address, subject_starts
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail
from bounceloop.parsing.once import Once

NAME = "domino"

# Domino's fixed wording for a recipient its directory does not know (English, Japanese), and
# the R5 wording. Domino looked the name up itself, with no SMTP dialogue: the wording is the
# statement of the cause.
_NOT_LISTED = ("not listed in domino directory", "not listed in public name & address book",
               "domino ディレクトリには見つかりません")
_NOT_DELIVERED = rx.compile(r"^\s*was not delivered to:\s*$", re.I)
_BECAUSE = rx.compile(r"^\s*because:\s*$", re.I)


def match(mail: Mail) -> bool:
    if subject_starts(mail, "delivery failure:"):
        return True
    head = mail.body[:2000].lower()
    return head.lstrip().startswith("your message") and "was not delivered to:" in head


def inquire(mail: Mail) -> list[Fact]:
    facts = _text_facts(mail.body)
    _, stated = dsn.facts(mail.dsn) if mail.dsn else ({}, [])
    stated = [f for f in stated if f.recipient]
    if stated:
        by_rcpt = {f.recipient.lower(): f for f in facts}
        for i, fact in enumerate(stated):
            text = by_rcpt.get(fact.recipient.lower())
            if text is None and len(facts) == len(stated):
                text = facts[i]
            if text is not None and text.diagnosis:
                fact.diagnosis = text.diagnosis
        facts = stated
    not_listed = Once(_not_listed)
    for fact in facts:
        if not_listed(fact.diagnosis):
            fact.reason = "userunknown"
        fact.action = fact.action or "failed"
        fact.date = fact.date or mail.header("Date")
    return facts


def _text_facts(body: str) -> list[Fact]:
    facts: list[Fact] = []
    state = ""
    reason: list[str] = []
    # The reason lines a fact was last given, joined when they can grow no more (joining
    # them again at each line is quadratic in a long reason).
    given: dict[int, list[str]] = {}
    for line in body.split("\n"):
        if _NOT_DELIVERED.match(line):
            state = "rcpt"
            continue
        if _BECAUSE.match(line):
            state = "reason"
            reason = []
            continue
        stripped = line.strip()
        if state == "rcpt" and stripped:
            addr = first_address(stripped)
            if addr:
                facts.append(Fact(recipient=addr))
            state = ""
        elif state == "reason":
            if stripped:
                reason.append(stripped)
            elif reason:
                state = ""
            if facts and reason:
                given[len(facts) - 1] = reason
    for i, lines in given.items():
        facts[i].diagnosis = " ".join(lines)
    return facts


def _not_listed(diagnosis: str) -> bool:
    low = diagnosis.lower()
    return any(w in low for w in _NOT_LISTED)
