"""PowerMTA (Port25 / Bird) delivery reports.

PowerMTA writes a standard RFC 3464 report and adds its own per-recipient classification as
an extension field, plus the virtual MTA that sent the message::

    Reporting-MTA: dns;mta3.example.net
    X-PowerMTA-VirtualMTA: pool-a

    Final-Recipient: rfc822;jane@example.org
    Action: failed
    Status: 5.1.1
    Diagnostic-Code: smtp;550 5.1.1 <jane@example.org>... User Unknown
    X-PowerMTA-BounceCategory: bad-mailbox

The category is PowerMTA's own pattern-based verdict (its documented bounce categories). It
is kept as a hint: our classifier reads the reply itself and uses the category only when the
reply says nothing it recognises.
"""

from __future__ import annotations

from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import facts_or_original
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "powermta"

#: PowerMTA bounce categories -> reasons.
CATEGORIES = {
    "bad-mailbox": "userunknown",
    "bad-domain": "hostunknown",
    "inactive-mailbox": "suspend",
    "quota-issues": "mailboxfull",
    "message-expired": "expired",
    "no-answer-from-host": "networkerror",
    "bad-connection": "networkerror",
    "routing-errors": "systemerror",
    "bad-configuration": "systemerror",
    "spam-related": "spamdetected",
    "virus-related": "virusdetected",
    "policy-related": "policyviolation",
    "content-related": "contenterror",
    "invalid-sender": "rejected",
    "relaying-issues": "norelaying",
    "protocol-errors": "syntaxerror",
}


def match(mail: Mail) -> bool:
    return "x-powermta-" in mail.dsn.lower()


def inquire(mail: Mail) -> list[Fact]:
    message, facts = dsn.facts(mail.dsn)
    facts = [f for f in facts if f.recipient or f.status or f.diagnosis]
    if not facts:
        return []
    categories = [v for block in dsn.fields(mail.dsn) for k, v in block
                  if k == "x-powermta-bouncecategory"]
    vmta = message.get("x-powermta-virtualmta", "").strip()
    for i, fact in enumerate(facts):
        if i < len(categories):
            fact.hint = CATEGORIES.get(categories[i].strip().lower(), "")
        fact.reporting_mta = fact.reporting_mta or vmta
    return facts_or_original(mail, facts)
