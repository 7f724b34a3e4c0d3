"""Sendmail 8 (sendmail.org, "V8") bounces, delay warnings and return receipts.

savemail.c writes a text part, a ``message/delivery-status`` part (when built with DSN, the
default since 8.7) and the returned message::

    Subject: Returned mail: see transcript for details
    From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>

    The original message was received at Mon, 2 Jun 2025 10:00:00 +0900
    from client.example.net [192.0.2.10]

       ----- The following addresses had permanent fatal errors -----
    <jane@example.org>
        (reason: 550 5.1.1 <jane@example.org>... User unknown)

       ----- Transcript of session follows -----
    ... while talking to mx.example.org.:
    >>> DATA
    <<< 550 5.1.1 <jane@example.org>... User unknown
    550 5.1.1 <jane@example.org>... User unknown
    <<< 503 5.0.0 Need RCPT (recipient)

The DSN part alone is not enough: its Diagnostic-Code holds only the first line of a
multi-line reply, is empty or an exit code ("X-Unix; 77") for local failures, and its Status is
sendmail's own reading ("5.1.1" for any RCPT rejection, "4.4.7" once the queue gave up), while
the transcript shows the server's complete reply, its own status code and the command it
answered. Other lists: "transient non-fatal errors" (delay warnings, Subject "Warning: could
not send message for past 4 hours") and "successful delivery notifications". Sendmail without
DSN ends the text with "----- Original message follows -----" instead of MIME parts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bounceloop.core import rx
from bounceloop.core.status import find_enhanced
from bounceloop.parsing import dsn
from bounceloop.parsing.detectors import _textdsn, _transcript
from bounceloop.parsing.detectors._common import (
    recipient_from_original,
    search_address,
)
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail
from bounceloop.parsing.once import Once

NAME = "sendmail"

# savemail.c: the Subject is one of these (older 8.x put the error after "Returned mail: ").
_SUBJECTS = ("returned mail:", "warning: could not send message", "postmaster notify:",
             "postmaster warning:", "return receipt")
# savemail.c: Auto-Submitted: auto-generated (failure|warning-timeout|postmaster-...|...)
_AUTO_SUBMITTED = rx.compile(
    r"auto-generated \((?:failure|warning-timeout|postmaster-notification|postmaster-warning"
    r"|return-receipt)\)", re.I)
_ORIGINAL_MARKERS = (
    "----- original message follows -----",
    "----- message header follows -----",
    "----- no message was collected -----",
    "----- unsent message follows -----",
    "content-type: message/rfc822",
    "content-type: text/rfc822-headers",
)
_TRANSCRIPT = "----- transcript of session follows -----"
# A list's heading, "^\s*-+\s*the following addresses had ([a-z -]+?)\s*-+\s*$" (re.I | re.M),
# found by _list_heads(): as one pattern it read from each line of a run of blank lines to
# the end of the run, and tried the closing dashes at every character of a run of "- - -"
# (quadratic).
_LIST_HEAD = rx.compile(r"^[^\S\n]*-+\s*the following addresses had ", re.I | re.M)
_KIND = rx.compile(r"[a-z -]*", re.I)
_SPACE = rx.compile(r"\s*")
_DASHES = rx.compile(r"-*")
_LIST_ACTION = {
    "permanent fatal errors": "failed",
    "transient non-fatal errors": "delayed",
    "successful delivery notifications": "delivered",
}
# "(reason: ...)" or "(expanded from: ...)", the closing parenthesis optional: _note() takes
# it and the blanks off the text ("(.*?)\)?\s*$" retried the end at each character).
_NOTE = rx.compile(r"^\s*\((reason|expanded from):\s*([^\n]*)(?:\n\s*)?\Z", re.I)


@dataclass(slots=True)
class _Listed:
    address: str
    action: str
    reason: str = ""
    alias: str = ""


def match(mail: Mail) -> bool:
    if not (mail.subject.lower().lstrip().startswith(_SUBJECTS)
            or _AUTO_SUBMITTED.search(mail.header("Auto-Submitted"))):
        return False
    head = mail.body[:3000].lower()
    if "the original message was received at" not in head:
        return False
    return _TRANSCRIPT in head or any(
        f"the following addresses had {kind}" in head for kind in _LIST_ACTION)


def inquire(mail: Mail) -> list[Fact]:
    notice, dsn_text = _textdsn.report_and_notice(mail, _ORIGINAL_MARKERS)
    listed = _lists(notice)
    low = notice.lower()
    at = low.find(_TRANSCRIPT)
    transcript = _transcript.read(notice[notice.find("\n", at) + 1:] if at >= 0 else "")

    _, facts = dsn.facts(dsn_text) if dsn_text else ({}, [])
    facts = [f for f in facts if f.recipient or f.alias]
    if not facts:
        facts = [Fact(recipient=x.address, action=x.action, alias=x.alias) for x in listed]
    if not facts:
        # No list, no DSN: the recipients are those the transcript gives a verdict for.
        seen: set[str] = set()
        for e in transcript.entries:
            if "@" in e.address and e.address.lower() not in seen:
                seen.add(e.address.lower())
                facts.append(Fact(recipient=e.address))
    if not facts:
        rcpt = recipient_from_original(mail)
        if not rcpt:
            return []
        facts = [Fact(recipient=rcpt)]

    warning = mail.subject.lower().lstrip().startswith(("warning:", "postmaster warning:"))
    first_listed: dict[str, int] = {}
    for i, x in enumerate(listed):
        first_listed.setdefault(x.address.lower(), i)
    enhanced = Once(_enhanced)
    for i, fact in enumerate(facts):
        entry = _listed_for(fact, listed, first_listed, i, len(facts))
        if entry is not None:
            if not _full_address(fact.recipient) and _full_address(entry.address):
                # Sendmail writes a route address or a bare local part into Final-Recipient
                # now and then ("@mx.example.org"); its list has the address as given.
                fact.recipient = entry.address
            fact.action = fact.action or entry.action
            # "(expanded from: <alias>)" is the address the sender wrote.
            fact.alias = entry.alias or fact.alias
        fact.action = fact.action or ("delayed" if warning else "failed")
        _explain(fact, transcript, entry, enhanced)
        fact.date = fact.date or mail.header("Date")
    return facts


def _explain(fact: Fact, transcript: _transcript.Transcript, listed: _Listed | None,
             enhanced: Callable[[tuple[str, str]], str]) -> None:
    """Diagnosis, command and codes for one recipient, the transcript first (``enhanced``:
    :func:`_enhanced`, once per text: recipients share the session's replies)."""
    names = [fact.recipient, fact.alias, fact.original_recipient]
    if listed is not None:
        names += [listed.address, listed.alias]
    found = _transcript.finding(transcript, *names)
    stated = fact.diagnosis
    if found.from_server:
        fact.diagnosis = found.diagnosis
        fact.command = found.command
        fact.reply_code = found.reply_code
        fact.remote_mta = found.remote_mta or fact.remote_mta
    elif found.diagnosis:
        # Sendmail's verdict line for this recipient: the Diagnostic-Code of a local failure
        # is only its short form ("550 Host unknown" for "550 5.1.2 Host unknown (Name
        # server: example.org: host not found)") or an exit code.
        fact.diagnosis = found.diagnosis
    elif _meaningful(stated):
        pass
    elif listed is not None and listed.reason:
        fact.diagnosis = listed.reason
    elif transcript.general:
        fact.diagnosis = transcript.general_text()


def _enhanced(text_and_class: tuple[str, str]) -> str:
    return find_enhanced(*text_and_class)


_WORDY = rx.compile(r"[A-Za-z]{2}")


def _meaningful(text: str) -> bool:
    """A Diagnostic-Code worth keeping: not empty and not a bare exit code ("X-Unix; 77")."""
    return bool(_WORDY.search(text))


def _full_address(addr: str) -> bool:
    local, at, domain = addr.strip("<>").rpartition("@")
    return bool(at and local and domain)


def _lists(notice: str) -> list[_Listed]:
    """The "following addresses had ..." lists: address lines, then indented notes."""
    out: list[_Listed] = []
    heads = _list_heads(notice)
    for n, (kind, _, head_end) in enumerate(heads):
        action = _LIST_ACTION.get(kind.lower().strip(), "failed")
        end = heads[n + 1][1] if n + 1 < len(heads) else len(notice)
        for line in notice[head_end:end].split("\n"):
            if not line.strip():
                if out and out[-1].action == action:
                    break
                continue
            if line.strip().startswith("-----"):
                break
            note = _NOTE.match(line)
            if note and out:
                text = _note(note.group(2))
                if note.group(1).lower() == "reason":
                    out[-1].reason = text.strip()
                else:
                    out[-1].alias = _address(text)
                continue
            if line[:1] in (" ", "\t"):
                continue
            # "jane@example.org  (successfully delivered to mailbox)"
            out.append(_Listed(address=_address(line.split("  (")[0]), action=action))
    return [x for x in out if x.address]


def _note(text: str) -> str:
    """A note's text without its closing parenthesis and the blanks around it."""
    text = text.rstrip()
    return text[:-1] if text.endswith(")") else text


def _list_heads(notice: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of each list heading, as the one-pattern heading matched.

    After "the following addresses had " comes the kind, the shortest run of [a-z -] that
    closing dashes follow: white space, dashes, white space to a line end. Inside the run
    they can only be its last dashes (then spaces to its end); after it, the first non-blank
    character must start the dashes. The heading ends at the line end after them (the last
    line break of the blanks that follow, or the end of the text).
    """
    heads: list[tuple[str, int, int]] = []
    pos = 0
    while (m := _LIST_HEAD.search(notice, pos)) is not None:
        found = _kind(notice, m.end())
        if found is None:
            pos = m.start() + 1
            continue
        kind_end, end = found
        heads.append((notice[m.end():kind_end], m.start(), end))
        pos = end
    return heads


def _kind(text: str, start: int) -> tuple[int, int] | None:
    """(end of the kind, end of the heading) for a kind starting at ``start``, or None."""
    run_end = _KIND.match(text, start).end()  # type: ignore[union-attr]
    run = text[start:run_end]
    spaced = len(run.rstrip(" "))  # the run without its final spaces
    dashed = len(run[:spaced].rstrip("-"))  # ... and without the dashes before them
    before_dashes = len(run[:dashed].rstrip(" "))
    after_run = _SPACE.match(text, run_end).end()  # type: ignore[union-attr]
    candidates: list[tuple[int, int]] = []
    if dashed < spaced:
        # The run's last dashes close it, if a line end follows them and their spaces.
        line_end = _line_end(text, run_end, after_run)
        if line_end is not None and spaced > 1:
            candidates.append((max(before_dashes, 1), line_end))
    if text.startswith("-", after_run):
        # Dashes after the run (past blanks the run does not hold: tabs, line breaks).
        dashes_end = _DASHES.match(text, after_run).end()  # type: ignore[union-attr]
        line_end = _line_end(text, dashes_end,
                             _SPACE.match(text, dashes_end).end())  # type: ignore[union-attr]
        if line_end is not None and run_end > start:
            candidates.append((max(spaced, 1), line_end))
    if not candidates:
        return None
    kind, end = min(candidates)
    return start + kind, end


def _line_end(text: str, blank_start: int, blank_end: int) -> int | None:
    """Where "\\s*$" (re.M) ends over the blanks text[blank_start:blank_end], else None."""
    if blank_end == len(text):
        return blank_end
    newline = text.rfind("\n", blank_start, blank_end)
    return newline if newline >= 0 else None


def _address(text: str) -> str:
    m = search_address(text)
    return m.group(0) if m else text.strip().strip("<>").strip()


def _listed_for(fact: Fact, listed: list[_Listed], first: dict[str, int], i: int,
                n: int) -> _Listed | None:
    """The first listed address of the fact's names (``first``: address -> its first place),
    else the i-th of as many."""
    names = {a.lower().strip("<>") for a in (fact.recipient, fact.alias, fact.original_recipient)
             if a}
    found = [first[name] for name in names if name in first]
    if found:
        return listed[min(found)]
    # Same count and order in both (sendmail writes both from its queue in one order).
    if len(listed) == n:
        return listed[i]
    return None
