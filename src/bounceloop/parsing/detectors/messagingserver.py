"""Sun Java System / Oracle Communications Messaging Server (formerly iPlanet, Netscape).

The report (also sent by Apple's iCloud, which ran it) is ``multipart/report``, its MIME
boundaries spelled "Boundary_(ID_...)". The text part repeats the original's headers and
then, per recipient, labelled lines::

    This report relates to a message you sent with the following header fields:

      Message-id: <0123@example.net>
      To: jane@example.org

    Your message cannot be delivered to the following recipients:

      Recipient address: jane@example.org
      Original address: jane.doe@example.org          (when it was rewritten)
      Reason: Remote SMTP server has rejected address
      Diagnostic code: smtp;550 5.1.1 <jane@example.org>... User unknown
      Remote system: dns;mx.example.org (TCP|192.0.2.1|41234|192.0.2.25|25) (mx ESMTP)

Messaging Server's "Reason" names what failed in its own words; "Diagnostic code" (also the
RFC 3464 Diagnostic-Code) is the remote reply, present only when a server answered. When
there is none (a bad domain, "Illegal host/domain name found"; a full local store, "Over
quota") the Reason is the diagnosis. "Server rejected MAIL FROM address" says the reply
answered MAIL FROM; "Remote SMTP server has rejected address" names no command, so none is
set for it. Delays read "Your message has been delayed ..." and have the same recipient lines.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "messagingserver"

_PRODUCTS = ("Messaging Server", "Messaging Multiplexor")
_LABEL = rx.compile(
    r"^\s+(recipient address|original address|reason|diagnostic code|remote system)"
    r":\s*((?:.*?\S)??)\s*$",
    re.I,
)
_COMMANDS = (("server rejected mail from address", "MAIL"),)


def match(mail: Mail) -> bool:
    if "Boundary_(ID_" in mail.header("Content-Type"):
        return True
    if any(p in r for r in mail.headers_all("Received") for p in _PRODUCTS):
        return True
    return "this report relates to a message you sent" in mail.body[:600].lower()


def inquire(mail: Mail) -> list[Fact]:
    text_facts = _text_facts(mail.body)
    _, stated = dsn.facts(mail.dsn) if mail.dsn else ({}, [])
    stated = [f for f in stated if f.recipient]
    if not stated and not text_facts:
        return []
    facts = stated or text_facts
    by_rcpt = {f.recipient.lower(): f for f in text_facts}
    low_head = mail.body[:3000].lower()
    for i, fact in enumerate(facts):
        text = by_rcpt.get(fact.recipient.lower())
        if text is None and len(text_facts) == len(facts):
            text = text_facts[i]
        if text is not None and text is not fact:
            fact.diagnosis = fact.diagnosis or text.diagnosis
            fact.command = fact.command or text.command
            fact.remote_mta = fact.remote_mta or text.remote_mta
        if not fact.action:
            fact.action = "delayed" if "has been delayed" in low_head else "failed"
        fact.date = fact.date or mail.header("Date")
    return facts


def _text_facts(body: str) -> list[Fact]:
    facts: list[Fact] = []
    current: Fact | None = None
    reason = ""
    for line in body.split("\n"):
        m = _LABEL.match(line)
        if m is None:
            continue
        label, value = m.group(1).lower(), m.group(2)
        if label == "recipient address":
            current = Fact(recipient=value.strip("<>"))
            facts.append(current)
            reason = ""
            continue
        if current is None:
            continue
        if label == "reason":
            reason = value
            low = value.lower()
            current.command = next((c for words, c in _COMMANDS if words in low), "")
            current.diagnosis = current.diagnosis or value
        elif label == "diagnostic code":
            # The remote reply replaces the Reason, which only said who refused.
            current.diagnosis = dsn.typed_value(value)[1] or reason
        elif label == "remote system":
            current.remote_mta = dsn.host(value)
        elif label == "original address" and "@" in value:
            current.original_recipient = value.strip("<>")
    return facts
