"""Google Workspace / Gmail failures reported with an empty delivery-status part.

When Gmail cannot even hand the message to an SMTP server - typically a "Send mail as"
address relayed through the user's own SMTP server that refuses the session - it sends its
new-format notice but leaves the ``message/delivery-status`` part empty::

    From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
    Subject: Delivery Status Notification (Failure)

    ** Message not delivered **

    You're sending this from a different address or alias using the 'Send mail as'
    feature. The settings for your 'Send mail as' account are misconfigured or out of date.
    ...
    The response was:

    Unspecified Error (SENT_SECOND_EHLO): Smtp server does not advertise AUTH capability

    [message/delivery-status: empty]
    [message/rfc822: the returned message]

The failure happened before any recipient was given to a server, so the message failed for
every addressee: the To and Cc of the returned message (``X-Failed-Recipients`` when the
message is not returned).
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.command import canonical
from bounceloop.parsing.detectors._common import find_addresses
from bounceloop.parsing.detectors._providers import daemon_from
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "googleworkspace"

_HEADLINE = rx.compile(r"^[^\S\n]*\*\* ([^*\n]+?) \*\*\s*$", re.M)
_RESPONSE = rx.compile(r"^[^\S\n]*the response (?:from the remote server )?was:\s*$",
                       re.I | re.M)
# "Unspecified Error (SENT_SECOND_EHLO)": the step of Gmail's SMTP client that failed.
_STEP = rx.compile(r"\(SENT_(?:SECOND_)?([A-Z]+)\)")


def match(mail: Mail) -> bool:
    return (
        daemon_from(mail, "googlemail.com", "gmail.com", "google.com")
        and "message/delivery-status" in mail.parts
        and not mail.dsn.strip()
    )


def inquire(mail: Mail) -> list[Fact]:
    head = _HEADLINE.search(mail.body[:3000])
    if head is None:
        return []
    text = mail.body[head.end():]
    response = ""
    m = _RESPONSE.search(text)
    if m:
        response = " ".join(text[m.end():].split())
        text = text[:m.start()]
    explanation = " ".join(line.strip() for line in text.split("\n")
                           if line.strip() and not line.strip().lower().startswith("learn more"))
    diagnosis = f"{response} ({explanation})" if response and explanation else (
        response or explanation)
    command = ""
    step = _STEP.search(response)
    if step:
        command = canonical(step.group(1))
    recipients = _addressees(mail)
    # These reports come from Gmail's "Send mail as" relaying through the *sender's* own SMTP
    # server, which refused (authentication, capabilities): a sender-side failure.
    return [Fact(recipient=r, action="failed", diagnosis=diagnosis, command=command,
                 date=mail.header("Date"), reason="rejected") for r in recipients]


def _addressees(mail: Mail) -> list[str]:
    found: list[str] = []
    for name in ("To", "Cc"):
        found += find_addresses(mail.original_header(name))
    if not found:
        found = find_addresses(mail.header("X-Failed-Recipients"))
    seen: set[str] = set()
    out = []
    for addr in found:
        if addr.lower() not in seen:
            seen.add(addr.lower())
            out.append(addr)
    return out
