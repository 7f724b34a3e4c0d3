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
from dataclasses import dataclass

from bounceloop.core.status import find_enhanced
from bounceloop.parsing import dsn
from bounceloop.parsing.detectors import _textdsn, _transcript
from bounceloop.parsing.detectors._common import (
    ADDRESS,
    recipient_from_original,
)
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "sendmail"

# savemail.c: the Subject is one of these (older 8.x put the error after "Returned mail: ").
_SUBJECTS = ("returned mail:", "warning: could not send message", "postmaster notify:",
             "postmaster warning:", "return receipt")
# savemail.c: Auto-Submitted: auto-generated (failure|warning-timeout|postmaster-...|...)
_AUTO_SUBMITTED = re.compile(
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
_LIST_HEAD = re.compile(r"^\s*-+\s*the following addresses had ([a-z -]+?)\s*-+\s*$", re.I | re.M)
_LIST_ACTION = {
    "permanent fatal errors": "failed",
    "transient non-fatal errors": "delayed",
    "successful delivery notifications": "delivered",
}
_NOTE = re.compile(r"^\s*\((reason|expanded from):\s*(.*?)\)?\s*$", re.I)


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
        seen: list[str] = []
        for e in transcript.entries:
            if "@" in e.address and e.address.lower() not in seen:
                seen.append(e.address.lower())
                facts.append(Fact(recipient=e.address))
    if not facts:
        rcpt = recipient_from_original(mail)
        if not rcpt:
            return []
        facts = [Fact(recipient=rcpt)]

    warning = mail.subject.lower().lstrip().startswith(("warning:", "postmaster warning:"))
    for i, fact in enumerate(facts):
        entry = _listed_for(fact, listed, i, len(facts))
        if entry is not None:
            if not _full_address(fact.recipient) and _full_address(entry.address):
                # Sendmail writes a route address or a bare local part into Final-Recipient
                # now and then ("@mx.example.org"); its list has the address as given.
                fact.recipient = entry.address
            fact.action = fact.action or entry.action
            # "(expanded from: <alias>)" is the address the sender wrote.
            fact.alias = entry.alias or fact.alias
        fact.action = fact.action or ("delayed" if warning else "failed")
        _explain(fact, transcript, entry)
        fact.date = fact.date or mail.header("Date")
    return facts


def _explain(fact: Fact, transcript: _transcript.Transcript, listed: _Listed | None) -> None:
    """Diagnosis, command and codes for one recipient, the transcript first."""
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
        fact.diagnosis = " ".join(transcript.general)
    if found.from_server and fact.status:
        # The server's own enhanced code is more precise than sendmail's reading of the reply
        # code (Status 5.1.1 for "550 5.7.1 ... blacklisted", 4.4.7 for "450 4.7.1 ...").
        theirs = find_enhanced(fact.diagnosis, fact.status[:1])
        if theirs and theirs[0] == fact.status[0] and not theirs.endswith(".0.0"):
            fact.status = theirs


def _meaningful(text: str) -> bool:
    """A Diagnostic-Code worth keeping: not empty and not a bare exit code ("X-Unix; 77")."""
    return bool(re.search(r"[A-Za-z]{2}", text))


def _full_address(addr: str) -> bool:
    local, at, domain = addr.strip("<>").rpartition("@")
    return bool(at and local and domain)


def _lists(notice: str) -> list[_Listed]:
    """The "following addresses had ..." lists: address lines, then indented notes."""
    out: list[_Listed] = []
    heads = list(_LIST_HEAD.finditer(notice))
    for n, head in enumerate(heads):
        action = _LIST_ACTION.get(head.group(1).lower().strip(), "failed")
        end = heads[n + 1].start() if n + 1 < len(heads) else len(notice)
        for line in notice[head.end():end].split("\n"):
            if not line.strip():
                if out and out[-1].action == action:
                    break
                continue
            if line.strip().startswith("-----"):
                break
            note = _NOTE.match(line)
            if note and out:
                if note.group(1).lower() == "reason":
                    out[-1].reason = note.group(2).strip()
                else:
                    out[-1].alias = _address(note.group(2))
                continue
            if line[:1] in (" ", "\t"):
                continue
            # "jane@example.org  (successfully delivered to mailbox)"
            out.append(_Listed(address=_address(line.split("  (")[0]), action=action))
    return [x for x in out if x.address]


def _address(text: str) -> str:
    m = ADDRESS.search(text)
    return m.group(0) if m else text.strip().strip("<>").strip()


def _listed_for(fact: Fact, listed: list[_Listed], i: int, n: int) -> _Listed | None:
    names = {a.lower().strip("<>") for a in (fact.recipient, fact.alias, fact.original_recipient)
             if a}
    for x in listed:
        if x.address.lower() in names:
            return x
    # Same count and order in both (sendmail writes both from its queue in one order).
    if len(listed) == n:
        return listed[i]
    return None
