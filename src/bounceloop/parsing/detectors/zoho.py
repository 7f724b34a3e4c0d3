"""Zoho Mail bounces from ``mailer-daemon@mail.zoho.com``.

Plain text (in a ``multipart/mixed``), one line per recipient with the reply code and the
enhanced code each labelled ``ERROR_CODE :``, then the returned message's headers written
without a space after the colon::

    Subject: Undelivered Mail Returned to Sender

    This message was created automatically by mail delivery software.
    A message that you sent could not be delivered to one or more of its recipients. This
    is a permanent error.

    jane@example.org Invalid Address, ERROR_CODE :550, ERROR_CODE :5.1.1 <jane@example.org>...
    User unknown

    Received:from mail.zoho.com by mx.zohomail.com ...

Delay warnings ("Mail Delivery Status Notification (Delay)") are Sendmail-like::

    ----- The following addresses had fatal errors -----
    [Status: Error, Address: <jane@example.org>, ResponseCode 421, , Host not reachable.]

    Message will be retried for 4 more day(s)
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.detectors._common import ADDRESS, attach_original, subject_starts
from bounceloop.parsing.detectors._providers import daemon_from
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "zoho"

_DOMAINS = ("zoho.com", "zohomail.com", "zoho.eu", "zoho.in", "zoho.com.au", "zoho.jp")
_INTRO = rx.compile(r"^.*(?:could not be delivered to one or more of its\s+recipients|"
                    r"following addresses had (?:permanent )?fatal errors).*$", re.I | re.M)
_LINE = rx.compile(r"^(\S[^\s@]*@\S+)\s+(.*)$")
_ERROR_CODES = rx.compile(r"ERROR_CODE\s*:\s*([245]\d\d)\s*,\s*ERROR_CODE\s*:\s*"
                          r"([245]\.\d{1,3}\.\d{1,3})\s*", re.I)
_BRACKETED = rx.compile(r"\[Status:\s*(\w+),\s*Address:\s*<([^<>\s]+)>,\s*ResponseCode\s*"
                        r"(\d{3})?\s*,([^\]]*)\]", re.I)
# The returned message starts at its first header line ("Received:from ...").
_ORIGINAL = rx.compile(r"^(?:Received|Return-Path|Message-ID|From|Date):", re.I | re.M)


def match(mail: Mail) -> bool:
    return daemon_from(mail, *_DOMAINS) and subject_starts(
        mail, "undelivered mail", "mail delivery status notification", "delivery status")


def inquire(mail: Mail) -> list[Fact]:
    intro = _INTRO.search(mail.body)
    if intro is None:
        return []
    text = mail.body[intro.end():]
    original = _ORIGINAL.search(text)
    if original:
        attach_original(mail, text[original.start():])
        text = text[:original.start()]
    delayed = "will be retried" in text.lower() or "(delay)" in mail.subject.lower()
    facts = _bracketed(text) or _lines(text)
    for fact in facts:
        fact.action = "delayed" if delayed else "failed"
        fact.date = mail.header("Date")
    return facts


def _bracketed(text: str) -> list[Fact]:
    facts = []
    for m in _BRACKETED.finditer(text):
        diagnosis = m.group(4).strip(" ,")
        code = m.group(3) or ""
        facts.append(Fact(recipient=m.group(2), reply_code=code,
                          diagnosis=f"{code} {diagnosis}".strip()))
    return facts


def _lines(text: str) -> list[Fact]:
    """One fact per line starting with an address; other lines continue the one before."""
    facts: list[Fact] = []
    lines: list[list[str]] = []  # each fact's lines, joined at the end (not at each line)
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        m = _LINE.match(stripped)
        if m and ADDRESS.fullmatch(m.group(1).strip("<>")):
            facts.append(Fact(recipient=m.group(1).strip("<>")))
            lines.append([m.group(2)])
        elif facts:
            lines[-1].append(stripped)
    for fact, parts in zip(facts, lines, strict=True):
        fact.diagnosis = " ".join(parts)
    for fact in facts:
        codes = _ERROR_CODES.search(fact.diagnosis)
        if codes:
            # The format states both codes outright; the text after them is the reply's.
            # The label before them ("Invalid Address") is Zoho's for every permanent
            # failure, a full mailbox included, so it is left out of the diagnosis.
            fact.reply_code, fact.status = codes.group(1), codes.group(2)
            rest = fact.diagnosis[codes.end():].strip()
            fact.diagnosis = f"{fact.reply_code} {fact.status} {rest}".strip()
    return facts
