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
from dataclasses import dataclass

from bounceloop.core import rx
from bounceloop.core.status import has_coded_reply
from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import named_addresses
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail
from bounceloop.parsing.once import Once

NAME = "autodsn"

_BANNER = rx.compile(r"^[ \t]+This is an automatically generated Delivery Status Notification",
                     re.M)
# The outcome line, "^De(?:li|le)very to the following recipients? (.+?):?[ \t]*$" (re.M):
# the words are cut from the rest of the line by _words(), as that lazy group retried
# ":?[ \t]*$" at each character of a long run of spaces (quadratic).
_OUTCOME = rx.compile(r"^De(?:li|le)very to the following recipients? (.*)$", re.M)
_ITEM = rx.compile(r"^[ \t]+\*[ \t]+<?([^\s<>][^\s<>@]*@[^\s<>]+)>?[ \t]*$")
_SMTP_DETAIL = rx.compile(r"^SMTP:(\w+)\s+(?:host\s+([^\s:]+):\s*)?(.*)$")
_ROUTING_DETAIL = rx.compile(r"^Routing:\s*(.*)$")
_COMMANDS = frozenset({"CONN", "HELO", "EHLO", "STARTTLS", "MAIL", "RCPT", "DATA"})


def match(mail: Mail) -> bool:
    # Case matters: Google's "Delivery Status Notification (Failure)" is another format.
    if not mail.subject.startswith("Delivery status notification"):
        return False
    return _BANNER.search(mail.body[:1000]) is not None


def inquire(mail: Mail) -> list[Fact]:
    body = mail.body
    outcome = next((m for m in _OUTCOME.finditer(body) if m.group(1)), None)
    if outcome is None:
        return []
    words = _words(outcome.group(1)).lower()
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
    _apply_details(details, facts)
    _, stated = dsn.facts(mail.dsn) if mail.dsn else ({}, [])
    by_rcpt = {f.recipient.lower(): f for f in stated}
    sentence = outcome.group(0).strip()
    coded = Once(has_coded_reply)
    for fact in facts:
        block = by_rcpt.get(fact.recipient.lower())
        if block is not None:
            fact.action = block.action or fact.action
            fact.diagnosis = fact.diagnosis or block.diagnosis
            fact.remote_mta = fact.remote_mta or block.remote_mta
            fact.reporting_mta = block.reporting_mta
            if not coded(fact.diagnosis):
                fact.status = block.status
        if not fact.diagnosis:
            # No reply was reported: the outcome sentence ("Delivery to the following
            # recipients failed permanently") is all the MTA says - context, not a diagnosis.
            fact.context = sentence
    return facts


def _words(rest: str) -> str:
    """The outcome's words: ``rest`` (non-empty) without a final colon and blanks."""
    end = len(rest.rstrip(" \t"))
    if end >= 2 and rest[end - 1] == ":":
        return rest[:end - 1]
    return rest[:max(end, 1)]


@dataclass(slots=True)
class _Said:
    """What the details say about the recipients of one address (command, host, reply)."""

    command: str = ""
    remote_mta: str = ""
    diagnosis: str = ""
    since: int = -1
    """The detail line after which it has had no diagnosis (while it has none)."""


def _apply_details(details: list[str], facts: list[Fact]) -> None:
    """Give each "Technical details" line to the addresses it names, else to all that still
    lack a diagnosis.

    The recipients of one address fare alike, so each address is followed once. A line that
    names no address is not given to each waiting one when it leaves them waiting (its
    reply is empty): the last such line is kept and given to each as it stops waiting.
    """
    said: dict[str, _Said] = {}
    for fact in facts:
        said.setdefault(fact.recipient.lower(), _Said())
    waiting = dict.fromkeys(said)
    pending: tuple[int, str, str] = (-1, "", "")  # an empty SMTP line for all waiting

    def settle(state: _Said) -> None:
        # Give a waiting address the empty SMTP line it missed, if any came since it waits.
        if pending[0] > state.since:
            state.command, state.remote_mta = pending[1], pending[2]

    for n, line in enumerate(details):
        smtp = _SMTP_DETAIL.match(line)
        routing = _ROUTING_DETAIL.match(line)
        if smtp is None and routing is None:
            continue
        named = [a for a in named_addresses(line) if a in said]
        if smtp is not None:
            command = smtp.group(1).upper()
            command = command if command in _COMMANDS else ""
            host, diagnosis = smtp.group(2) or "", smtp.group(3).strip()
        else:
            diagnosis = routing.group(1).strip() if routing is not None else ""
        if not named and not diagnosis:
            if smtp is not None:
                pending = (n, command, host)
            continue
        for key in named or list(waiting):
            state = said[key]
            if key in waiting:
                settle(state)
                del waiting[key]
            if smtp is not None:
                state.command, state.remote_mta = command, host
            state.diagnosis = diagnosis
            if not diagnosis:
                state.since = n
                waiting[key] = None
    for key in waiting:
        settle(said[key])
    for fact in facts:
        state = said[fact.recipient.lower()]
        fact.command, fact.remote_mta, fact.diagnosis = (
            state.command, state.remote_mta, state.diagnosis)
