"""RFC 3464 delivery-status fields: the text of a ``message/delivery-status`` part into Facts.

A delivery-status part is one block of per-message fields followed by one block per
recipient, blocks separated by blank lines (RFC 3464 section 2.1)::

    Reporting-MTA: dns; mx.example.org          per-message
    Original-Envelope-Id: 7f3a...

    Final-Recipient: rfc822; jane@example.org   per-recipient
    Action: failed
    Status: 5.1.1
    Diagnostic-Code: smtp; 550 5.1.1 <jane@example.org>... User unknown

Real MTAs bend this: no blank line between recipients (Exchange), ``Action: error``
(OpenSMTPD), ``Status: 5.0.0 (permanent failure)`` (Google), an X-Actual-Recipient next to the
Final-Recipient (Sendmail), folded Diagnostic-Code lines. This reader takes them all.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.recipient import recipient, unwrap
from bounceloop.parsing.text import squeeze

# Field names in lower case -> our key. Unknown fields are kept under their own name.
_PER_RECIPIENT = frozenset(
    {"final-recipient", "original-recipient", "action", "status", "diagnostic-code",
     "remote-mta", "last-attempt-date", "will-retry-until", "final-log-id", "x-actual-recipient"}
)

_ACTIONS = {
    "failed": "failed",
    "failure": "failed",
    "error": "failed",  # OpenSMTPD writes "Action: error"
    "fail": "failed",
    "delayed": "delayed",
    "delay": "delayed",
    "expired": "failed",
    "delivered": "delivered",
    "deliverable": "delivered",
    "relayed": "relayed",
    "expanded": "expanded",
}


def fields(text: str) -> list[list[tuple[str, str]]]:
    """Split delivery-status text into blocks of (lowercase name, unfolded value)."""
    # A field's folded lines are collected and joined once (as in mime.split_head): adding
    # each to the value so far would be quadratic in a field folded over many lines.
    blocks: list[list[tuple[str, list[str]]]] = []
    block: list[tuple[str, list[str]]] = []
    for line in text.split("\n"):
        if not line.strip():
            if block:
                blocks.append(block)
                block = []
            continue
        if line[:1] in (" ", "\t"):
            if block:
                block[-1][1].append(line.strip())
            continue
        colon = line.find(":")
        name = line[:colon].strip().lower() if colon > 0 else ""
        if not name or " " in name:
            # Not a field. After a Diagnostic-Code it is the rest of the remote's reply,
            # written unfolded (RFC 5322 2.2.3 wants the leading space): nullmailer 2.2
            # copies a multiline reply as it came, "550-5.7.1 ..." on each line.
            if block and block[-1][0] == "diagnostic-code":
                block[-1][1].append(line.strip())
            continue
        block.append((name, [line[colon + 1:].strip()]))
    if block:
        blocks.append(block)
    return _split_run_together(
        [[(name, " ".join(value)) for name, value in b] for b in blocks])


def _split_run_together(blocks: list[list[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
    """Split blocks that hold several recipients with no blank line between them."""
    out: list[list[tuple[str, str]]] = []
    for block in blocks:
        current: list[tuple[str, str]] = []
        seen_final = False
        for name, value in block:
            if name == "final-recipient":
                if seen_final:
                    out.append(current)
                    current = []
                seen_final = True
            current.append((name, value))
        if current:
            out.append(current)
    return out


_TYPED = rx.compile(r"^\s*([\w.-]+)\s*;\s*(.*)$", re.S)
_ANGLE = rx.compile(r"<([^<>]*)>")


def typed_value(value: str) -> tuple[str, str]:
    """"rfc822; a@b" -> ("rfc822", "a@b"); a value with no type -> ("", value)."""
    m = _TYPED.match(value)
    if m:
        return m.group(1).strip(), m.group(2).strip()
    return "", value.strip()


def address(value: str) -> str:
    """The address in a recipient field value: "rfc822; <a@b>" -> "a@b"."""
    _, addr = typed_value(value)
    m = _ANGLE.search(addr)
    if m and "@" in m.group(1):
        addr = m.group(1)
    addr = unwrap(addr)
    # A space may be a comment after the address ("jane@example.org (Jane)") or inside a
    # quoted local part (RFC 5321 4.1.2: "jane doe"@example.org), which is kept whole.
    if " " in addr and not recipient(addr):
        for token in addr.split():
            if "@" in token:
                return token.strip("<>\"'(),;")
    return addr


def host(value: str) -> str:
    """"dns; mx.example.org [192.0.2.1]" -> "mx.example.org"."""
    _, h = typed_value(value)
    h = h.strip()
    return h.split()[0].strip("[]") if h else ""


def normal_action(value: str) -> str:
    word = value.strip().lower().split(" ", 1)[0].strip("()")
    return _ACTIONS.get(word, word)


_STATUS = rx.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})")
_COMMENT = rx.compile(r"\(([^()]{4,})\)\s*$")


def normal_status(value: str) -> str:
    """"5.1.1 (bad destination mailbox)" -> "5.1.1"; garbage -> ""."""
    m = _STATUS.match(value)
    if not m:
        return ""
    return f"{m.group(1)}.{int(m.group(2))}.{int(m.group(3))}"


#: Address types whose value is an Internet mailbox: RFC 3464 section 2.3.2's "rfc822",
#: RFC 6533's "utf-8", and the "smtp" some MTAs write; "" when a field has no type.
MAILBOX_TYPES = frozenset({"", "rfc822", "utf-8", "smtp"})


def _mailbox_type(kind: str, addr: str) -> bool:
    """Is a recipient field's value (of address-type ``kind``) an Internet mailbox?"""
    return kind in MAILBOX_TYPES and bool(recipient(addr))


def facts(text: str) -> tuple[dict[str, str], list[Fact]]:
    """Per-message fields and one :class:`Fact` per recipient block."""
    message: dict[str, str] = {}
    out: list[Fact] = []
    for block in fields(text):
        names = {name for name, _ in block}
        if not names & {"final-recipient", "original-recipient", "x-actual-recipient"} and not (
            "action" in names and "status" in names
        ):
            for name, value in block:
                message.setdefault(name, value)
            continue
        fact = Fact()
        note = ""
        kinds = {"final-recipient": "", "original-recipient": "", "x-actual-recipient": ""}
        for name, value in block:
            if name == "final-recipient" and not fact.recipient:
                kinds[name] = typed_value(value)[0].lower()
                fact.recipient = address(value)
            elif name == "x-actual-recipient":
                # Sendmail names a program or file delivery here ("|IFS=' ' && exec procmail
                # ... #user@host", "/var/mail/user"): not an address.
                if not typed_value(value)[1].startswith(("|", "/", '"|')):
                    actual = address(value)
                    if "@" in actual:
                        kinds[name] = typed_value(value)[0].lower()
                        fact.alias = actual
            elif name == "original-recipient":
                kinds[name] = typed_value(value)[0].lower()
                fact.original_recipient = address(value)
            elif name == "action":
                fact.action = normal_action(value)
            elif name == "status":
                fact.status = normal_status(value)
                # "Status: 4.0.0 (example.org: host name lookup failure)": Sendmail's only
                # explanation when there is no Diagnostic-Code.
                comment = _COMMENT.search(value)
                if comment:
                    note = comment.group(1).strip()
            elif name == "diagnostic-code":
                dtype, text_ = typed_value(value)
                fact.diagnostic_type = dtype.upper()
                fact.diagnosis = squeeze(text_)
            elif name == "remote-mta":
                fact.remote_mta = host(value)
            elif name == "last-attempt-date":
                fact.date = value
            elif name == "will-retry-until":
                fact.will_retry_until = value
            elif name == "reporting-mta":
                fact.reporting_mta = host(value)
        if note and note.lower() not in ("permanent failure", "temporary failure", "failure"):
            fact.diagnosis = f"{fact.diagnosis} ({note})" if fact.diagnosis else note
        if not _mailbox_type(kinds["final-recipient"], fact.recipient):
            # RFC 3464 section 2.3.2: the address-type says what the address is. An X.400
            # O/R name or a host-local name ("x400; /C=DE/ADMD=.../S=Rossi", "local;
            # rossi") is no RFC 822 address; the Original-Recipient (section 2.3.1), if it
            # is one, names the mailbox the sender wrote.
            for other, kind in ((fact.original_recipient, kinds["original-recipient"]),
                                (fact.alias, kinds["x-actual-recipient"])):
                if _mailbox_type(kind, other):
                    fact.recipient = other
                    break
            else:
                if kinds["final-recipient"] not in MAILBOX_TYPES:
                    fact.recipient = ""
        out.append(fact)
    reporting = host(message.get("reporting-mta", ""))
    envid = message.get("original-envelope-id", "").strip()
    arrival = message.get("arrival-date", "")
    for fact in out:
        fact.reporting_mta = fact.reporting_mta or reporting
        fact.envelope_id = envid
        fact.date = fact.date or arrival
    return message, out
