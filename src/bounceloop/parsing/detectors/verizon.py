"""Verizon Wireless: refusals of its MMS (vzwpix.com) and SMS (vtext.com) gateways.

MMS, from ``sysadmin@*.vzwpix.com``, plain text quoting the original's headers::

    Subject: Undeliverable Message

    Message could not be delivered to mobile.
    Error: No valid recipients for this MM

    Original Message:
    From: John <john@example.net>
    To: 5555550100@vzwpix.com
    Subject: hello

SMS, from ``post_master@vtext.com``: "Error:" with the reason, then "Message details:" with
indented "MAIL FROM:" / "RCPT TO:" lines and the gateway's reply ("550 - Requested action not
taken: no such user here").
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.detectors._common import attach_original, first_address
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail
from bounceloop.parsing.once import Once

NAME = "verizon"

_ORIGINAL = rx.compile(r"^[^\S\n]*original message:\s*$", re.I | re.M)
_TO = rx.compile(r"^[^\S\n]*to:\s*(.+)$", re.I | re.M)
_RCPT_TO = rx.compile(r"^[^\S\n]*rcpt to:\s*(.+)$", re.I | re.M)
_ERROR = rx.compile(r"^[^\S\n]*error:\s*(.*?\S|[^\S\n])\s*$", re.I | re.M)
_REPLY = rx.compile(r"^[^\S\n]*([245]\d\d\s+-\s+(?:.*?\S|[^\S\n]))\s*$", re.M)
# The gateways' fixed wording for a number that is not a Verizon subscriber. The gateway
# looked the number up itself; there is no SMTP command to give the words their context.
_NO_SUCH_NUMBER = ("no valid recipients for this mm", "no such user here",
                   "recipient address does not exist")


def match(mail: Mail) -> bool:
    sender = mail.from_address
    return sender.endswith("vzwpix.com") or sender == "post_master@vtext.com"


def inquire(mail: Mail) -> list[Fact]:
    body = mail.body
    error = _ERROR.search(body)
    facts: list[Fact] = []
    original = _ORIGINAL.search(body)
    if original is not None:
        # MMS: the recipient is the To of the quoted original; the lines above say why.
        quoted = body[original.end():]
        attach_original(mail, quoted)
        to = _TO.search(quoted)
        rcpt = first_address(to.group(1)) if to else ""
        notice = " ".join(ln.strip() for ln in body[:original.start()].split("\n") if ln.strip())
        if rcpt:
            facts.append(Fact(recipient=rcpt, diagnosis=notice))
    else:
        # SMS: the RCPT TO of the message details; the gateway's reply, else the Error line.
        reply = _REPLY.search(body)
        diagnosis = reply.group(1) if reply else (error.group(1) if error else "")
        for m in _RCPT_TO.finditer(body):
            rcpt = first_address(m.group(1))
            if rcpt:
                facts.append(Fact(recipient=rcpt, diagnosis=diagnosis))
    no_such_number = Once(_no_such_number)  # one diagnosis for every recipient: read once
    for fact in facts:
        if no_such_number(fact.diagnosis):
            fact.reason = "userunknown"
        fact.action = "failed"
        fact.date = mail.header("Date")
    return facts


def _no_such_number(diagnosis: str) -> bool:
    low = diagnosis.lower()
    return any(w in low for w in _NO_SUCH_NUMBER)
