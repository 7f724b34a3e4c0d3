"""Trend Micro InterScan Messaging Security Suite (IMSS, and InterScan VirusWall's MTA).

The notice is a text part between rows of asterisks, with the original message attached::

    From: postmaster@example.net ("InterScan Notification")
    Subject: Mail could not be delivered

    ****** Message from InterScan Messaging Security Suite ******

    The following mail could not be delivered.
    Reason:  Unable to deliver message to <jane@example.org> (and other recipients in the
    same domain).

Older releases write just the "Unable to deliver message to <...>" line. Releases that
quote the SMTP dialogue write it as "Sent <<< RCPT TO:<jane@example.org>" and
"Received >>> 550 5.1.1 <jane@example.org>... User unknown" (the Japanese notices label
the lines in Japanese, with the arrows the other way round: only the arrow and what follows
it are read). The Japanese subjects are "メッセージを配信できません。" and
"メール配信に失敗しました".
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "interscanmss"

_SUBJECTS = (
    "Mail could not be delivered",
    "メッセージを配信できません。",
    "メール配信に失敗しました",
)
_UNABLE = rx.compile(r"unable to deliver message to <([^<>\s][^<>\s@]*@[^<>\s]+)>[^\n]*", re.I)
_SENT = rx.compile(
    r"^[^\n<>]*(?:<<<|>>>)\s+([A-Za-z]{4})\b[^<\n]*<([^<>\s][^<>\s@]*@[^<>\s]+)>", re.M)
_RECEIVED = rx.compile(r"^[^\n<>]*(?:<<<|>>>)\s+([245]\d\d\b(?:.*?\S)??)\s*$", re.M)


def match(mail: Mail) -> bool:
    if "interscan" in mail.sender.lower():
        return True
    if mail.subject.strip() in _SUBJECTS:
        return "interscan" in mail.body[:1000].lower() or any(
            "InterScan" in r for r in mail.headers_all("Received"))
    return False


def inquire(mail: Mail) -> list[Fact]:
    facts: list[Fact] = []
    # The SMTP dialogue: each "Sent <<<" command with the reply "Received >>>" after it.
    sent = list(_SENT.finditer(mail.body))
    for i, m in enumerate(sent):
        end = sent[i + 1].start() if i + 1 < len(sent) else len(mail.body)
        reply = _RECEIVED.search(mail.body, m.end(), end)
        facts.append(Fact(recipient=m.group(2), command=m.group(1).upper(),
                          diagnosis=reply.group(1) if reply else ""))
    if not facts:
        for m in _UNABLE.finditer(mail.body):
            # The line itself is all the explanation IMSS gives (it could not reach any
            # server of that domain, or every one refused).
            # IMSS writes this line for the recipients the next hop refused at RCPT TO.
            facts.append(Fact(recipient=m.group(1), diagnosis=m.group(0).strip(),
                              reason="userunknown"))
    seen: set[str] = set()
    out: list[Fact] = []
    for fact in facts:
        key = fact.recipient.lower()
        if key in seen:
            continue
        seen.add(key)
        fact.action = "failed"
        fact.date = mail.header("Date")
        out.append(fact)
    return out
