"""Barracuda Spam Firewall / Email Security Gateway rejection reports.

Barracuda bounces what its filters blocked with a short notice and an RFC 3464 part::

    Subject: **Message you sent blocked by our bulk email filter**

    Your message to: jane@example.org
    was blocked by our Spam Firewall. The email you sent with the following subject has
    NOT BEEN DELIVERED: ...

    Diagnostic-Code: smtp; 550 5.7.1 Message content rejected, UBE, id=12345-02-7

The notice says which filter stopped the message; it is kept as context for the classifier
("blocked by our Spam Firewall" when the reply itself is terse).
"""

from __future__ import annotations

from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import facts_or_original
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail
from bounceloop.parsing.text import squeeze

NAME = "barracuda"


def match(mail: Mail) -> bool:
    if mail.subject.startswith("**Message you sent blocked by"):
        return True
    if any(k.lower().startswith("x-barracuda") for k, _ in mail.headers):
        return bool(mail.dsn)
    return False


def inquire(mail: Mail) -> list[Fact]:
    _, facts = dsn.facts(mail.dsn) if mail.dsn else ({}, [])
    facts = [f for f in facts if f.recipient or f.diagnosis]
    notice = squeeze(mail.body)[:1000]
    for fact in facts:
        fact.context = notice
    return facts_or_original(mail, facts)
