"""MailFoundry (spam/virus filtering gateway appliance) bounces.

The appliance stamps "(MAILFOUNDRY)" in its Received headers and writes a short MIME
notice, one paragraph per failed address, with the returned message as message/rfc822::

    Subject: Message delivery has failed

    Unable to deliver message to: <jane@example.net>
    Delivery failed for the following reason:
    Server mx.example.net[192.0.2.7] failed with: 550 5.1.1 <jane@example.net> No such user

    This has been a permanent failure.  No further delivery attempts will be made.
"""

from __future__ import annotations

from bounceloop.core import rx
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "mailfoundry"

_RECIPIENT = rx.compile(r"^Unable to deliver message to:?\s*<?([^<>\s][^<>\s@]*@[^<>\s]+)>?\s*$")
_SERVER = rx.compile(r"^Server ([\w.\-]+)\s*\[[^\]]*\] failed with:\s*")
_REASON_HEAD = "Delivery failed for the following reason:"


def match(mail: Mail) -> bool:
    if mail.subject.strip() != "Message delivery has failed":
        return False
    return any("(MAILFOUNDRY)" in r.upper() for r in mail.headers_all("Received")) or (
        "Unable to deliver message to:" in mail.body[:500])


def inquire(mail: Mail) -> list[Fact]:
    facts: list[Fact] = []
    lines: list[str] = []
    current: Fact | None = None

    def close() -> None:
        if current is not None:
            current.diagnosis = " ".join(lines)

    for raw in mail.body.split("\n"):
        line = raw.strip()
        m = _RECIPIENT.match(line)
        if m:
            close()
            current = Fact(recipient=m.group(1), action="failed", date=mail.header("Date"))
            facts.append(current)
            lines = []
            continue
        if current is None or not line or line == _REASON_HEAD:
            continue
        if line.startswith("This has been a "):
            # "This has been a permanent failure." closes the list of addresses.
            close()
            current = None
            continue
        server = _SERVER.match(line)
        if server:
            current.remote_mta = server.group(1)
        lines.append(line)
    close()
    return facts
