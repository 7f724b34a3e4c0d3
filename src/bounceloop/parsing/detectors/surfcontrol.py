"""SurfControl E-mail Filter (later Websense) delivery failure reports.

Marked ``X-Mailer: SurfControl E-mail Filter``; the text part is a transcript of the delivery
attempts, one line per failed address with the remote's reply, next to an RFC 3464 part::

    Your message could not be sent.
    A transcript of the attempts to send the message follows.
    ...
    Failed to send to identified host,
    jane@example.org: [192.0.2.5], 550 jane@example.org... No such user
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import facts_or_original
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "surfcontrol"

_ATTEMPT = rx.compile(r"^([^\s:][^\s:@]*@[^\s:]+): \[([^\]]+)\],\s*(.+)$", re.M)


def match(mail: Mail) -> bool:
    return mail.header("X-Mailer").startswith("SurfControl")


def inquire(mail: Mail) -> list[Fact]:
    _, facts = dsn.facts(mail.dsn) if mail.dsn else ({}, [])
    attempts = {m.group(1).lower(): m for m in _ATTEMPT.finditer(mail.body)}
    if not facts:
        facts = [Fact(recipient=m.group(1), action="failed") for m in attempts.values()]
    for fact in facts:
        seen = attempts.get(fact.recipient.lower())
        if seen is not None:
            fact.remote_mta = fact.remote_mta or seen.group(2)
            fact.diagnosis = fact.diagnosis or seen.group(3).strip()
        fact.date = fact.date or mail.header("Date")
    return facts_or_original(mail, [f for f in facts if f.recipient])
