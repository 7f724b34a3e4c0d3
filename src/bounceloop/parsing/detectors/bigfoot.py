"""Bigfoot (bigfoot.com forwarding service) bounces from ``MAILER-DAEMON@bigfoot.com``.

Bigfoot's LiteMail relays (``Received: by LITEMAIL00.bigfoot.com (LiteMail v3.03)``) write
a Sendmail-like notice with an SMTP transcript, an RFC 3464 report, and the returned message
as ``message/partial``::

    Subject: Returned mail: Requested action not taken: mailbox name not allowed

       ----- The following addresses had permanent fatal errors -----
    <jane@example.org>

       ----- Transcript of session follows -----
    >>> RCPT TO:<jane@example.org>
    <<< 553 Invalid recipient jane@example.org (Mode: normal)

The report gives recipient, status and reply; the transcript adds the command: the
">>> RCPT TO:<address>" naming the recipient, else the session's last command (a refused
MAIL FROM or DATA fails every recipient).
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.command import canonical
from bounceloop.parsing.detectors._providers import report_facts, tidy_hosts
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail
from bounceloop.parsing.once import Once

NAME = "bigfoot"

_SENT = rx.compile(r"^[^\S\n]*>>>\s*(RCPT TO|MAIL FROM|DATA|EHLO|HELO)\b", re.I | re.M)


def match(mail: Mail) -> bool:
    if mail.from_address.endswith("@bigfoot.com"):
        return True
    return any("bigfoot.com (litemail" in r.lower() for r in mail.headers_all("Received")[:3])


def inquire(mail: Mail) -> list[Fact]:
    facts = report_facts(mail)
    transcript = mail.body[:20000]
    sent = _SENT.findall(transcript)
    last = canonical(sent[-1]) if sent else ""
    def sent_to(recipient: str) -> bool:
        return re.search(r">>>\s*RCPT TO:\s*<?" + re.escape(recipient) + r"\b", transcript,
                         re.I) is not None

    # Each search reads up to 20,000 characters: once per distinct recipient, not per fact.
    named = Once(sent_to)
    for fact in facts:
        fact.command = fact.command or ("RCPT" if named(fact.recipient) else last)
        fact.date = fact.date or mail.header("Date")
    tidy_hosts(facts)
    return facts
