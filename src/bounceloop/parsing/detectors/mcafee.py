"""McAfee Email Gateway (Email and Web Security appliance) delivery reports.

The appliance marks its mail with ``X-NAI-Header: Modified by McAfee ...`` and sends a
"Delivery Status" message: a text part (``deliveryproblems.txt``) listing each address with
the reason in parentheses, an RFC 3464 part whose recipient field is Original-Recipient, and
the returned message::

    <jane@example.org>   (5.1.1 <jane@example.org>... User unknown)

The report part carries the remote's reply; the text part is used when it does not.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import facts_or_original
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "mcafee"

_LINE = rx.compile(r"^<([^<>\s][^<>\s@]*@[^<>\s]+)>\s+\((.+)\)\s*$", re.M)


def match(mail: Mail) -> bool:
    return "mcafee" in mail.header("X-NAI-Header").lower()


def inquire(mail: Mail) -> list[Fact]:
    _, facts = dsn.facts(mail.dsn) if mail.dsn else ({}, [])
    listed = {m.group(1).lower(): m.group(2).strip() for m in _LINE.finditer(mail.body)}
    if not facts:
        facts = [Fact(recipient=addr, action="failed") for addr in listed]
    for fact in facts:
        if not fact.diagnosis:
            fact.diagnosis = listed.get(fact.recipient.lower(), "")
        fact.date = fact.date or mail.header("Date")
    return facts_or_original(mail, [f for f in facts if f.recipient or f.diagnosis])
