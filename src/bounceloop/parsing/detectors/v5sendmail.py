"""Sendmail version 5 (and appliances built on it): the transcript alone, no DSN.

Sendmail 5 returns the session transcript and the message as plain text::

    Subject: Returned mail: User unknown
    From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>

       ----- Transcript of session follows -----
    While talking to mx.example.org:
    >>> RCPT To:<jane@example.org>
    <<< 550 <jane@example.org>... User unknown
    550 <jane@example.org>... User unknown
    550 example.com (smtp)... 550 Host unknown
    554 <joe@example.com>... 550 Host unknown (Authoritative answer from name server)
       ----- Unsent message follows -----
    Received: ...

Unlike Sendmail 8 there is no "The original message was received at" preamble, no list of
failed addresses and no DSN part: the recipients are the addresses of the verdict lines
("554 <addr>... text"). A verdict for a whole host ("421 example.org (smtp)... Deferred: ...")
names no recipient; when there is nothing else, the recipient is the To of the returned
message. Delay warnings say "Waiting mail:" in the Subject.
"""

from __future__ import annotations

from bounceloop.parsing.detectors import _transcript
from bounceloop.parsing.detectors._common import attach_original, cut, recipient_from_original
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "v5sendmail"

_TRANSCRIPT = "----- transcript of session follows -----"
_ORIGINAL_MARKERS = (
    "----- unsent message follows -----",
    "----- no message was collected -----",
    "----- message header follows -----",
)


def match(mail: Mail) -> bool:
    if not mail.subject.lower().lstrip().startswith(("returned mail:", "waiting mail:")):
        return False
    head = mail.body[:2000].lower()
    # Sendmail 8 writes the "original message was received at" preamble; V5 starts with the
    # transcript.
    return _TRANSCRIPT in head and "the original message was received at" not in head


def inquire(mail: Mail) -> list[Fact]:
    notice, original = cut(mail.body, _ORIGINAL_MARKERS)
    attach_original(mail, original)
    low = notice.lower()
    at = low.find(_TRANSCRIPT)
    if at < 0:
        return []
    transcript = _transcript.read(notice[notice.find("\n", at) + 1:])
    action = "delayed" if mail.subject.lower().lstrip().startswith("waiting mail:") else "failed"

    recipients: list[str] = []
    seen: set[str] = set()
    for e in transcript.entries:
        if "@" in e.address and e.address.lower() not in seen:
            seen.add(e.address.lower())
            recipients.append(e.address)
    if not recipients:
        rcpt = recipient_from_original(mail)
        if not rcpt:
            return []
        recipients = [rcpt]

    summary = mail.subject.split(":", 1)[-1].strip()
    facts: list[Fact] = []
    for rcpt in recipients:
        found = _transcript.finding(transcript, rcpt)
        fact = Fact(recipient=rcpt, action=action, date=mail.header("Date"))
        fact.diagnosis = found.diagnosis or transcript.general_text()
        fact.command = found.command if found.from_server else ""
        fact.reply_code = found.reply_code
        fact.remote_mta = found.remote_mta
        # Sendmail 5 puts its summary of the error into the Subject ("Returned mail: Cannot
        # send message for 5 days"): context for the classifier, not the server's words.
        fact.context = summary
        facts.append(fact)
    return facts
