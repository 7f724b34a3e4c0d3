"""SendGrid bounces (the classic SendGrid MTA, ``Return-Path: <apps@sendgrid.net>``).

SendGrid mails the bounce from ``MAILER-DAEMON@<the customer's domain>``; what marks it is
the envelope sender ``apps@sendgrid.net``, ``X-SendGrid-*`` fields in the report part and the
notice's first line. One colon-separated line per recipient, then an RFC 3464 report::

    This is an automatically generated message from SendGrid.

    I'm sorry to have to tell you that your message was not able to be
    delivered to one of its intended recipients.

    jane:000000:<jane@example.org> : 198.51.100.7 : mx.example.org:[192.0.2.25] : 550 5.1.1
    <jane@example.org>... User unknown  in RCPT TO

    X-SendGrid-QueueID: 959479146
    Arrival-Date: 2012-10-31 04-46-42

    Final-Recipient: rfc822; jane@example.org
    Action: failed
    Status: 5.1.1
    Diagnostic-Code: 550 5.1.1 <jane@example.org>... User unknown

The report gives recipient, status and reply; the line adds the remote host and the command
("in RCPT TO", "in MAIL FROM", "in DATA").
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.command import canonical
from bounceloop.parsing.detectors._providers import host_name, report_facts, tidy_hosts
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "sendgrid"

_INTRO = "generated message from sendgrid"
# "<jane@example.org> : 198.51.100.7 : mx.example.org:[192.0.2.25] : 550 ... in RCPT TO"
_LINE = rx.compile(r"<([^<>\s][^<>\s@]*@[^<>\s]+)>\s*:\s*[^:]*?:\s*([\w.\-]+):\[[^\]]*\]\s*:"
                   r"\s*(.*?)(?:\s+in\s+(RCPT TO|MAIL FROM|DATA|EHLO|HELO))?\s*$", re.I | re.S)


def match(mail: Mail) -> bool:
    if "apps@sendgrid.net" in mail.header("Return-Path").lower():
        return True
    return "x-sendgrid-" in mail.dsn[:2000].lower() or _INTRO in mail.body[:500].lower()


def inquire(mail: Mail) -> list[Fact]:
    facts = report_facts(mail)
    lines = _lines(mail.body)
    for fact in facts:
        remote, reply, command = lines.get(fact.recipient.lower(), ("", "", ""))
        fact.remote_mta = fact.remote_mta or remote
        fact.command = command
        if not fact.diagnosis:
            fact.diagnosis = reply
        fact.date = mail.header("Date")  # Arrival-Date is in SendGrid's own, non-RFC form
    tidy_hosts(facts)
    return facts


def _lines(body: str) -> dict[str, tuple[str, str, str]]:
    """address -> (remote host, reply, command) from the notice's per-recipient lines."""
    out: dict[str, tuple[str, str, str]] = {}
    # A recipient line may be wrapped; paragraphs are separated by blank lines.
    for para in re.split(r"\n\s*\n", body[:20000]):
        m = _LINE.search(" ".join(para.split()))
        if m:
            command = canonical(m.group(4) or "")
            out.setdefault(m.group(1).lower(), (host_name(m.group(2)), m.group(3), command))
    return out
