"""OpenSMTPD (opensmtpd.org) bounces and delay warnings.

smtpd/bounce.c writes a short text, one line per recipient, then the original message::

    Subject: Delivery status notification: error
    From: Mailer Daemon <MAILER-DAEMON@mx.example.net>

        Hi!

        This is the MAILER-DAEMON, please DO NOT REPLY to this email.

        An error has occurred while attempting to deliver a message for
        the following list of recipients:

    jane@example.org: 550 5.1.1 <jane@example.org>: Recipient address rejected

        Below is a copy of the original message:

The recipient line is "address: error" with no brackets; the error is the server's reply or
the daemon's own words ("Domain does not exist", "Network error on destination MXs",
"Envelope expired"). A warning says "A message is delayed for more than 4 hours for the
following list of recipients:"; success notices "Your message was successfully delivered to
these recipients." / "Your message was relayed to these recipients.". OpenSMTPD 6.x adds a
``message/delivery-status`` part (with "Action: error" and a bare Status) and attaches the
original headers as ``text/rfc822-headers``; older versions quote the message inline.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import ADDRESS, attach_original, cut
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "opensmtpd"

_INTRO = "this is the mailer-daemon, please do not reply to this e"
_ORIGINAL_MARKERS = ("below is a copy of the original message",)
_LINE = rx.compile(rf"^(?P<addr>{ADDRESS.pattern}):\s+(?P<text>\S.*)$", re.A)
# The paragraph that starts the list says what kind of notice this is.
_KINDS = (
    ("an error has occurred", "failed"),
    ("a message is delayed", "delayed"),
    ("successfully delivered", "delivered"),
    ("was relayed to", "relayed"),
)


def match(mail: Mail) -> bool:
    if not mail.subject.lower().startswith("delivery status notification"):
        return False
    return _INTRO in mail.body[:1000].lower()


def inquire(mail: Mail) -> list[Fact]:
    notice, original = cut(mail.body, _ORIGINAL_MARKERS)
    attach_original(mail, original)
    low = notice.lower()
    action = next((a for phrase, a in _KINDS if phrase in low), "failed")
    listed: list[tuple[str, str]] = []
    for line in notice.split("\n"):
        m = _LINE.match(line.strip()) if not line[:1].isspace() else None
        if m:
            listed.append((m.group("addr"), m.group("text").strip()))
    _, stated = dsn.facts(mail.dsn) if mail.dsn else ({}, [])
    by_rcpt = {f.recipient.lower(): f for f in stated if f.recipient}
    facts: list[Fact] = []
    for i, (addr, text) in enumerate(listed):
        fact = by_rcpt.get(addr.lower())
        if fact is None and len(stated) == len(listed):
            fact = stated[i]
        if fact is None:
            fact = Fact(recipient=addr)
        fact.recipient = addr
        # The DSN part has no Diagnostic-Code: the text line is the only explanation.
        fact.diagnosis = text
        fact.action = fact.action or action
        fact.date = fact.date or mail.header("Date")
        facts.append(fact)
    return facts
