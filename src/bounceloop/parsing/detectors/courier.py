"""Courier MTA (courier-mta.org) delivery status notifications.

courierdsn writes ``multipart/report`` with a text part built from module.dsn/dsn*.txt::

    Subject: NOTICE: mail delivery status.
    From: "Courier mail server at mx.example.net" <@>

    This is a delivery status notification from mx.example.net,
    running the Courier mail server, version 1.1.

    ---------------------------------------------------------------------------

                               UNDELIVERABLE MAIL

    Your message to the following recipients cannot be delivered:

    <jane@example.org>:
        mx.example.org [192.0.2.25]:
    >>> RCPT TO:<jane@example.org>
    <<< 550 5.1.1 <jane@example.org>: Recipient address rejected: User unknown

    ---------------------------------------------------------------------------

Each recipient block: the address, the server it talked to (indented), the last command sent
(">>> ") and every line of the answer ("<<< "); Courier's own errors are written as "<<< " lines
too ("<<< No such domain."). The DSN part carries Status (often just "5.0.0") and only the first
reply line, so the blocks supply the command and the complete reply. One notice may hold several
sections, each titled in capitals: "UNDELIVERABLE MAIL", "DELAYS IN DELIVERING YOUR MESSAGE"
(Subject "WARNING: delayed mail."), "MESSAGE DELIVERED TO A MAIL GATEWAY" (relayed) and the
delivery confirmations; a block's host line may be just "[192.0.2.1]:".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.command import canonical
from bounceloop.parsing.detectors._common import facts_or_original
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "courier"

_ADDR_LINE = rx.compile(r"^<([^<>\s]+)>:\s*$")
_HOST_LINE = rx.compile(r"^\s+(?:(\S+)\s+)?\[([^\]]*)\]:\s*$")
_TITLE = rx.compile(r"^[A-Z][A-Z ]+$")
#: What courieresmtp records for a network error: strerror() of the failed connect, read or
#: write, or its own two texts (module.esmtp/esmtpclient.C, connect_error1()).
_NETWORK = rx.compile(r"(?i)(?:connection (?:refused|timed out|reset by peer)|no route to host"
                      r"|network is unreachable|network connection shut down by the remote"
                      r" mail server|connection closed by remote host)\.?$")
_SECTIONS = (
    ("UNDELIVERABLE", "failed"),
    ("DELAY", "delayed"),
    ("RELAYED", "relayed"),
    ("GATEWAY", "relayed"),
    ("DELIVERED", "delivered"),
)


@dataclass(slots=True)
class _Block:
    address: str
    action: str
    host: str = ""
    command: str = ""
    said: list[str] = field(default_factory=list)


def match(mail: Mail) -> bool:
    if "courier mail server at" in mail.sender.lower():
        return True
    if mail.header("Message-ID").lstrip().startswith("<courier."):
        return True
    if not mail.subject.startswith(("NOTICE: mail delivery status.", "WARNING: delayed mail.")):
        return False
    return "running the courier mail server" in mail.body[:1500].lower()


def inquire(mail: Mail) -> list[Fact]:
    blocks = _blocks(mail.body)
    _, facts = dsn.facts(mail.dsn) if mail.dsn else ({}, [])
    facts = [f for f in facts if f.recipient or f.status]
    if not facts:
        facts = [Fact(recipient=b.address, action=b.action) for b in blocks]
    if not facts:
        return []
    first: dict[str, _Block] = {}
    for b in blocks:
        first.setdefault(b.address.lower(), b)
    said_by: dict[int, str] = {}  # a block's reply, joined once for all its facts
    for i, fact in enumerate(facts):
        block = first.get(fact.recipient.lower())
        if block is None and len(blocks) == len(facts):
            block = blocks[i]
        if block is None:
            continue
        fact.action = fact.action or block.action
        fact.command = block.command
        fact.remote_mta = fact.remote_mta or block.host
        said = said_by.get(id(block))
        if said is None:
            said = said_by[id(block)] = " ".join(block.said)
        # The reply in the text has all its lines; the Diagnostic-Code only the first.
        if said and len(said) >= len(fact.diagnosis):
            fact.diagnosis = said
        fact.date = fact.date or mail.header("Date")
        # Courier writes "Status: 5.0.0" for every failure (module.dsn/dsn.C), and its esmtp
        # module retries a 4xx reply and any network error (module.esmtp/esmtpclient.C:
        # connect_error1() -> soft_error1()) until queuetime: a failed record whose last
        # word was one of those is an expiry.
        fact.soft = block.action == "failed" and (
            said[:1] == "4" if block.command else _NETWORK.match(said) is not None)
    return facts_or_original(mail, facts)


def _blocks(body: str) -> list[_Block]:
    out: list[_Block] = []
    action = "failed"
    current: _Block | None = None
    for line in body.split("\n"):
        stripped = line.strip()
        if _TITLE.match(stripped):
            # A section title ("UNDELIVERABLE MAIL"): capitals only.
            kind = next((a for word, a in _SECTIONS if word in stripped), None)
            if kind is not None:
                action, current = kind, None
                continue
        m = _ADDR_LINE.match(line)
        if m:
            current = _Block(address=m.group(1), action=action)
            out.append(current)
            continue
        if current is None:
            continue
        if stripped.startswith("-----"):
            current = None
            continue
        h = _HOST_LINE.match(line)
        if h and not current.said:
            current.host = h.group(1) or h.group(2)
        elif stripped.startswith(">>>"):
            verb = stripped[3:].strip().split(" ", 1)[0].split(":", 1)[0].upper()
            current.command = canonical(verb)
        elif stripped.startswith("<<<"):
            current.said.append(stripped[3:].strip())
    return out
