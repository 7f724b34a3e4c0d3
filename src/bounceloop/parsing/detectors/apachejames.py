"""Apache James (james.apache.org) bounces from its Bounce/NotifySender mailets.

AbstractNotify.getMessage() writes the notice, the error and a summary of the message::

    Subject: Re:Weekly report          (the original Subject after a prefix; or "[BOUNCE]")
    Message-ID: <1234.5678.JavaMail.james@mx.example.net>

    Hi. This is the James mail server at mx.example.net.
    I'm afraid I wasn't able to deliver your message to the following addresses.
    ...
    Error message below:
    550 5.1.1 <jane@example.org>... User unknown

    Message details:
      Subject: Weekly report
      Sent date: Mon Jun 02 10:00:00 JST 2025
      MAIL FROM: joe@example.net
      RCPT TO: jane@example.org
               bob@example.org
      From: Joe <joe@example.net>
      To: jane@example.org
      Size (in bytes): 1024
      Number of lines: 20

The recipients are the "RCPT TO:" line and the indented lines under it; the error text is
the same for all of them (James keeps one error per mail). The notice text above the error is
configurable and is not read.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.detectors._common import find_addresses
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "apachejames"

_ERROR = "error message below:"
_DETAILS = "message details:"
_RCPT = rx.compile(r"^\s{2}RCPT TO:\s*(.*)$", re.I)
_DETAIL_FIELD = rx.compile(r"^\s{2}[A-Za-z][\w ()-]*:")


def match(mail: Mail) -> bool:
    head = mail.body[:3000].lower()
    if _ERROR not in head or _DETAILS not in head:
        return False
    return (".javamail." in mail.header("Message-ID").lower()
            or mail.subject.strip() == "[BOUNCE]"
            or any("james smtp server" in r.lower() for r in mail.headers_all("Received"))
            or "this is the james mail server" in head)


def inquire(mail: Mail) -> list[Fact]:
    body = mail.body
    low = body.lower()
    start = low.find(_ERROR)
    details = low.find(_DETAILS, start + 1)
    if start < 0 or details < 0:
        return []
    error = " ".join(body[body.find("\n", start) + 1:details].split())
    recipients: list[str] = []
    in_rcpt = False
    for line in body[details:].split("\n")[1:]:
        m = _RCPT.match(line)
        if m:
            in_rcpt = True
            recipients += find_addresses(m.group(1))
            continue
        if in_rcpt and line.startswith("   ") and not _DETAIL_FIELD.match(line):
            # Further recipients are indented under the first one.
            recipients += find_addresses(line)
            continue
        in_rcpt = False
    date = mail.header("Date")
    return [Fact(recipient=r, action="failed", diagnosis=error, date=date) for r in recipients]
