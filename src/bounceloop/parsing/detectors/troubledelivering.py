"""The "We had trouble delivering your message" notice (Sisimai's "Unknown MTA #6", lhost-x6).

The writer does not name itself (its Received lines are anonymised in the known sample; the
returned headers carry Commtouch/Cloudmark filter fields, so it is a hosted filtering relay).
Subject "There was an error sending your mail", one sentence per group of addresses, and
the returned headers as a text/plain attachment "mailheaders-<n>.txt"::

    We had trouble delivering your message. Full details follow:

    Subject: 'Quarterly report'
    Date: 'Mon, 1 Jun 2020 10:00:00 +0000'

    1 error(s):

    The following recipients returned permanent errors: jane@example.net. Reason: SMTP
    Server <192.0.2.7> refused to accept your message (RCPT TO), with the following error
    message: [550 5.1.1 User unknown]

    The attachment contains the original mail headers. Please verify ...
"""

from __future__ import annotations

import re

from bounceloop.parsing.detectors._common import ADDRESS, attach_original, cut
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "troubledelivering"

_INTRO = "We had trouble delivering your message"
# One paragraph per error; a long paragraph may be wrapped.
_ERROR = re.compile(
    r"^The following recipients? returned \w+ errors?:\s*(.*?)\.?\s+Reason:\s*(.*?)"
    r"(?=\n[ \t]*\n|\Z)",
    re.M | re.I | re.S,
)
_SERVER = re.compile(r"SMTP Server <([^<>]+)> refused to accept your message \(([A-Z ]+)\)")
_REPLY = re.compile(r"with the following error message:\s*\[(.*)\]\s*$", re.S)
_COMMAND = {"MAIL FROM": "MAIL", "RCPT TO": "RCPT", "DATA": "DATA", "HELO": "HELO",
            "EHLO": "EHLO", "CONNECT": "CONN", "STARTTLS": "STARTTLS"}


def match(mail: Mail) -> bool:
    return (mail.subject.strip() == "There was an error sending your mail"
            or mail.body[:300].lstrip().startswith(_INTRO))


def inquire(mail: Mail) -> list[Fact]:
    notice, original = cut(mail.body, ("the attachment contains the original mail headers",))
    attach_original(mail, original)
    facts: list[Fact] = []
    for m in _ERROR.finditer(notice):
        who, reason = m.group(1), " ".join(m.group(2).split())
        reply = _REPLY.search(reason)
        server = _SERVER.search(reason)
        for addr in ADDRESS.findall(who):
            # The notice is sent when the relay has given up ("permanent errors").
            fact = Fact(recipient=addr, action="failed", date=mail.header("Date"))
            # The bracketed text is the remote server's own reply; keep the whole reason
            # when there is none (a local or DNS error).
            fact.diagnosis = reply.group(1).strip() if reply else reason
            if server:
                fact.remote_mta = server.group(1)
                fact.command = _COMMAND.get(server.group(2).strip().upper(), "")
            facts.append(fact)
    return facts
