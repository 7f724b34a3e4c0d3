"""Microsoft Exchange 5.5 to 2003: the report of the Internet Mail Service and its successors.

Plain text (often with the original message attached as ``message/rfc822``), headed by a
summary of the original, then one entry per recipient::

    Your message

      To:      jane@example.org
      Subject: Quarterly figures
      Sent:    Thu, 29 Apr 2004 10:00:00 +0200

    did not reach the following recipient(s):

    jane@example.org on Thu, 29 Apr 2004 10:00:05 +0200
        The recipient name is not recognized
        The MTS-ID of the original message is: c=us;a= ;p=example;l=HOST0404290800ABCD
        MSEXCH:IMS:Example:Site:HOST 0 (000C05A6) Unknown Recipient

The entry is "<address> on <date>" (or "Display Name (SMTP:address) on <date>"), then indented
explanation lines; the last names the Exchange component and its error code with its text
("(000C05A6) Unknown Recipient"). The MTS-ID line is X.400 bookkeeping, and its value wraps
onto a line starting with ";l=". Exchange 2000/2003 word the list "The following
recipient(s) cannot be reached:" and end an entry with the remote server and the enhanced
status, "<mx.example.org #5.1.1>"; their report usually has an RFC 3464 part too, which then
states the recipients and status while the entry explains them. The IMS error codes with a
single meaning ("000C05A6" Unknown Recipient) state the reason: Exchange resolved the name in
its own directory, so no SMTP command gives the words their context.

The report is recognised by the headers Exchange puts on it: ``X-MS-Embedded-Report``,
``X-Mailer: Internet Mail Service (5.5.2653.19)`` (or "Microsoft Exchange Server Internet Mail
Connector"), ``X-MimeOLE: Produced By Microsoft Exchange V6.5``, or a Received line
"with Internet Mail Service (...)"; or, where a relay dropped those, by its body: the list's
opening line and an IMS error line ("MSEXCH:") after it, as Mailman 2's Exchange bouncer
(Mailman/Bouncers/Exchange.py) knows the report.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import first_address
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "exchange2003"

_LIST_START = rx.compile(
    r"^[^\S\n]*(?:did not reach the following recipient\(s\)|"
    r"the following recipient\(s\) cannot be reached)\s*:\s*$",
    re.I | re.M,
)
# "jane@example.org on Thu, 29 Apr 2004 ..." / "Jane Doe (SMTP:jane@example.org) on 4/29/04 ..."
# is what "^\s*(.+?@.+?)\s+on\s+(?:\d|[A-Z][a-z]{2},)" matches; _entry() reads it in parts.
_LEADING = rx.compile(r"\s*")
_ON = rx.compile(r"\s+on\s+(?:\d|[A-Z][a-z]{2},)")
# _ON where a run of white space starts: tried at every space of a long run, _ON would read
# the rest of the run each time.
_ON_AT_RUN = rx.compile(r"(?<!\s)" + _ON.pattern)
_MTS_ID = rx.compile(r"^\s*the mts-id of the original message is:", re.I)
# "<mx.example.org #5.1.1>" closing an Exchange 2000/2003 entry: the server and the status.
_HOST_STATUS = rx.compile(r"<([\w.\-]+)\s+#([245]\.\d{1,3}\.\d{1,3})(?:[^>]*)>")
# The IMS error code in "MSEXCH:IMS:... 0 (000C05A6) Unknown Recipient". Exchange resolved
# the recipient in its own directory, with no SMTP dialogue to name a command, so the code is
# the only statement of the cause; only codes with one meaning are mapped.
# "MSEXCH:\S.*?\(([0-9A-F]{8})\)" read in two steps by _msexch_code(): as one pattern it reads
# from every "MSEXCH:" to the end of the line when no code follows (quadratic).
_MSEXCH = rx.compile(r"MSEXCH:\S")
_CODE = rx.compile(r"\(([0-9A-F]{8})\)")
_MSEXCH_REASONS = {
    "000C05A6": "userunknown",  # Unknown Recipient
    "00120270": "networkerror",  # Too Many Hops
}


def match(mail: Mail) -> bool:
    if mail.has("X-MS-Embedded-Report"):
        return True
    mailer = mail.header("X-Mailer")
    if mailer.startswith(("Internet Mail Service (",
                          "Microsoft Exchange Server Internet Mail Connector")):
        return True
    if mail.header("X-MimeOLE").startswith("Produced By Microsoft Exchange"):
        return True
    if any(" with Internet Mail Service (" in r for r in mail.headers_all("Received")):
        return True
    if "MSEXCH:" not in mail.body:
        return False
    start = _LIST_START.search(mail.body)
    return start is not None and mail.body.find("MSEXCH:", start.end()) >= 0


def inquire(mail: Mail) -> list[Fact]:
    m = _LIST_START.search(mail.body)
    if m is None:
        return []
    facts: list[Fact] = []
    current: Fact | None = None
    lines: list[str] = []
    in_mts_id = False
    after_blank = False

    def close() -> None:
        if current is not None:
            current.diagnosis = " ".join(lines)

    for line in mail.body[m.end():].split("\n"):
        stripped = line.strip()
        if not stripped:
            after_blank = bool(facts)
            continue
        entry = _entry(line)
        if after_blank and not entry and not line[:1].isspace():
            # Entries are separated by blank lines at most; unindented text after one is
            # the end of the list.
            break
        after_blank = False
        if entry:
            addr = first_address(entry)
            if addr:
                close()
                current = Fact(recipient=addr, action="failed")
                facts.append(current)
                lines = []
                in_mts_id = False
                continue
        if current is None:
            continue
        if _MTS_ID.match(line):
            in_mts_id = True
            continue
        if in_mts_id and stripped.startswith(";"):
            # The MTS-ID value wrapped onto its own line.
            continue
        in_mts_id = False
        lines.append(stripped)
    close()
    for fact in facts:
        hs = _HOST_STATUS.search(fact.diagnosis)
        if hs:
            fact.remote_mta = hs.group(1)
            fact.status = hs.group(2)
        code = _msexch_code(fact.diagnosis)
        if code:
            fact.reason = _MSEXCH_REASONS.get(code, "")
        fact.date = mail.header("Date")
    return _with_report(mail, facts)


def _entry(line: str) -> str:
    """The "<address> on <date>" part of an entry line before " on", else "".

    The part is the shortest one that has an "@" after its first character, a character
    after that "@", and " on <date>" after it: it ends where " on <date>" first follows
    (inside a run of spaces, where that run starts, or two characters after the "@" if that
    is later), within its line. Its start gives one character of leading white space back
    when the first other character is the "@".
    """
    lead = _LEADING.match(line).end()  # type: ignore[union-attr]  # \s* always matches
    starts = [lead]
    if 0 < lead < len(line) and line[lead] == "@" and line[lead - 1] != "\n":
        starts.append(lead - 1)
    for start in starts:
        limit = line.find("\n", start)
        limit = len(line) if limit < 0 else limit
        at = line.find("@", start + 1, limit)
        if at < 0 or at + 2 > limit:
            continue
        on = _ON.match(line, at + 2) or _ON_AT_RUN.search(line, at + 2)
        if on is not None and on.start() <= limit:
            return line[start:on.start()]
    return ""


def _msexch_code(text: str) -> str:
    """The IMS error code after the first "MSEXCH:" on a line that has one after it."""
    pos = 0
    while (m := _MSEXCH.search(text, pos)) is not None:
        end = text.find("\n", m.end())
        end = len(text) if end < 0 else end
        code = _CODE.search(text, m.end(), end)
        if code is not None:
            return code.group(1)
        pos = end
    return ""


def _with_report(mail: Mail, facts: list[Fact]) -> list[Fact]:
    """Exchange 2000/2003 may attach an RFC 3464 part too: it states the status; the text
    entry explains it (its Diagnostic-Code is often missing)."""
    if not mail.dsn:
        return facts
    _, stated = dsn.facts(mail.dsn)
    stated = [f for f in stated if f.recipient]
    if not stated:
        return facts
    by_rcpt = {f.recipient.lower(): f for f in facts}
    for fact in stated:
        text = by_rcpt.get(fact.recipient.lower())
        if text is None:
            continue
        fact.diagnosis = fact.diagnosis or text.diagnosis
        fact.remote_mta = fact.remote_mta or text.remote_mta
        fact.status = fact.status or text.status
        fact.reason = fact.reason or text.reason
    return stated
