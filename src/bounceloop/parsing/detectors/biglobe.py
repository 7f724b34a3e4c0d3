"""BIGLOBE (biglobe.ne.jp, and the cable ISPs on its platform: inacatv, tmtv, ttv).

A sendmail-like text part (ISO-2022-JP) with the original attached::

    From: postmaster@biglobe.ne.jp
    Subject: Returned mail: Service unavailable

       ----- The following addresses had delivery problems -----
    jane@example.ne.jp

       ----- Non-delivered information -----
    The number of messages in recipient's mailbox exceeded the local limit.

There is no SMTP reply; the "Non-delivered information" text is the diagnosis, for all the
addresses listed.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.detectors._common import ADDRESS, subject_starts
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "biglobe"

_DOMAINS = ("@biglobe.ne.jp", "@inacatv.ne.jp", "@tmtv.ne.jp", "@ttv.ne.jp")
_ADDRESSES = rx.compile(r"^[^\S\n]*-+\s*the following addresses had delivery problems\s*-+\s*$",
                        re.I | re.M)
_INFORMATION = rx.compile(r"^[^\S\n]*-+\s*non-delivered information\s*-+\s*$", re.I | re.M)


def match(mail: Mail) -> bool:
    return mail.from_address.endswith(_DOMAINS) and subject_starts(mail, "returned mail:")


def inquire(mail: Mail) -> list[Fact]:
    body = mail.body
    a = _ADDRESSES.search(body)
    if a is None:
        return []
    info = _INFORMATION.search(body, a.end())
    listed = body[a.end():info.start() if info else len(body)]
    diagnosis = ""
    if info is not None:
        # The explanation runs to the first blank line.
        lines: list[str] = []
        for line in body[info.end():].lstrip("\n").split("\n"):
            if not line.strip():
                break
            lines.append(line.strip())
        diagnosis = " ".join(lines)
    facts: list[Fact] = []
    for line in listed.split("\n"):
        addr = line.strip().strip("<>")
        if ADDRESS.fullmatch(addr):
            facts.append(Fact(recipient=addr, action="failed", diagnosis=diagnosis,
                              date=mail.header("Date")))
    return facts
