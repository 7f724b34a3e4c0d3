"""The "automatically generated Delivery Status Notification" with a centred banner.

Sisimai calls it "Unknown MTA #3" (lhost-x3); the MTA names itself nowhere. It is seen from
2006 on (then with the typo "Delevery") and in 2020 from a large Italian ISP's outbound
relays: From "Mail Delivery System", Subject "Delivery status notification", a
multipart/report with boundary "------------<12 chars>_<digits>" and a text part whose
banner is centred in a 76-column line::

          This is an automatically generated Delivery Status Notification.

    Delivery to the following recipients failed permanently:

       * jane@example.net

    ===========================================================================
                                 Technical details:

    SMTP:RCPT host 192.0.2.7: 553 5.3.0 <jane@example.net>... No such user here

Newer versions drop "Technical details" and add a message/delivery-status part instead
("was aborted after 0 second(s)"); its per-recipient block may be missing altogether. In
that part the Status field does not follow the remote reply (seen: "Status: 5.1.1" with
"Diagnostic-Code: smtp; 552 5.2.2 Over quota"), so a reply's own enhanced code wins.
"""

from __future__ import annotations

import re

from bounceloop.core.status import has_coded_reply
from bounceloop.parsing import dsn
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "autodsn"

_BANNER = re.compile(r"^[ \t]+This is an automatically generated Delivery Status Notification",
                     re.M)
_OUTCOME = re.compile(r"^De(?:li|le)very to the following recipients? (.+?):?[ \t]*$", re.M)
_ITEM = re.compile(r"^[ \t]+\*[ \t]+<?([^\s<>]+@[^\s<>]+?)>?[ \t]*$")
_SMTP_DETAIL = re.compile(r"^SMTP:(\w+)\s+(?:host\s+([^\s:]+):\s*)?(.*)$")
_ROUTING_DETAIL = re.compile(r"^Routing:\s*(.*)$")
_COMMANDS = frozenset({"CONN", "HELO", "EHLO", "STARTTLS", "MAIL", "RCPT", "DATA"})


def match(mail: Mail) -> bool:
    # Case matters: Google's "Delivery Status Notification (Failure)" is another format.
    if not mail.subject.startswith("Delivery status notification"):
        return False
    return _BANNER.search(mail.body[:1000]) is not None


def inquire(mail: Mail) -> list[Fact]:
    body = mail.body
    outcome = _OUTCOME.search(body)
    if outcome is None:
        return []
    words = outcome.group(1).lower()
    action = "delayed" if ("delayed" in words or "temporar" in words) else "failed"
    facts: list[Fact] = []
    details: list[str] = []
    in_details = False
    for raw in body[outcome.end():].split("\n"):
        item = _ITEM.match(raw)
        if item and not in_details:
            facts.append(Fact(recipient=item.group(1), action=action,
                              date=mail.header("Date")))
        elif raw.strip().lower().startswith("technical details"):
            in_details = True
        elif in_details and raw.strip() and not raw.strip().startswith("==="):
            details.append(raw.strip())
    if not facts:
        return []
    for line in details:
        _apply_detail(line, facts)
    _, stated = dsn.facts(mail.dsn) if mail.dsn else ({}, [])
    by_rcpt = {f.recipient.lower(): f for f in stated}
    for fact in facts:
        block = by_rcpt.get(fact.recipient.lower())
        if block is not None:
            fact.action = block.action or fact.action
            fact.diagnosis = fact.diagnosis or block.diagnosis
            fact.remote_mta = fact.remote_mta or block.remote_mta
            fact.reporting_mta = block.reporting_mta
            if not has_coded_reply(fact.diagnosis):
                fact.status = block.status
        if not fact.diagnosis:
            # No reply was reported: the outcome sentence ("Delivery to the following
            # recipients failed permanently") is all the MTA says - context, not a diagnosis.
            fact.context = outcome.group(0).strip()
    return facts


def _apply_detail(line: str, facts: list[Fact]) -> None:
    """Give a "Technical details" line to the address it names, else to all that lack one."""
    smtp = _SMTP_DETAIL.match(line)
    routing = _ROUTING_DETAIL.match(line)
    if smtp is None and routing is None:
        return
    low = line.lower()
    named = [f for f in facts if f.recipient.lower() in low]
    for fact in named or [f for f in facts if not f.diagnosis]:
        if smtp is not None:
            command = smtp.group(1).upper()
            fact.command = command if command in _COMMANDS else ""
            fact.remote_mta = smtp.group(2) or ""
            fact.diagnosis = smtp.group(3).strip()
        elif routing is not None:
            fact.diagnosis = routing.group(1).strip()
