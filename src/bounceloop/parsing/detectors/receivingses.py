"""Amazon SES inbound ("receiving") bounces: a receipt rule's Bounce action.

A domain that receives mail with SES can answer a message with a bounce of the owner's
choosing (receipt rule action "Bounce": an SMTP reply code, enhanced status and message).
SES sends it from its outbound servers (``X-SES-Outgoing``) with the From address the rule
names, a one-line notice and an RFC 3464 report whose ``Reporting-MTA`` is the inbound
endpoint ``inbound-smtp.<region>.amazonaws.com``::

    This message could not be delivered.

    Reporting-MTA: dns; inbound-smtp.us-east-1.amazonaws.com

    Action: failed
    Final-Recipient: rfc822; jane@example.org
    Diagnostic-Code: smtp; 550 5.1.1 Mailbox does not exist
    Status: 5.1.1

The returned headers are in a ``text/rfc822-headers`` part.
"""

from __future__ import annotations

from bounceloop.parsing.detectors._providers import report_facts, tidy_hosts
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "receivingses"

_INBOUND = "inbound-smtp."


def match(mail: Mail) -> bool:
    return mail.has("X-SES-Outgoing") and _INBOUND in mail.dsn[:2000].lower()


def inquire(mail: Mail) -> list[Fact]:
    facts = report_facts(mail)
    if not any(f.reporting_mta.lower().startswith(_INBOUND) for f in facts):
        return []
    tidy_hosts(facts)
    for fact in facts:
        fact.date = fact.date or mail.header("Date")
    return facts
