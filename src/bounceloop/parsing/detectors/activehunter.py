"""Active!hunter (QUALITIA's mail filtering gateway) bounces.

Active!hunter writes a Sendmail-style text in a multipart/report whose boundary names the
product ("----=_Active!Hunter_..."), with its own X-AHMAILID header and the subject
"FAILURE NOTICE : <original subject>"::

      ----- The following addresses had permanent fatal errors -----

    >>> jane@example.net <jane@example.net>

      ----- Transcript of session follows -----
    550 5.1.1 <jane@example.net>: Recipient address rejected: User unknown

The transcript holds the remote replies; with several addresses a reply is given to the
address it names, or to every address when it names none.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.detectors._common import first_address, named_addresses, shared
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "activehunter"

_ADDRESS_LINE = rx.compile(r"^>>>\s*(.+)$")
# Sendmail's transcript marks what was sent with ">>> " and what came back with "<<< ".
_SENT = rx.compile(r"^>>>\s*(MAIL FROM|RCPT TO|DATA|EHLO|HELO)\b", re.I)


def match(mail: Mail) -> bool:
    if mail.has("X-AHMAILID"):
        return True
    ctype = " ".join(mail.headers_all("Content-Type"))
    return "Active!Hunter" in ctype and mail.subject.upper().startswith("FAILURE NOTICE")


def inquire(mail: Mail) -> list[Fact]:
    section = ""
    facts: list[Fact] = []
    transcript: list[str] = []
    for raw in mail.body.split("\n"):
        line = raw.strip()
        if not line:
            continue
        sec = _section(line)
        if sec is not None:
            section = sec.lower()
            continue
        if "addresses had" in section:
            m = _ADDRESS_LINE.match(line)
            addr = first_address(m.group(1)) if m else ""
            if addr:
                # "had transient non-fatal errors" is Sendmail's wording for a delay notice.
                action = "delayed" if "transient" in section else "failed"
                facts.append(Fact(recipient=addr, action=action, date=mail.header("Date")))
        elif "transcript" in section:
            transcript.append(line)
    if not facts:
        return []
    # Transcript lines belong to the last address they named (the first listed one, when a
    # line names several); lines before any address (or a transcript naming none) belong to
    # every address.
    owned: dict[str, list[str]] = {}
    for fact in facts:
        owned.setdefault(fact.recipient.lower(), [])
    rank = {r: i for i, r in enumerate(owned)}
    common: list[str] = []
    owner = ""
    for line in transcript:
        named = [r for r in named_addresses(line) if r in rank]
        if named:
            owner = min(named, key=rank.__getitem__)
        (owned[owner] if owner else common).append(line)
    # Each text is read once: the shared lines for all, each recipient's lines for its facts.
    shared_words, shared_command = _said(common)
    shared_text = " ".join(shared_words)
    before_own = shared(shared_text, len(owned), len(mail.body))
    told: dict[str, tuple[str, str]] = {}
    for owner, lines in owned.items():
        words, command = _said(lines)
        if not shared_words:
            text = " ".join(words)
        elif not words:
            text = shared_text
        else:
            text = f"{before_own} {' '.join(words)}"
        told[owner] = (text, command or shared_command)
    for fact in facts:
        fact.diagnosis, command = told[fact.recipient.lower()]
        fact.command = command or fact.command
    return facts


def _said(lines: list[str]) -> tuple[list[str], str]:
    """(the server's words in ``lines``, the last command they show being sent)."""
    words = [t.lstrip("<").strip() for t in lines if not t.startswith(">>>")]
    command = ""
    for t in lines:
        sent = _SENT.match(t)
        if sent:
            command = sent.group(1).upper().split()[0]
    return words, command


def _section(line: str) -> str | None:
    """The title of a "----- title -----" line (stripped), else None.

    What ``^-----\\s*(.+?)\\s*-----$`` matched, read without it: that pattern tries its lazy
    group at each character of a long run of spaces and reads the rest of the run each time.
    """
    if len(line) < 11 or not line.startswith("-----") or not line.endswith("-----"):
        return None
    inner = line[5:-5]
    # All white space: the pattern's group is its last character.
    return inner.strip() or inner[-1]
