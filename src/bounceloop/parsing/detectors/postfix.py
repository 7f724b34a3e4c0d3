"""Postfix (postfix.org) bounces, delay warnings and delivery reports.

bounce(8) writes a notification, an RFC 3464 part (Postfix 2.3+; older ones and some
"no DSN" setups send only text) and the returned message::

    Subject: Undelivered Mail Returned to Sender
    From: MAILER-DAEMON@mx.example.net (Mail Delivery System)

    This is the mail system at host mx.example.net.
    ...
                       The mail system

    <jane@example.org>: host mx.example.org[192.0.2.25] said: 550 5.1.1
        <jane@example.org>: Recipient address rejected: User unknown (in reply to
        RCPT TO command)

One entry per recipient: "<address>: text" or "<address> (expanded from <alias>): text",
wrapped with four spaces. The text says what happened, in the SMTP client's words
(smtp_proto.c, smtp_trouble.c, smtp_connect.c)::

    host H[A] said: REPLY (in reply to COMMAND command)    a rejection
    host H[A] refused to talk to me: REPLY                 greeting (or HELO/EHLO 421)
    connect to H[A]:25: Connection refused                 no connection
    lost connection with H[A] while sending RCPT TO        dropped
    conversation with H[A] timed out while receiving the initial server greeting

The text part is read even when the DSN part is there: only the text names the command, and
without DSN it is all there is. Older versions sign "This is the Postfix program at host";
the "Delayed Mail (still being retried)" warning adds a "THIS IS A WARNING ONLY" banner.
Templates can be localised (bounce_template_file), so the entries, not the prose, are read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.command import canonical
from bounceloop.parsing.detectors import _textdsn
from bounceloop.parsing.detectors._common import facts_or_original
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail
from bounceloop.parsing.once import Once

NAME = "postfix"

# bounce_template.c defaults (failure, delay, success, verify) and the postmaster copies.
_SUBJECTS = ("undelivered mail returned to sender", "delayed mail (still being retried)",
             "successful mail delivery report", "mail delivery status report",
             "postmaster copy: undelivered mail", "postmaster warning: delayed mail")
# The notice's first line, or the signature line above the entries (bounce.cf.default).
_MARKER = rx.compile(r"this is the (?:mail system|postfix program) at host"
                     r"|^[^\S\n]*the (?:mail system|postfix program)\s*$", re.I | re.M)
_ORIGINAL_MARKERS = ("content-description: undelivered message", "content-type: message/rfc822",
                     "content-type: text/rfc822-headers")
_ENTRY = rx.compile(
    r"^ ?<(?P<addr>[^<>]*)>(?: \(expanded from <(?P<alias>[^<>]*)>\))?:\s*(?P<text>.*)$")
# "host H[A] said: REPLY (in reply to COMMAND command)" and "host H[A] refused to talk to me:
# REPLY" are read by _host_said() and _in_reply_to(): as patterns ("^host (\S+?)\[[^\]]*\]
# said: (.*?)(?: \(in reply to (.+?) command\))?$", re.S) they tried every "[" of the host
# word against the text up to the next "]", and every character of the reply against " (in
# reply to" and the rest of the text (quadratic).
_IN_REPLY_TO = " (in reply to "
_WORD = rx.compile(r"\S*")
_COMMAND_END = " command)"
_CONNECT = rx.compile(r"^connect to (?P<host>[^\s\[]+)\[")
_WHILE = rx.compile(r"^(?:lost connection|conversation) with (?P<host>[^\s\[]+)\[[^\]]*\]"
                    r"(?: timed out)? while (?P<doing>.+?)\.?$", re.S)
# "(in reply to X command)" -> command; xfer_request[] in smtp_proto.c and the handshake.
# "while X": xfer_states[] in smtp_proto.c and the handshake stages of smtp_helo().
_DOING = (
    ("receiving the initial server greeting", "CONN"),
    ("performing the EHLO handshake", "EHLO"),
    ("performing the LHLO handshake", "EHLO"),
    ("performing the HELO handshake", "HELO"),
    ("performing the STARTTLS handshake", "STARTTLS"),
    ("sending MAIL FROM", "MAIL"),
    ("sending RCPT TO", "RCPT"),
    ("sending DATA command", "DATA"),
    ("sending message body", "DATA"),
    ("sending end of data", "DATA"),
)


@dataclass(slots=True)
class _Entry:
    address: str
    alias: str
    text: str


def match(mail: Mail) -> bool:
    if "x-postfix-queue-id:" in mail.dsn[:2000].lower():
        return True
    if not mail.subject.lower().strip().startswith(_SUBJECTS):
        return False
    return _MARKER.search(mail.body[:2500]) is not None


_WORDY = rx.compile(r"[A-Za-z]{2}")
_DELIVERED = rx.compile(r"(?:delivery via \S+: 2\d\d|delivered to |alias expanded)")
_REPORTING_HOST = rx.compile(
    r"this is the (?:mail system|postfix program) at host ([\w.\-]+?)\.?\s*$", re.I | re.M)


def inquire(mail: Mail) -> list[Fact]:
    notice, dsn_text = _textdsn.report_and_notice(mail, _ORIGINAL_MARKERS)
    entries = _entries(notice)
    _, facts = dsn.facts(dsn_text) if dsn_text else ({}, [])
    facts = [f for f in facts if f.recipient or f.status or f.diagnosis]
    if not facts:
        facts = [Fact(recipient=e.address, alias=e.alias, action=_action(mail, e.text))
                 for e in entries]
    if not facts:
        if "delivery report unavailable" not in notice.lower():
            return []
        # bounce_notify_util.c: the log was lost; only the returned message says to whom.
        facts = [Fact(action=_action(mail, ""))]
    reporting = _reporting_host(notice)
    named = _named(entries)
    # Several facts can share an entry (and a long text): each text is read once.
    read, norm = Once(_read), Once(_norm)
    for i, fact in enumerate(facts):
        _explain(fact, _entry_for(fact, entries, named, i, len(facts)), read, norm)
        fact.reporting_mta = fact.reporting_mta or reporting
        fact.date = fact.date or mail.header("Date")
    return facts_or_original(mail, facts)


def _explain(fact: Fact, entry: _Entry | None, read: Callable[[str], tuple[str, str, str]],
             norm: Callable[[str], str]) -> None:
    """Fill command, remote host and the full reply from the text entry (``read`` and
    ``norm`` are :func:`_read` and :func:`_norm`, memoised for the message)."""
    if entry is not None:
        if entry.address and (not fact.recipient or _unquoted(entry.address) == _unquoted(
                fact.recipient)):
            # The entry writes a quoted local part as it is ("\"a b\"@example.org").
            fact.recipient = entry.address
        fact.alias = fact.alias or entry.alias
    detail, command, host = read(entry.text if entry is not None else "")
    # Old versions put the whole sentence into Diagnostic-Code too ("host x[a] said: ...").
    stated, stated_command, stated_host = read(fact.diagnosis)
    fact.command = command or stated_command
    fact.remote_mta = fact.remote_mta or host or stated_host
    if not stated or not _WORDY.search(stated):
        fact.diagnosis = detail
    elif norm(stated) in norm(detail) and len(detail) > len(stated):
        # The same reply, longer in the text (a folded Diagnostic-Code cut short).
        fact.diagnosis = detail
    else:
        fact.diagnosis = stated
    if _LOCAL_UNKNOWN.match(fact.diagnosis):
        # local(8) looked the name up in the passwd/aliases tables itself: "unknown user:
        # \"taro\"" is its verdict that no such mailbox exists, whatever the command.
        fact.reason = "userunknown"


# Postfix local(8): 'unknown user: "name"' (src/local/unknown.c).
_LOCAL_UNKNOWN = rx.compile(r'unknown user: "[^"]*"')


def _read(text: str) -> tuple[str, str, str]:
    """(the error itself, SMTP command, remote host) from one entry's text."""
    text = text.strip()
    said = _host_said(text, "] said: ")
    if said is not None:
        host, rest = said
        reply, cmd = _in_reply_to(rest)
        return reply, canonical(cmd), host
    refused = _host_said(text, "] refused to talk to me: ")
    if refused is not None:
        host, reply = refused
        return reply, "CONN", host
    m = _CONNECT.match(text)
    if m:
        return text, "CONN", m.group("host")
    m = _WHILE.match(text)
    if m:
        doing = m.group("doing")
        command = next((cmd for phrase, cmd in _DOING if doing.startswith(phrase)), "")
        return text, command, m.group("host")
    return text, "", ""


def _host_said(text: str, label: str) -> tuple[str, str] | None:
    """(host, what follows) of "host H[A]" + ``label`` + ..., else None.

    H is the shortest start of the word after "host " that a "[" follows whose first "]"
    after it starts ``label``. "[" positions that share that "]" share the answer, so after a
    failure the search goes on after the "]".
    """
    if not text.startswith("host "):
        return None
    word_end = _WORD.match(text, 5).end()  # type: ignore[union-attr]  # \S* always matches
    bracket = text.find("[", 6, word_end)
    while bracket >= 0:
        close = text.find("]", bracket + 1)
        if close < 0:
            return None
        if text.startswith(label, close):
            return text[5:bracket], text[close + len(label):]
        bracket = text.find("[", close + 1, word_end)
    return None


def _in_reply_to(rest: str) -> tuple[str, str]:
    """(reply, command) of "REPLY (in reply to COMMAND command)", the command part optional.

    The reply is the shortest: it ends at the first " (in reply to " that leaves a command
    of a character or more before a final " command)"; without one it is all of ``rest``
    (but a final line break, as "$" sees it).
    """
    # "$": the end, or before a line break that ends the text; the shorter command first.
    ends = ([len(rest) - 1] if rest.endswith("\n") else []) + [len(rest)]
    start = rest.find(_IN_REPLY_TO)
    if start >= 0:
        for end in ends:
            if rest.endswith(_COMMAND_END, 0, end) and start + 15 <= end - 9:
                return rest[:start], rest[start + 14:end - 9]
    return rest[:ends[0]], ""


def _entries(notice: str) -> list[_Entry]:
    """The "<address>: text" entries with their indented continuation lines."""
    out: list[_Entry] = []
    # Each entry's lines, joined once it is complete (joining at each line is quadratic).
    lines: list[list[str]] = []
    current: _Entry | None = None
    for line in notice.split("\n"):
        m = _ENTRY.match(line)
        if (m and "@" in m.group("addr")) or (m and m.group("text") and current is None):
            current = _Entry(m.group("addr").strip(), (m.group("alias") or "").strip(), "")
            out.append(current)
            lines.append([m.group("text").strip()])
            continue
        if current is not None and line[:1] in (" ", "\t") and line.strip():
            lines[-1].append(line.strip())
            continue
        current = None
    for entry, parts in zip(out, lines, strict=True):
        # What joining each line to the text so far, stripped, gave: no empty parts.
        entry.text = " ".join(p for p in parts if p)
    return out


def _entry_for(fact: Fact, entries: list[_Entry], named: dict[str, int], i: int,
               n: int) -> _Entry | None:
    """The first entry naming the fact's recipient (or alias), else the i-th of as many."""
    names = {_unquoted(a) for a in (fact.recipient, fact.original_recipient, fact.alias) if a}
    found = [named[name] for name in names if name in named]
    if found:
        return entries[min(found)]
    return entries[i] if len(entries) == n else None


def _named(entries: list[_Entry]) -> dict[str, int]:
    """Each name an entry has (its address, its alias) -> the first entry with it."""
    named: dict[str, int] = {}
    for i, e in enumerate(entries):
        named.setdefault(_unquoted(e.address), i)
        if e.alias:
            named.setdefault(_unquoted(e.alias), i)
    return named


def _action(mail: Mail, text: str) -> str:
    subject = mail.subject.lower()
    if "delayed mail" in subject:
        return "delayed"
    if "successful mail delivery" in subject or _DELIVERED.match(text):
        return "delivered"
    return "failed"


def _reporting_host(notice: str) -> str:
    m = _REPORTING_HOST.search(notice[:3000])
    return m.group(1) if m else ""


def _unquoted(addr: str) -> str:
    return addr.strip().strip("<>").replace('"', "").lower()


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()
