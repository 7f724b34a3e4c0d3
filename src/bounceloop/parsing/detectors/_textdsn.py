"""Delivery-status fields written into the text, when the MIME structure around them is lost.

Seen with Sendmail and Postfix bounces whose multipart header was dropped by a relay or a
mailbox converter: the text part, the ``message/delivery-status`` fields and the returned
message follow each other as plain text, sometimes with the old boundary and part header
lines still in between::

    ... notification text ...
    --B.1528523769/mx.example.org
    Content-Type: message/delivery-status

    Reporting-MTA: dns; mx.example.org
    Final-Recipient: RFC822; jane@example.org
    Action: failed
    ...
    --B.1528523769/mx.example.org
    Content-Type: message/rfc822

    Return-Path: <...>
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.detectors._common import attach_original, cut
from bounceloop.parsing.mail import Mail

_START = rx.compile(
    r"^(?:content-type:\s*message/delivery-status[^\S\n]*\n\s*)?"
    r"(?:reporting-mta|original-envelope-id|received-from-mta|arrival-date|final-recipient"
    r"|original-recipient)\s*:",
    re.I | re.M,
)
_FIELD = rx.compile(
    r"^(?:reporting-mta|dsn-gateway|received-from-mta|arrival-date|original-envelope-id"
    r"|final-recipient|original-recipient|x-actual-recipient|action|status|remote-mta"
    r"|diagnostic-code|last-attempt-date|final-log-id|will-retry-until|x-[\w-]+)\s*:",
    re.I,
)


def split(text: str) -> tuple[str, str, str]:
    """(text before the fields, the fields, text after them); ("text", "", "") if none."""
    m = _START.search(text)
    if m is None:
        return text, "", ""
    lines = text[m.start():].split("\n")
    if lines and lines[0].lower().startswith("content-type:"):
        lines = lines[1:]
    kept: list[str] = []
    for n, line in enumerate(lines):
        if not line.strip() or _FIELD.match(line) or (line[:1] in (" ", "\t") and kept):
            kept.append(line)
            continue
        rest = "\n".join(lines[n:])
        return text[:m.start()], "\n".join(kept).strip("\n"), _after_part_header(rest)
    return text[:m.start()], "\n".join(kept).strip("\n"), ""


_CONTENT_FIELD = rx.compile(r"content-[\w-]+\s*:", re.I)


def _after_part_header(rest: str) -> str:
    """Drop a left-over boundary line and part header before the returned message."""
    lines = rest.split("\n")
    i = 0
    if i < len(lines) and lines[i].startswith("--"):
        i += 1
        while i < len(lines) and lines[i].strip() and _CONTENT_FIELD.match(lines[i]):
            i += 1
    return "\n".join(lines[i:]).lstrip("\n")


def report_and_notice(mail: Mail, markers: tuple[str, ...]) -> tuple[str, str]:
    """(notification text, delivery-status text) of a Postfix or Sendmail bounce.

    The fields come from the report part, or from the text when the MIME structure was lost
    on the way; the returned message quoted after one of ``markers`` is attached to ``mail``.
    """
    notice, fields = mail.body, mail.dsn
    if not fields:
        notice, fields, rest = split(notice)
        attach_original(mail, rest)
    notice, original = cut(notice, markers)
    attach_original(mail, original)
    return notice, fields
