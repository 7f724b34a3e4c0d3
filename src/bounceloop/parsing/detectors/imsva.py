"""Trend Micro InterScan Messaging Security (IMSVA/IMSS) notices wrapping a bounce.

Sisimai's "Unknown MTA #5" (lhost-x5). The gateway (its MIME boundary "TMMSG_...", its
"X-TM-AS-*" anti-spam headers) does not pass a bounce on as it is but sends a notification
"From: Mail Delivery Subsystem", "To: NotificationRecipients", with a Sendmail-like greeting
whose address list is empty, and attaches the real bounce as message/rfc822::

    The original message was received at Mon Jun  1 10:00:00 2020

    ----- The following addresses had permanent delivery errors -----

    [message/rfc822: the MTA's own bounce, e.g. Sendmail's multipart/report with its
     message/delivery-status part and the returned message]

So the facts are those of the attached bounce's delivery-status part, and the message we
sent is the one returned inside it.

Needs ``Mail.original`` to hold the attached message with its body (see the report: the
MIME reader keeps only the headers of an attached multipart message).
"""

from __future__ import annotations

from bounceloop.parsing import dsn
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail, read

NAME = "imsva"


def match(mail: Mail) -> bool:
    if "message/rfc822" not in mail.parts:
        return False
    ctype = " ".join(mail.headers_all("Content-Type"))
    trend = "TMMSG_" in ctype or any(k.lower().startswith("x-tm-as-") for k, _ in mail.headers)
    if not trend:
        return False
    # The attachment must itself be a bounce, not a quarantined or forwarded message.
    inner_type = mail.original_header("Content-Type").lower()
    inner_from = mail.original_header("From").lower()
    return "delivery-status" in inner_type or "mailer-daemon" in inner_from


def inquire(mail: Mail) -> list[Fact]:
    if not mail.original:
        return []
    inner = read(mail.original.encode("utf-8", "replace"))
    if not inner.dsn:
        return []
    _, facts = dsn.facts(inner.dsn)
    facts = [f for f in facts if f.recipient]
    if not facts:
        return []
    for fact in facts:
        fact.action = fact.action or "failed"
        fact.date = fact.date or inner.header("Date")
    # Tie the records to the message we sent: the one the inner bounce returned.
    if inner.original:
        mail.original = inner.original
        mail.original_headers = inner.original_headers
        mail.original_raw = inner.original_raw
    return facts
