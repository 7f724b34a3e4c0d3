"""Gmail (and Google Workspace mail) bounces from ``mailer-daemon@googlemail.com``.

Two generations, both with Subject "Delivery Status Notification (Failure)" or "(Delay)".

Up to about 2017, plain text, the remote reply inside Google's explanation::

    Delivery to the following recipient failed permanently:

         jane@example.org

    Technical details of permanent failure:
    Google tried to deliver your message, but it was rejected by the server for the
    recipient domain example.org by mx.example.org. [192.0.2.25].

    The error that the other server returned was:
    550 5.1.1 <jane@example.org>... User unknown

    ----- Original message -----

Older still (2010) the reply ends with Gmail's SMTP client state, "... Access denied
(state 13).". Delay warnings say "Delivery to the following recipient has been delayed:" and
"Technical details of temporary failure:".

Since then, ``multipart/report`` with an RFC 3464 part, a text part headed "** Address not
found **", "** Message blocked **", "** Delivery incomplete **"... and the reply after
"The response was:" / "The response from the remote server was:". The report part is read;
the text fills in what it lacks. (A report part left empty is googleworkspace's format;
Google Groups' refusals are googlegroups'.)
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.detectors._common import ADDRESS, attach_original, cut, subject_starts
from bounceloop.parsing.detectors._providers import daemon_from, host_name, report_facts, tidy_hosts
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail
from bounceloop.parsing.once import Once

NAME = "gmail"

_DOMAINS = ("googlemail.com", "gmail.com", "google.com")
_ORIGINAL_MARKERS = ("----- original message -----", "----- message header follows -----")

# "Delivery to the following recipient(s) failed permanently:", "... has been delayed:",
# the 2008-era "Delivery to the following recipients failed."
_LIST_START = rx.compile(
    r"^[^\S\n]*delivery to the following recipients? (?:(failed)|(has been delayed|is delayed))"
    r"[^\n]*$",
    re.I | re.M,
)
_DETAILS = rx.compile(r"^[^\S\n]*technical details of (?:permanent|temporary) failure:\s*",
                      re.I | re.M)
_RETURNED = rx.compile(r"the error that the other server returned was:\s*", re.I)
_BY_HOST = rx.compile(r"\bby ([\w\-]+(?:\.[\w\-]+)+)\.? \[([\d.:a-fA-F]+)\]")
# Connection failures list each host tried: "[(0) mx.example.org. [192.0.2.1]:25: socket
# error]" (2014) or "[mx.example.org 192.0.2.1: timed out]" (2016 on).
_TRIED_HOST = rx.compile(
    r"\[(?:\(\d+\) )?([\w\-]+(?:\.[\w\-]+)+?)\.? \[?[\d.:a-fA-F]+\]?(?::\d+)?: ")
# Gmail's SMTP client state in the 2010 wording. Observed: 14 after RCPT ("User unknown",
# "Mailbox full"), 15/17/18 after DATA ("SPF unauthorized", "Header error").
_STATE = rx.compile(r"\(state (\d+)\)\.?", re.I)
_STATE_COMMAND = {"14": "RCPT", "15": "DATA", "17": "DATA", "18": "DATA"}
# New format: the reply after "The response was:" (or "... from the remote server was:").
_RESPONSE = rx.compile(r"^[^\S\n]*the response (?:from the remote server )?was:\s*$",
                       re.I | re.M)


def match(mail: Mail) -> bool:
    if not daemon_from(mail, *_DOMAINS):
        return False
    return subject_starts(mail, "delivery status notification", "delivery failure",
                          "undeliverable", "returned mail") or bool(mail.dsn)


def inquire(mail: Mail) -> list[Fact]:
    facts = report_facts(mail)
    if facts:
        response = _response(mail.body)
        tried_host = Once(_tried_host)  # the response is given to every recipient: read once
        for fact in facts:
            if not fact.diagnosis and response:
                fact.diagnosis = response
            if not fact.remote_mta:
                fact.remote_mta = tried_host(fact.diagnosis)
            fact.date = fact.date or mail.header("Date")
        tidy_hosts(facts)
        return facts
    return _plain(mail) or _new_without_report(mail)


def _response(body: str) -> str:
    """The reply quoted after "The response was:" in the new-format text part."""
    m = _RESPONSE.search(body)
    if m is None:
        return ""
    rest = body[m.end():].lstrip("\n")
    para = re.split(r"\n\s*\n", rest, maxsplit=1)[0]
    return " ".join(line.strip() for line in para.split("\n") if line.strip())


def _new_without_report(mail: Mail) -> list[Fact]:
    """A new-format notice whose report part is missing: X-Failed-Recipients and the reply."""
    response = _response(mail.body)
    if not response:
        return []
    recipients = [a.strip() for a in mail.header("X-Failed-Recipients").split(",") if a.strip()]
    return [Fact(recipient=r, action="failed", diagnosis=response, date=mail.header("Date"))
            for r in recipients]


def _plain(mail: Mail) -> list[Fact]:
    notice, original = cut(mail.body, _ORIGINAL_MARKERS)
    start = _LIST_START.search(notice)
    if start is None:
        return []
    attach_original(mail, original)
    delayed = bool(start.group(2))
    recipients: list[str] = []
    for line in notice[start.end():].split("\n"):
        stripped = line.strip()
        if not stripped:
            if recipients:
                break
            continue
        addr = ADDRESS.fullmatch(stripped.strip("<>"))
        if addr is None:
            break
        recipients.append(addr.group(0))
    if not recipients:
        recipients = [a.strip() for a in mail.header("X-Failed-Recipients").split(",")
                      if a.strip()]
    if not recipients:
        return []
    details = _DETAILS.search(notice)
    text = notice[details.end():] if details else ""
    diagnosis, remote, command = _explain(text)
    return [
        Fact(recipient=rcpt, action="delayed" if delayed else "failed", diagnosis=diagnosis,
             remote_mta=remote, command=command, date=mail.header("Date"))
        for rcpt in recipients
    ]


def _tried_host(text: str) -> str:
    m = _TRIED_HOST.search(text)
    return host_name(m.group(1)) if m else ""


def _explain(text: str) -> tuple[str, str, str]:
    """(diagnosis, remote host, command) from the "Technical details" text."""
    text = " ".join(text.split())
    host = _BY_HOST.search(text)
    remote = host_name(host.group(1)) if host else _tried_host(text)
    returned = _RETURNED.search(text)
    # Google's own sentence ("Google tried to deliver your message, but it was rejected by
    # the recipient domain...") says nothing the remote reply does not; keep the reply alone
    # so that its words, not Google's, are classified.
    diagnosis = text[returned.end():].strip() if returned else text.strip()
    command = ""
    state = _STATE.search(diagnosis)
    if state:
        command = _STATE_COMMAND.get(state.group(1), "")
    return diagnosis, remote, command
