"""Google Groups refusing a post: a notice from ``mailer-daemon@googlemail.com``.

When a message is sent to a group that does not exist, or that the sender may not post to,
Google Groups answers in the sender's language (English, French, Chinese, ...) with no
SMTP reply and no report part; the group is named in ``X-Failed-Recipients``::

    Subject: Delivery Status Notification (Failure)
    X-Failed-Recipients: cats@googlegroups.com

    Hello jane@example.org,

    We're writing to let you know that the group you tried to contact (cats) may not
    exist, or you may not have permission to post messages to the group. ...

    If you have questions related to this or any other Google Group, visit the Help Center
    at https://groups.google.com/support/.

    Thanks,

    Google Groups

    ----- Original message -----

The notice states the outcome whatever its language: the post was refused (group missing or
posting not allowed), so the reason is "rejected". (A Groups refusal delivered as Gmail's
RFC 3464 report, e.g. "rejected due to spam classification", carries the real reply and is
read by gmail.)
"""

from __future__ import annotations

from bounceloop.parsing.detectors._common import (
    attach_original,
    cut,
    first_address,
    recipient_from_original,
)
from bounceloop.parsing.detectors._providers import daemon_from
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "googlegroups"

_ORIGINAL_MARKERS = ("----- original message -----",)
# The Help Center link is in every translation of the notice.
_GROUPS_URL = "groups.google.com"


def match(mail: Mail) -> bool:
    if not daemon_from(mail, "googlemail.com", "gmail.com", "google.com"):
        return False
    failed = mail.header("X-Failed-Recipients").lower()
    return "@googlegroups.com" in failed or _GROUPS_URL in mail.body[:3000].lower()


def inquire(mail: Mail) -> list[Fact]:
    if mail.dsn.strip():
        return []  # Gmail's report format: gmail reads it
    notice, original = cut(mail.body, _ORIGINAL_MARKERS)
    if _GROUPS_URL not in notice.lower() and "google group" not in notice.lower():
        return []
    attach_original(mail, original)
    recipients = [first_address(a) for a in mail.header("X-Failed-Recipients").split(",")]
    recipients = [r for r in recipients if r]
    if not recipients:
        rcpt = recipient_from_original(mail)
        recipients = [rcpt] if rcpt else []
    diagnosis = " ".join(notice.split())
    return [
        Fact(recipient=rcpt, action="failed", diagnosis=diagnosis, reason="rejected",
             date=mail.header("Date"))
        for rcpt in recipients
    ]
