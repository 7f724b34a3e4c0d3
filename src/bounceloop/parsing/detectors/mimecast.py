"""Mimecast's own delivery failure notices (its gateway could not deliver outbound mail).

Mimecast writes plain text, each item on a line starting "-- " (its Message-IDs end in
``.mimecast.lan``)::

    Subject: [Postmaster] Email Delivery Failure

    An email that you attempted to send to the following address could not be delivered:
    -- jane@example.org

    The problem appears to be :
    -- Recipient email address is possibly incorrect

    Additional information follows :
    -- 5.4.1 Recipient address rejected: Access denied

A "-- " line that is only an address opens a recipient; under "Additional information" the
lines are the remote server's reply (the diagnosis); under "The problem appears to be" they
are Mimecast's own summary (context). Mimecast says the address is "possibly incorrect" only
when the remote refused it at RCPT TO, which names the command.
"""

from __future__ import annotations

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import ADDRESS
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "mimecast"

_ITEM = rx.compile(r"^--\s+(.*?\S|[^\S\n])\s*$")


def match(mail: Mail) -> bool:
    if mail.header("Message-ID").rstrip().endswith(".mimecast.lan>"):
        return True
    return "email delivery failure" in mail.subject.lower() and "\n-- " in mail.body[:3000]


def inquire(mail: Mail) -> list[Fact]:
    facts: list[Fact] = []
    section = ""
    details: list[str] = []
    summary: list[str] = []
    for raw in mail.body.split("\n"):
        line = raw.strip()
        low = line.lower()
        if low.startswith("the problem appears to be"):
            section = "problem"
            continue
        if low.startswith("additional information"):
            section = "details"
            continue
        item = _ITEM.match(line)
        if item is None:
            continue
        text = item.group(1)
        if ADDRESS.fullmatch(text.strip("<>")):
            facts.append(Fact(recipient=text.strip("<>"), action="failed",
                              date=mail.header("Date")))
        elif section == "details":
            details.append(text)
        elif section == "problem":
            summary.append(text)
    if not facts:
        return []
    _, stated = dsn.facts(mail.dsn) if mail.dsn else ({}, [])
    by_rcpt = {f.recipient.lower(): f for f in stated}
    # The same text for every recipient: joined and read once.
    diagnosis, context = " ".join(details), " ".join(summary)
    incorrect = "address is possibly incorrect" in context.lower()
    for fact in facts:
        fact.diagnosis, fact.context = diagnosis, context
        if incorrect:
            fact.command = "RCPT"
        report = by_rcpt.get(fact.recipient.lower())
        if report is not None:
            fact.status = report.status
            fact.remote_mta = report.remote_mta
            fact.reporting_mta = report.reporting_mta
            fact.diagnosis = fact.diagnosis or report.diagnosis
    return facts
