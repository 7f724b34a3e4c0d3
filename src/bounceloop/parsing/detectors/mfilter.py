"""m-FILTER (Digital Arts' mail filtering/archiving gateway) bounces.

m-FILTER sends "failure notice" with "X-Mailer: m-FILTER": a Japanese greeting ("このメール
は「m-FILTER」が自動的に生成して送信しています。... 以下のメールアドレスへの送信に失敗しま
した。"), the failed addresses one per line, then sections under dashed headings::

    jane@example.net

    -------server message
    550 5.1.1 <jane@example.net>: Recipient address rejected: User unknown

    -------SMTP command
    DATA

    -------original message          (or "-------original mail info": From/Subject/Date only)

The server message and command are stated once and hold for every listed address.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.detectors._common import attach_original, cut
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "mfilter"

_BARE_ADDRESS = rx.compile(r"^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$")
_SECTION = rx.compile(r"^-{5,}\s*(server message|smtp command|original message|original mail info)"
                      r"\s*$", re.I)
_COMMANDS = frozenset({"CONN", "HELO", "EHLO", "STARTTLS", "MAIL", "RCPT", "DATA"})


def match(mail: Mail) -> bool:
    return mail.header("X-Mailer").strip() == "m-FILTER"


def inquire(mail: Mail) -> list[Fact]:
    notice, original = cut(mail.body, ("-------original message", "-------original mail info"))
    attach_original(mail, original)
    section = ""
    addresses: list[str] = []
    server: list[str] = []
    command = ""
    for raw in notice.split("\n"):
        line = raw.strip()
        if not line:
            continue
        sec = _SECTION.match(line)
        if sec:
            section = sec.group(1).lower()
        elif section == "" and _BARE_ADDRESS.match(line):
            addresses.append(line)
        elif section == "server message":
            server.append(line)
        elif section == "smtp command" and not command:
            word = line.split()[0].upper()
            command = word if word in _COMMANDS else ""
    if not server and mail.subject.strip().lower() != "failure notice":
        # m-FILTER also sends other notices (held or archived mail); only a failure notice,
        # or a report quoting a server message, is a bounce.
        return []
    diagnosis = " ".join(server)
    return [Fact(recipient=a, action="failed", diagnosis=diagnosis, command=command,
                 date=mail.header("Date")) for a in addresses]
