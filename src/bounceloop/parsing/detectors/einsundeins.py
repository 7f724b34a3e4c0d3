"""1&1 (IONOS; "eins und eins"): bounces from ``mailer-daemon@kundenserver.de``.

1&1 runs United Internet's mail system; the report is read in :mod:`._unitedinternet`::

    From: "Mail Delivery System" <mailer-daemon@kundenserver.de>
    Subject: Mail delivery failed: returning message to sender

    jane@example.org:
    SMTP error from remote server for TEXT command, host: mx.example.org (192.0.2.25)
    reason: 550 5.2.0 Message rejected

or, for its own refusals, "jane@example.org" then "For the following reason:" and the text
("Mail size limit exceeded. For explanation visit http://postmaster.1and1.com/..."). Exim's
detector also accepts this subject and opening, but cannot read these entries, so
einsundeins must be tried before exim.
"""

from __future__ import annotations

from bounceloop.parsing.detectors import _unitedinternet
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "einsundeins"

_DOMAINS = ("@kundenserver.de", ".kundenserver.de", "@1und1.de", "@1and1.com", "@ionos.com",
            "@ionos.de", ".1and1.com", ".ionos.com")


def match(mail: Mail) -> bool:
    return mail.from_address.endswith(_DOMAINS) and _unitedinternet.is_report(mail)


def inquire(mail: Mail) -> list[Fact]:
    return _unitedinternet.inquire(mail)
