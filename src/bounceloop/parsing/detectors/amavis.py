"""amavisd-new (amavis.org): the content filter's own non-delivery notifications.

``multipart/report`` from ``"Content-filter at mx.example.net" <postmaster@...>``, its
subject naming the verdict ("Undeliverable mail, MTA-BLOCKED", "Considered UNSOLICITED BULK
EMAIL, apparently from you", "VIRUS (Eicar-Test-Signature) IN MAIL FROM YOU", "BANNED
contents from you (...)", "Bad header..."). The RFC 3464 part has the status and a short
Diagnostic-Code ("554 5.7.0 Reject, id=12345-01 - SPAM"); the text part, filled from
amavisd-new's templates, says what the checks found::

    A message from <john@example.net> to:
    -> jane@example.org

    was considered unsolicited bulk e-mail (UBE).
    ...
    Return-Path: <john@example.net>
    Subject: hello
    Duplicate header field: "From"

The findings (the UBE verdict, the virus or banned part, the header defects) are added to the
Diagnostic-Code so the reason can be read from them.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import facts_or_original
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "amavis"

# Template lines stating a finding. Header defects are amavisd-new's check_header_validity()
# wording; the others its notification templates'. The indentation is [^\S\n]*, not \s*: from
# each line of a run of blank lines, \s* would read the rest of the run (quadratic), to find
# the same finding the line that has it finds. After a label, "\s*:?\s+" had as many ways
# to split a run of spaces as the run is long, each tried; the two forms are taken apart.
_FINDINGS = rx.compile(
    r"^[^\S\n]*(?:was considered unsolicited bulk e-mail.*|"
    r"(?:virus|banned name|banned contents?(?: type)?)(?:\s*:\s+|\s+)\S.*|"
    r"(?:duplicate header field|improper use of control character|non-encoded 8-bit data|"
    r"missing required header field|header line longer than|improper folded header field|"
    r"header field syntax error|invalid header)\b.*)$",
    re.I | re.M,
)


def match(mail: Mail) -> bool:
    return mail.sender.lstrip().lstrip('"').lower().startswith("content-filter at ")


def inquire(mail: Mail) -> list[Fact]:
    if not mail.dsn:
        return []
    _, facts = dsn.facts(mail.dsn)
    facts = [f for f in facts if f.recipient or f.diagnosis]
    if not facts:
        return []
    findings = " ".join(m.group(0).strip() for m in _FINDINGS.finditer(mail.body))
    for fact in facts:
        if findings and findings not in fact.diagnosis:
            fact.diagnosis = f"{fact.diagnosis}; {findings}" if fact.diagnosis else findings
    return facts_or_original(mail, facts)
