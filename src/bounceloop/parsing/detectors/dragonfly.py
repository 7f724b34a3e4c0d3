"""DragonFly Mail Agent (dma, github.com/corecode/dma) bounces.

dma writes one bounce per failed recipient (mail.c, bounce())::

    Received: from MAILER-DAEMON
            id 1a2b3
            by host.example.org (DragonFly Mail Agent v0.13);
    X-Original-To: <jane@example.net>
    Subject: Mail delivery failed

    This is the DragonFly Mail Agent v0.13 at host.example.org.

    There was an error delivering your mail to <jane@example.net>.

    mx.example.net [192.0.2.7] did not like our RCPT TO:
    550 5.1.1 <jane@example.net>: User unknown

    Message headers follow.

The reason paragraph is dma's errmsg: "HOST [ADDR] did not like our MAIL FROM / RCPT TO /
DATA / final DATA:" and the reply (older releases: "remote host did not like our ..."),
"DNS lookup failure: host X not found", "Could not deliver for the last N seconds. Giving
up.", "SMTP login to X failed", or a local delivery error. With FULLBOUNCE the marker is
"Original message follows." and the whole message follows, else only its headers.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.command import canonical
from bounceloop.parsing.detectors._common import attach_original, cut
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "dragonfly"

_AGENT = "DragonFly Mail Agent"
_RECIPIENT = rx.compile(r"^There was an error delivering your mail to <([^<>]*)>\.?[ \t]*$", re.M)
_REPORTER = rx.compile(r"^This is the .*? at ([\w.\-]+?)\.?[ \t]*$", re.M)
_DID_NOT_LIKE = rx.compile(
    r"^(?:(\S+) \[([^\]]*)\]|remote host) did not like our (MAIL FROM|RCPT TO|final DATA|DATA):",
    re.M,
)
_MARKERS = ("original message follows.", "message headers follow.")


def match(mail: Mail) -> bool:
    if ("This is the " + _AGENT) in mail.body[:300]:
        return True
    # dma stamps its own Received header on the bounce it writes.
    return mail.subject.strip() == "Mail delivery failed" and any(
        _AGENT in r for r in mail.headers_all("Received"))


def inquire(mail: Mail) -> list[Fact]:
    notice, original = cut(mail.body, _MARKERS)
    m = _RECIPIENT.search(notice)
    recipient = m.group(1).strip() if m else ""
    if not recipient:
        # dma also writes the failed address into its own X-Original-To header; a later
        # hop's delivery (Postfix's local(8) writes one too) adds its own above it
        # (RFC 5321 4.4: trace fields are prepended), so dma's is the last.
        originals = mail.headers_all("X-Original-To")
        recipient = originals[-1].strip().strip("<>") if originals else ""
    if "@" not in recipient:
        return []
    attach_original(mail, original)
    reason = notice[m.end():] if m else notice
    fact = Fact(recipient=recipient, action="failed", diagnosis=" ".join(reason.split()),
                date=mail.header("Date"))
    reporter = _REPORTER.search(notice[:500])
    fact.reporting_mta = reporter.group(1) if reporter else ""
    step = _DID_NOT_LIKE.search(reason)
    if step:
        fact.remote_mta = step.group(1) or ""
        fact.command = canonical(step.group(3))
        # The diagnosis is the remote's reply; dma's framing names the command only ("did
        # not like our MAIL FROM:" read as the words of the reply made "mail from ...
        # denied" a refused sender where the reply refused the client's address).
        fact.diagnosis = " ".join(reason[step.end():].split()) or fact.diagnosis
    return [fact]
