"""au one net (KDDI's ISP mail, dion.ne.jp / auone-net.jp): "メールエラー通知" reports.

A Japanese explanation, then the server's English lines, with the original attached::

    From: no-reply@example.dion.ne.jp
    Reply-To: no-reply@app.auone-net.jp

    送信先のメールボックスが一杯のため、送信できませんでした。
    ...
    Your mail sent on: Thu, 29 Apr 2013 23:45:22 +0900
         Could not be delivered to: <jane@example.dion.ne.jp>
         As their mailbox is full.

The indented lines after "Could not be delivered to:" give the cause ("As their mailbox is
full.", "As the remote domain doesnt exist.", "Due to the following SMTP relay error: ...").
The "Your mail attempted to be delivered on:" variant reads the same. Bounces of au's mobile
addresses (ezweb.ne.jp, au.com) are ezweb's.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "kddi"

_ENTRY = rx.compile(
    r"^\s*could not be delivered to:\s*<?([^<>\s][^<>\s@]*@[^<>\s]+)>?\s*$", re.I)
# Each entry starts with the time the original was sent (not the time of the failure).
_SENT_ON = rx.compile(r"^\s*your mail (?:sent on|attempted to be delivered on)\b", re.I)


def match(mail: Mail) -> bool:
    sender = mail.from_address
    if sender.startswith("no-reply@") and sender.endswith(".dion.ne.jp"):
        return True
    if "auone-net.jp" in mail.header("Reply-To"):
        return True
    return any("auone-net.jp" in r for r in mail.headers_all("Received")) and (
        "could not be delivered to:" in mail.body[:3000].lower())


def inquire(mail: Mail) -> list[Fact]:
    facts: list[Fact] = []
    lines: list[list[str]] = []  # each fact's lines, joined at the end (not at each line)
    current: Fact | None = None
    for line in mail.body.split("\n"):
        if _SENT_ON.match(line):
            current = None
            continue
        entry = _ENTRY.match(line)
        if entry:
            current = Fact(recipient=entry.group(1), action="failed",
                           date=mail.header("Date"))
            facts.append(current)
            lines.append([])
            continue
        if current is not None:
            if line[:1] in (" ", "\t") and line.strip():
                lines[-1].append(line.strip())
            else:
                current = None
    for fact, parts in zip(facts, lines, strict=True):
        fact.diagnosis = " ".join(parts)
    return facts
