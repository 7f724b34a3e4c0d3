"""nullmailer (untroubled.org/nullmailer) bounces.

nullmailer-send relays every message to its configured remotes and returns one only when it
gives it up (src/send.cc, send_all(): on a permanent failure, or on a temporary one once the
message is older than ``queuelifetime``; bounce_msg() moves it to the failed queue and runs
nullmailer-dsn). nullmailer-dsn (src/dsn.cc) writes an RFC 3464 report, but takes its
wording from the status alone: for a 4.x.x status it writes ``Action: delayed`` and "A final
delivery status notification will be generated if delivery proves to be impossible within
the configured time limit", although none will be: the message is already given up::

    From: Message Delivery Subsystem <MAILER-DAEMON@host.example>
    Subject: Returned mail: Could not send message

    This is the nullmailer delivery system.  The message attached below
    has not been delivered to one or more of the intended recipients:

    Final-Recipient: rfc822; jane@example.org
    Action: delayed
    Status: 4.2.0
    Diagnostic-Code: SMTP; 450 4.2.0 <jane@example.org>: Recipient address rejected: ...

So every recipient of its report failed: a 4.x.x one after retrying until its lifetime ran
out (an expiry). Its Status keeps one digit per part (parse_output(): 5.7.25 is written
5.7.2), and a multiline reply goes into Diagnostic-Code unfolded (dsn.fields reads it).
"""

from __future__ import annotations

from bounceloop.parsing.detectors import rfc3464
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "nullmailer"

_INTRO = "This is the nullmailer delivery system."


def match(mail: Mail) -> bool:
    return _INTRO in mail.body[:300]


def inquire(mail: Mail) -> list[Fact]:
    facts = rfc3464.inquire(mail)
    for fact in facts:
        if fact.action == "delayed":
            fact.action = "failed"
    return facts
