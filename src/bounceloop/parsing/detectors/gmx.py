"""GMX (gmx.net, gmx.com, mail.com): bounces from ``MAILER-DAEMON@*.gmx.*``.

GMX runs United Internet's mail system; the report is read in :mod:`._unitedinternet`::

    From: MAILER-DAEMON@mail.gmx.com
    Subject: Mail delivery failed: returning message to sender
    X-GMX-Antispam: 0 (Mail was not recognized as spam); Detail=V3;

    "jane@example.org":
    SMTP error from remote server after RCPT command:
    host: mx.example.org
    5.1.1 <jane@example.org>... User Unknown

Exim's detector also accepts this subject and opening, but cannot read these entries, so
gmx must be tried before exim.
"""

from __future__ import annotations

from bounceloop.parsing.detectors import _unitedinternet
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "gmx"

_DOMAINS = (".gmx.net", ".gmx.com", ".gmx.de", "@gmx.net", "@gmx.com", "@gmx.de", "@mail.com")


def match(mail: Mail) -> bool:
    # Every message leaving GMX carries its spam verdict header.
    if not (mail.has("X-GMX-Antispam") or mail.from_address.endswith(_DOMAINS)):
        return False
    return _unitedinternet.is_report(mail)


def inquire(mail: Mail) -> list[Fact]:
    return _unitedinternet.inquire(mail)
