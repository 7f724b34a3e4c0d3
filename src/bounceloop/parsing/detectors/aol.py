"""AOL Mail bounces (before AOL moved onto Yahoo's mail system, whose notices yahoo reads).

Two kinds, both with an RFC 3464 report part:

- ``From: Postmaster <Postmaster@AOL.com>``, ``Subject: Undeliverable: <subject>``: an HTML
  notice plus the report (2014-era web mail);
- ``From: MAILER-DAEMON@AOL.com (Mail Delivery System)``: the stock Postfix notice of AOL's
  outbound relays (``omr-*.mx.aol.com``), whose ``Diagnostic-Code`` type is AOL's own
  ``X-Outbound-Mail-Relay``::

    <jane@example.org>: host mx.example.org[192.0.2.25] said: 550 5.1.1 <jane@example.org>...
        User unknown (in reply to RCPT TO command)

The report gives recipient, status and reply; the Postfix text adds the SMTP command.
(``X-AOL-IP`` is no sign of an AOL bounce: AOL adds it to every message it receives.)
"""

from __future__ import annotations

from bounceloop.parsing.detectors._providers import daemon_from, postfix_relay_facts
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "aol"


def match(mail: Mail) -> bool:
    return daemon_from(mail, "aol.com")


def inquire(mail: Mail) -> list[Fact]:
    return postfix_relay_facts(mail)
