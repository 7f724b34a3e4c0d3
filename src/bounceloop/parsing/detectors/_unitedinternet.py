"""The bounce of United Internet's mail system (GMX, mail.com, 1&1/IONOS), shared by gmx
and einsundeins.

Their MTA ("Nemesis", seen in the Received lines) words its reports after Exim's, but lays
out the entries its own way, then gives only the original headers::

    This message was created automatically by mail delivery software.

    A message that you sent could not be delivered to one or more of
    its recipients. This is a permanent error. The following address
    failed:

    "jane@example.org":
    SMTP error from remote server after RCPT command:
    host: mx.example.org
    5.1.1 <jane@example.org>... User Unknown

    --- The header of the original message is following. ---

Other entry shapes seen::

    jane@example.org:
    SMTP error from remote server for TEXT command, host: mx.example.org (192.0.2.25)
    reason: 550 5.2.0 Message rejected

    <jane@example.org>

    Reason:
    delivery retry timeout exceeded

    jane@example.org

    For the following reason:

    Mail size limit exceeded. For explanation visit http://postmaster.1and1.com/...

"TEXT command" is their name for the message text, that is, the answer after DATA.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.command import canonical
from bounceloop.parsing.detectors._common import ADDRESS, attach_original, cut
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

INTRO = "created automatically by mail delivery software"
_ORIGINAL_MARKERS = (
    "--- the header of the original message is following",
    "--- the original message is following",
)
_LIST_START = rx.compile(r"(?:following address(?:\(es\)|es)?\s+failed:|"
                         r"could not be delivered to one or more of its recipients)", re.I)
_COMMAND = rx.compile(r"\b(?:after|for)\s+(?:the\s+)?([A-Za-z]+(?:\s+[A-Z]+)?)\s+command\b", re.I)
_HOST = rx.compile(r"\bhost:\s*([\w.\-]+)(?:\s*\(([\d.:a-fA-F]+)\))?", re.I)
_INLINE_REASON = rx.compile(r"\breason:\s*(\S.*)$", re.I | re.S)
_REASON_HEAD = rx.compile(r"^(?:for the following reason|reason)\s*:\s*$", re.I)


def is_report(mail: Mail) -> bool:
    return INTRO in mail.body[:1000].lower()


def inquire(mail: Mail) -> list[Fact]:
    notice, original = cut(mail.body, _ORIGINAL_MARKERS)
    attach_original(mail, original)
    start = _LIST_START.search(notice)
    if start is None:
        return []
    entries: list[tuple[str, list[str]]] = []
    for line in notice[start.end():].split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        candidate = stripped.rstrip(":").strip().strip("\"'<>")
        if ADDRESS.fullmatch(candidate):
            entries.append((candidate, []))
        elif entries:
            entries[-1][1].append(stripped)
    # Addresses listed together with no text between them failed for the one reason under
    # the last of them ("<a@...>", "<b@...>", "Reason:", "delivery retry timeout exceeded").
    shared: list[str] = []
    for _, lines in reversed(entries):
        if lines:
            shared = lines
        else:
            lines.extend(shared)
    facts = [_fact(rcpt, lines) for rcpt, lines in entries]
    for fact in facts:
        fact.date = mail.header("Date")
    return facts


def _fact(recipient: str, lines: list[str]) -> Fact:
    fact = Fact(recipient=recipient, action="failed")
    text = " ".join(lines)
    cmd = _COMMAND.search(text)
    if cmd:
        fact.command = canonical(cmd.group(1))
    host = _HOST.search(text)
    if host:
        fact.remote_mta = host.group(1)
    inline = _INLINE_REASON.search(text)
    if inline and host and inline.start() > host.start():
        # "... host: mx (192.0.2.25) reason: 550 5.2.0 ...": the reply follows "reason:".
        fact.diagnosis = inline.group(1)
        return fact
    # The reply is on the lines after "host:", or after a "Reason:" heading line.
    for i, line in enumerate(lines):
        if _REASON_HEAD.match(line) or (host and line.lower().startswith("host:")):
            rest = lines[i + 1:]
            if rest:
                fact.diagnosis = " ".join(rest)
                return fact
    fact.diagnosis = text
    return fact
