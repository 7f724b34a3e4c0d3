"""McAfee MXLogic (hosted email filtering, mxlogic.net) bounces.

MXLogic's MTA ("mxl_mta", Exim-derived) writes Exim's greeting but its own address list:
each failed address indented, in angle brackets, with the remote reply on the same line
(continuing on following lines), then the returned headers::

    This message was created automatically by mail delivery software.

    A message that you have sent could not be delivered to one or more
    recipients.  This is a permanent error.  The following address failed:

      <jane@example.net>: 550 5.1.1 <jane@example.net>: Recipient address rejected

    Included is a copy of the message header:
    -----------------------------------------

It is known by its Message-Id ("<mxl~...>"), its X-MX-Bounce / X-MXL-NoteHash headers or a
Received "by ... (mxl_mta-6.5.0-4)".
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.command import canonical
from bounceloop.parsing.detectors._common import attach_original, cut
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "mxlogic"

_RECIPIENT = rx.compile(r"^[ \t]+<([^<>\s][^<>\s@]*@[^<>\s]+)>:\s*(.*)$")
_LIST_START = rx.compile(r"following address(?:es)? (?:failed|has not yet been delivered"
                         r"|have not yet been delivered)", re.I)
_AFTER = rx.compile(r"after (RCPT TO|MAIL FROM|end of data|DATA|initial connection|EHLO|HELO)",
                    re.I)
_MARKERS = ("included is a copy of the message", "------ this is a copy of the message")


def match(mail: Mail) -> bool:
    if mail.has("X-MX-Bounce") or mail.has("X-MXL-NoteHash"):
        return True
    if mail.header("Message-Id").strip().startswith("<mxl~"):
        return True
    return mail.from_address.endswith(".mxlogic.net") and mail.from_address.startswith(
        "mailer-daemon@")


def inquire(mail: Mail) -> list[Fact]:
    notice, original = cut(mail.body, _MARKERS)
    start = _LIST_START.search(notice)
    if start is None:
        return []
    attach_original(mail, original)
    delayed = "not yet been delivered" in start.group(0).lower()
    facts: list[Fact] = []
    lines: list[str] = []
    current: Fact | None = None

    def close() -> None:
        if current is not None:
            current.diagnosis = " ".join(lines)

    for raw in notice[start.end():].split("\n"):
        m = _RECIPIENT.match(raw)
        if m:
            close()
            current = Fact(recipient=m.group(1), action="delayed" if delayed else "failed",
                           date=mail.header("Date"))
            facts.append(current)
            lines = [m.group(2)] if m.group(2) else []
        elif current is not None and raw.strip():
            lines.append(raw.strip())
    close()
    for fact in facts:
        after = _AFTER.search(fact.diagnosis)
        if after:
            fact.command = canonical(after.group(1))
    return facts
