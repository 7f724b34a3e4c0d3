"""Yahoo! Mail (and Yahoo! JAPAN, AOL since 2017) "Failure Notice" bounces.

Yahoo's outbound MTA descends from qmail and writes plain text, one paragraph per recipient::

    Subject: Failure Notice

    Sorry, we were unable to deliver your message to the following address.

    <jane@example.org>:
    Remote host said: 550 5.1.1 <jane@example.org>... User unknown [RCPT_TO]

    --- Below this line is a copy of the message.

Variants: the reply on its own lines after "Remote host said:", the command tag
("[RCPT_TO]", "[MAIL_FROM]", "[DATA]") on a line of its own, a reply written "550: 5.2.2 ..."
(code, colon, text) with no "Remote host said:", or Yahoo's own words ("No mx record found
for domain=example.org").
"""

from __future__ import annotations

from bounceloop.core import rx
from bounceloop.parsing.command import canonical
from bounceloop.parsing.detectors._common import attach_original, cut, subject_starts
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "yahoo"

_INTRO = "sorry, we were unable to deliver your message to the following address"
_ORIGINAL_MARKERS = ("--- below this line is a copy of the message",)
_RECIPIENT = rx.compile(r"^<([^<>\s][^<>\s@]*@[^<>\s]+)>:\s*$")
_TAG = rx.compile(r"\[\s*([A-Z_]+)\s*\]\s*$")
# "550: 5.2.2 <a@b>... Mailbox Full": the reply code stated before a colon.
_CODE_COLON = rx.compile(r"^([245]\d\d):\s*")


def match(mail: Mail) -> bool:
    return subject_starts(mail, "failure notice") and _INTRO in mail.body[:2000].lower()


def inquire(mail: Mail) -> list[Fact]:
    notice, original = cut(mail.body, _ORIGINAL_MARKERS)
    start = notice.lower().find(_INTRO)
    if start < 0:
        return []
    attach_original(mail, original)
    facts: list[Fact] = []
    lines: list[str] = []

    def close() -> None:
        if facts and lines:
            _explain(facts[-1], " ".join(lines))

    for line in notice[start:].split("\n")[1:]:
        m = _RECIPIENT.match(line.strip())
        if m:
            close()
            facts.append(Fact(recipient=m.group(1), action="failed", date=mail.header("Date")))
            lines = []
        elif facts and line.strip():
            lines.append(line.strip())
    close()
    return facts


def _explain(fact: Fact, text: str) -> None:
    tag = _TAG.search(text)
    if tag:
        fact.command = canonical(tag.group(1))
        text = text[:tag.start()].strip()
    if text.lower().startswith("remote host said:"):
        text = text[len("remote host said:"):].strip()
    code = _CODE_COLON.match(text)
    if code:
        fact.reply_code = code.group(1)
    fact.diagnosis = text
