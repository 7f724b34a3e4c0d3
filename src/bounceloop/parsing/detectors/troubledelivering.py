"""The "We had trouble delivering your message" notice (Sisimai's "Unknown MTA #6", lhost-x6).

The writer does not name itself (its Received lines are anonymised in the known sample; the
returned headers carry Commtouch/Cloudmark filter fields, so it is a hosted filtering relay).
Subject "There was an error sending your mail", one sentence per group of addresses, and
the returned headers as a text/plain attachment "mailheaders-<n>.txt"::

    We had trouble delivering your message. Full details follow:

    Subject: 'Quarterly report'
    Date: 'Mon, 1 Jun 2020 10:00:00 +0000'

    1 error(s):

    The following recipients returned permanent errors: jane@example.net. Reason: SMTP
    Server <192.0.2.7> refused to accept your message (RCPT TO), with the following error
    message: [550 5.1.1 User unknown]

    The attachment contains the original mail headers. Please verify ...
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.detectors._common import attach_original, cut, find_addresses
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "troubledelivering"

_INTRO = "We had trouble delivering your message"
# One paragraph per error; a long paragraph may be wrapped. What the pattern
# "^The following recipients? returned \w+ errors?:\s*(.*?)\.?\s+Reason:\s*(.*?)
# (?=\n[ \t]*\n|\Z)" (re.M | re.I | re.S) matches is read in steps by _errors(): as one
# pattern it read from each heading to the end of the text when no "Reason:" follows, and
# retried "\s+Reason:" at every character of a run of spaces (quadratic).
_HEADING = rx.compile(r"^The following recipients? returned \w+ errors?:\s*", re.M | re.I)
# Where "\.?\s+Reason:" can first match: at a full stop, or where a run of spaces starts
# (inside a run it would match only if it matches at the run's start, which comes first).
_REASON = rx.compile(r"(?:\.|(?<!\s))\s+Reason:\s*", re.I)
_REASON_WORD = rx.compile(r"Reason:\s*", re.I)
_PARAGRAPH_END = rx.compile(r"\n[ \t]*\n")
_SERVER = rx.compile(r"SMTP Server <([^<>]+)> refused to accept your message \(([A-Z ]+)\)")
# "with the following error message:\s*\[(.*)\]\s*$" (re.S), read by _reply(): as a pattern
# it read from every such phrase to the end of the text and back (quadratic).
_REPLY = rx.compile(r"with the following error message:\s*\[")
_COMMAND = {"MAIL FROM": "MAIL", "RCPT TO": "RCPT", "DATA": "DATA", "HELO": "HELO",
            "EHLO": "EHLO", "CONNECT": "CONN", "STARTTLS": "STARTTLS"}


def match(mail: Mail) -> bool:
    return (mail.subject.strip() == "There was an error sending your mail"
            or mail.body[:300].lstrip().startswith(_INTRO))


def inquire(mail: Mail) -> list[Fact]:
    notice, original = cut(mail.body, ("the attachment contains the original mail headers",))
    attach_original(mail, original)
    facts: list[Fact] = []
    for who, said in _errors(notice):
        reason = " ".join(said.split())
        reply = _reply(reason)
        server = _SERVER.search(reason)
        for addr in find_addresses(who):
            # The notice is sent when the relay has given up ("permanent errors").
            fact = Fact(recipient=addr, action="failed", date=mail.header("Date"))
            # The bracketed text is the remote server's own reply; keep the whole reason
            # when there is none (a local or DNS error).
            fact.diagnosis = reply.strip() if reply is not None else reason
            if server:
                fact.remote_mta = server.group(1)
                fact.command = _COMMAND.get(server.group(2).strip().upper(), "")
            facts.append(fact)
    return facts


def _errors(notice: str) -> list[tuple[str, str]]:
    """(who, reason) of each error paragraph: the text after the heading up to "Reason:"
    (a full stop before it left out), and what follows up to a blank line or the end."""
    out: list[tuple[str, str]] = []
    pos = 0
    while (heading := _HEADING.search(notice, pos)) is not None:
        who = heading.end()
        reason = _REASON.search(notice, who)
        if reason is None and notice[who - 1].isspace():
            # "errors: Reason:": the space before "Reason:" is given back by the heading.
            reason = _REASON_WORD.match(notice, who)
            who = reason.start() if reason is not None else who
        if reason is None:
            break  # no later heading has a "Reason:" after it either
        start = reason.end()
        end_m = _PARAGRAPH_END.search(notice, start)
        end = len(notice) if end_m is None else end_m.start()
        out.append((notice[who:reason.start()], notice[start:end]))
        pos = end
    return out


def _reply(reason: str) -> str | None:
    """The bracketed reply after "with the following error message:", which runs to the
    last "]" of the text (only blanks after it), else None."""
    end = len(reason.rstrip())
    if not reason.endswith("]", 0, end):
        return None
    m = _REPLY.search(reason)
    # A later phrase has its "[" later still: only the first can close before the end.
    return reason[m.end():end - 1] if m is not None and m.end() <= end - 1 else None
