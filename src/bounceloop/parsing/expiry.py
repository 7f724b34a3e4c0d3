"""Expiry: did the reporting MTA give up after retrying? (issue 18 item 7)

A message that met only temporary failures stays in the MTA's queue until its lifetime
runs out; the MTA then returns it. The report says so in one of two ways:

- its fields: RFC 3464 section 2.3.3 ``Action: failed`` (will not retry) next to a status
  of class 4 (RFC 3463 section 3.1: a persistent transient failure). Postfix does exactly
  this on expiry (bounce(8): the last temporary error and its 4.x.x status, Action: failed);
  Sendmail writes 4.4.7 ("delivery time expired", RFC 3463 section 3.5);
- its words (:data:`GAVE_UP`): Exim appends "retry timeout exceeded" to the last error,
  OpenSMTPD writes "Envelope expired" (and, in 6.8, ``Action: delayed``), Sendmail "Message
  could not be delivered for 5 days / Message will be deleted from queue".

The record's ``expired`` is true then. Its ``reason`` is the cause the report states (the
last error: a greylisting 450 is ``blocked``, a quota 452 ``mailboxfull``), decided on the
text without the give-up wording, and ``expired`` only when it states none.
"""

from __future__ import annotations

from bounceloop.core import rx
from bounceloop.parsing.rules.phrases import Phrase
from bounceloop.parsing.searchers import span

#: What MTAs write when they give up on a message after retrying; searched in the
#: lowercased diagnostic and notification text. The record's rule is ``expiry:<id>``.
GAVE_UP: tuple[Phrase, ...] = (
    Phrase("retry-timeout-exceeded", r"retry timeout exceeded",
           "Exim deliver.c: the last error, then \": retry timeout exceeded\""),
    Phrase("failing-for-a-long-time", r"have been failing for a long time",
           "Exim retry.c: all hosts for <domain> have been failing for a long time"),
    Phrase("envelope-expired", r"envelope expired",
           "OpenSMTPD smtpd/queue.c: envelope_set_errormsg(\"Envelope expired\")"),
    Phrase("deleted-from-queue", r"message will be deleted from queue",
           "Sendmail savemail.c: Message could not be delivered for <time> / Message will "
           "be deleted from queue"),
    Phrase("could-not-be-delivered-for",
           r"(?:could not be delivered|cannot send message) for \d+ (?:minute|hour|day|week)s?",
           "Sendmail savemail.c / queue.c (\"Cannot send message for <time>\"); not Postfix's "
           "warning \"for more than <n> hour(s)\""),
    Phrase("in-the-queue-too-long", r"in the queue too long|too long in (?:the )?queue",
           "qmail-send: this message has been in the queue too long"),
    Phrase("message-expired", r"message (?:has )?expired",
           "Exchange Online NDR 4.4.7 / QUEUE.Expired; Amazon SES: Message expired"),
    Phrase("delivery-time-expired", r"delivery time (?:has )?expired",
           "RFC 3463 3.5 (X.4.7 delivery time expired)"),
    Phrase("too-many-failures", r"too many failures \(",
           "Haraka outbound/hmail.js temp_fail(): past its temp_fail_intervals, "
           "convert_temp_failed_to_bounce(`Too many failures (${err})`) (github.com/haraka/"
           "Haraka, commit 0bf10cbb)"),
)

#: Words that tell a give-up only in a report of a failure: Gmail writes "The recipient
#: server did not accept our requests to connect" (support.google.com/mail/answer/7720) in
#: the notice it sends when it stops retrying and in its delay warnings alike ("THIS IS A
#: WARNING MESSAGE ONLY ... Message will be retried"): in a warning it is the cause of the
#: delay, not its end.
AFTER_FAILURE: tuple[Phrase, ...] = (
    Phrase("did-not-accept-our-requests-to-connect",
           r"did not accept our requests to connect",
           "Gmail, after its retries (its notice of failure; its delay warnings say it too)"),
)

#: What a report of a failure may say (a delay's report: GAVE_UP alone).
_ON_FAILURE = GAVE_UP + AFTER_FAILURE

#: Any of them (one search per text; which one, only on a hit).
_ANY = rx.compile("|".join(f"(?:{phrase.pattern})" for phrase in _ON_FAILURE))

#: The rule of an expiry the report's fields show (Action: failed, status of class 4).
FIELDS_RULE = "expiry:failed-transient"


#: The rule of an expiry the reporting MTA's format shows (a failed record whose last error
#: its MTA treats as temporary: Fact.soft).
SOFT_RULE = "expiry:failed-soft"


def gave_up(action: str, status: str, reply: str, diagnosis: str,
            context: str, soft: bool = False) -> tuple[str, str] | None:
    """(rule, matched) when the report says the MTA gave up after retrying, else None.

    ``diagnosis`` and ``context`` are lowercased. Wording in the notification text alone
    does not count for a record of class 5: a report can list a refusal and an expiry.
    """
    if action in ("delivered", "relayed", "expanded"):
        return None
    code = status or reply
    phrases = GAVE_UP if action == "delayed" else _ON_FAILURE
    for text in (diagnosis, "" if code[:1] == "5" else context):
        if not text or _ANY.search(text) is None:
            continue
        for phrase in phrases:
            where = span(phrase.pattern, text)
            if where is not None:
                return f"expiry:{phrase.id}", text[where[0]:where[1]]
    if action == "failed" and code[:1] == "4":
        return FIELDS_RULE, code
    if action == "failed" and soft:
        return SOFT_RULE, reply or diagnosis
    return None


def without(text: str) -> str:
    """``text`` (lowercased) with the give-up wording taken out, for deciding the cause."""
    return _ANY.sub(" ", text)
