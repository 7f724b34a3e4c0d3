"""Amazon WorkMail bounces (``X-Mailer: Amazon WorkMail``).

WorkMail sends through Amazon SES (``From: MAILER-DAEMON@<region>.amazonses.com``,
``X-SES-Outgoing``) but writes the RFC 3464 fields into its text part, after
"Technical report:", instead of a ``message/delivery-status`` part::

    Subject: Delivery Status Notification (Failure)

    An error occurred while trying to deliver the mail to the following recipients:
    jane@example.org

    Technical report:

    Reporting-MTA: dsn; a27-85.smtp-out.us-west-2.amazonses.com

    Action: failed
    Final-Recipient: rfc822; jane@example.org
    Diagnostic-Code: smtp; 550 5.1.1 <jane@example.org>... User unknown
    Status: 5.1.1

The diagnostics are SES's, with the remote reply nested the same way (see amazonses).
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._providers import ses_remote_reply, tidy_hosts
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "amazonworkmail"

_REPORT = rx.compile(r"^[^\S\n]*technical report:\s*$", re.I | re.M)


def match(mail: Mail) -> bool:
    mailer = (mail.header("X-Mailer") or mail.header("X-Original-Mailer")).lower()
    return mailer.startswith("amazon workmail")


def inquire(mail: Mail) -> list[Fact]:
    text = mail.dsn
    if not text.strip():
        m = _REPORT.search(mail.body)
        text = mail.body[m.end():] if m else ""
    _, facts = dsn.facts(text)
    facts = [f for f in facts if f.recipient]
    for fact in facts:
        diagnosis, summary, expired = ses_remote_reply(fact.diagnosis)
        fact.context = " ".join(x for x in (fact.context, summary) if x)
        if expired:
            fact.status = ""  # SES's "4.4.7 expired"; the nested remote reply says why
        fact.diagnosis = diagnosis
        fact.date = fact.date or mail.header("Date")
    tidy_hosts(facts)
    return facts
