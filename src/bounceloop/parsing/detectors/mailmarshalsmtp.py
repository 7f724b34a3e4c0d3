"""MailMarshal SMTP (Marshal, later Trustwave Secure Email Gateway): "Undeliverable Mail".

One text part; the error stands alone, the affected recipients follow it, then the
gateway's details::

    Subject: Undeliverable Mail: "Quarterly figures"

    Your message:
       From:    john@example.net
       Subject: Quarterly figures

    Could not be delivered because of

    550 5.1.1 User unknown

    The following recipients were affected:
        jane@example.org

    Additional Information
    ======================
    Original Sender:    <john@example.net>
    Sender-MTA:         <192.0.2.10>
    Remote-MTA:         <198.51.100.25>
    Reporting-MTA:      <gw.example.net>

One error is given for all the recipients listed under it.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.detectors._common import ADDRESS, subject_starts
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "mailmarshalsmtp"

_ERROR = rx.compile(r"^[^\S\n]*could not be delivered because of\s*$", re.I | re.M)
_AFFECTED = rx.compile(r"^[^\S\n]*the following recipients were affected:?\s*$", re.I | re.M)
_INFO = rx.compile(r"^[^\S\n]*(remote-mta|reporting-mta):\s*<?([^<>\s]+)>?\s*$", re.I | re.M)


def match(mail: Mail) -> bool:
    return subject_starts(mail, 'undeliverable mail: "') or (
        subject_starts(mail, "undeliverable mail") and any(
            "MailMarshal" in r for r in mail.headers_all("Received")))


def inquire(mail: Mail) -> list[Fact]:
    body = mail.body
    err = _ERROR.search(body)
    aff = _AFFECTED.search(body)
    if aff is None:
        return []
    diagnosis = body[err.end():aff.start()].strip() if err and err.end() <= aff.start() else ""
    info = {m.group(1).lower(): m.group(2) for m in _INFO.finditer(body)}
    facts: list[Fact] = []
    for line in body[aff.end():].split("\n"):
        stripped = line.strip()
        if not stripped:
            if facts:
                break
            continue
        if not ADDRESS.fullmatch(stripped.strip("<>")):
            break
        facts.append(Fact(recipient=stripped.strip("<>"), action="failed", diagnosis=diagnosis,
                          remote_mta=info.get("remote-mta", ""),
                          reporting_mta=info.get("reporting-mta", ""),
                          date=mail.header("Date")))
    return facts
