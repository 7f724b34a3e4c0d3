"""au by KDDI mobile mail (ezweb.ne.jp, au.com): "Mail System Error - Returned Mail".

Sent by ``Postmaster@ezweb.ne.jp`` (``Postmaster@au.com``); a Japanese explanation, an
English one, then the recipients, in several layouts over the years::

    次のあて先へのメッセージはエラーのため送信できませんでした。
    ...
    The user(s) account is disabled.

    <jane@ezweb.ne.jp>: 550 user unknown (in reply to RCPT TO command)

or, when a remote server refused the message, the SMTP dialogue::

    Each of the following recipients was rejected by a remote
    mail server.

        Recipient: <jane@example.org>
        >>> RCPT TO:<jane@example.org>
        <<< 550 <jane@example.org>: User unknown

The English sentence is au's statement of the cause ("The user(s) account is disabled.",
"... is temporarily over quota.", "Your message was not delivered within 0 days and 1
hours.") and goes into the diagnosis before the reply. The oldest layout is plain text: the
recipient first, then the sentence, then a line of dashes and the original message.

``X-SPASIGN: NG`` on the report is au's mark that the recipient's own filter (the
"domain/address designation reception" settings of au phones) refused the message: the
format then states the reason, "filtered".
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.command import canonical
from bounceloop.parsing.detectors._common import attach_original, shared
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "ezweb"

_DOMAINS = ("@ezweb.ne.jp", "@au.com")
_SUBJECT = "Mail System Error - Returned Mail"
_RECIPIENT = rx.compile(
    r"^\s*(?:recipient:\s*)?<([^<>\s][^<>\s@]*@[^<>\s]+)>:?\s*((?:.*?\S)??)\s*$", re.I)
_SENT = rx.compile(r"^\s*>>>\s*([A-Za-z]+(?: (?:TO|FROM))?)", re.I)
_REPLY = rx.compile(r"^\s*<<<\s*(.*?\S|[^\S\n])\s*$")
_IN_REPLY_TO = rx.compile(r"\(in reply to ([A-Za-z]+(?: (?:TO|FROM))?) command\)", re.I)
_DASHES = rx.compile(r"^-{20,}\s*$", re.M)
# The generic opening of the "rejected by a remote mail server" layout: only kept when
# there is no reply to say more.
_GENERIC = "each of the following recipients was rejected by a remote"


def match(mail: Mail) -> bool:
    if mail.from_address.startswith("postmaster@") and mail.from_address.endswith(_DOMAINS):
        return True
    return mail.subject.strip() == _SUBJECT and any(
        "ezweb.ne.jp" in r or ".au.com" in r for r in mail.headers_all("Received"))


def inquire(mail: Mail) -> list[Fact]:
    body = mail.body
    dashes = _DASHES.search(body)
    if dashes is not None:
        attach_original(mail, body[dashes.end():])
        body = body[:dashes.start()]
    facts: list[Fact] = []
    replies: dict[int, list[str]] = {}
    english: list[str] = []
    for line in body.split("\n"):
        rcpt = _RECIPIENT.match(line)
        if rcpt:
            facts.append(Fact(recipient=rcpt.group(1)))
            replies[len(facts) - 1] = [rcpt.group(2)] if rcpt.group(2) else []
            continue
        sent = _SENT.match(line)
        if sent and facts:
            facts[-1].command = canonical(sent.group(1))
            continue
        reply = _REPLY.match(line)
        if reply and facts:
            replies[len(facts) - 1].append(reply.group(1))
            continue
        stripped = line.strip()
        if stripped and stripped.isascii() and "@" not in stripped:
            english.append(stripped)
    if not facts:
        return []
    statement = " ".join(english)
    # The generic sentence wraps onto a line of its own ("mail server."): drop both halves.
    specific = " ".join(e for e in english if not e.lower().startswith(_GENERIC)
                        and not e.lower().startswith("mail server"))
    before_reply = shared(specific, len(facts), len(mail.body))
    _, stated = dsn.facts(mail.dsn) if mail.dsn else ({}, [])
    by_rcpt = {f.recipient.lower(): f for f in stated}
    filtered = mail.header("X-SPASIGN").strip().upper() == "NG"
    for i, fact in enumerate(facts):
        reply_text = " ".join(replies.get(i, []))
        in_reply = _IN_REPLY_TO.search(reply_text)
        if in_reply and not fact.command:
            fact.command = canonical(in_reply.group(1))
        fact.diagnosis = f"{before_reply} {reply_text}".strip() if reply_text else statement
        report = by_rcpt.get(fact.recipient.lower())
        if report is not None:
            fact.status = report.status
            fact.reporting_mta = report.reporting_mta
        fact.action = "failed"
        if filtered:
            fact.reason = "filtered"
        fact.date = mail.header("Date")
    return facts
