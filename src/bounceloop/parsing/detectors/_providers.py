"""Helpers shared by the mailbox-provider and sending-service detectors.

Used by gmail, googlegroups, googleworkspace, yahoo, aol, mailru, yandex, zoho, amazonses,
receivingses, amazonworkmail, sendgrid and bigfoot. Most of these providers run a stock MTA
(Postfix at AOL and Yandex, Exim at Mail.Ru, Sendmail-like at Bigfoot) or send an RFC 3464
report, so what they share is: reading the report part, tidying host names, and finding the
SMTP command in the human-readable text.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.command import canonical
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

#: The words MTAs use for the command a reply answered -> our command names.


def local_and_domain(address: str) -> tuple[str, str]:
    """("mailer-daemon", "googlemail.com") for "MAILER-DAEMON@googlemail.com"."""
    local, _, domain = address.lower().rpartition("@")
    return local, domain


_REPLY_CODE = rx.compile(r"\s*[245]\d\d\b")


def daemon_from(mail: Mail, *domains: str) -> bool:
    """True when the From is a bounce sender (mailer-daemon, postmaster) of one of ``domains``.

    A domain matches itself and its subdomains ("corp.mail.ru" matches "mail.ru").
    """
    local, domain = local_and_domain(mail.from_address)
    if local not in ("mailer-daemon", "postmaster", "mail-daemon"):
        return False
    return any(domain == d or domain.endswith("." + d) for d in domains)


def report_facts(mail: Mail) -> list[Fact]:
    """The per-recipient facts of the RFC 3464 part ("" recipients dropped)."""
    if not mail.dsn.strip():
        return []
    _, facts = dsn.facts(mail.dsn)
    return [f for f in facts if f.recipient]


def host_name(value: str) -> str:
    """"mx.example.org." or "[192.0.2.1]" -> "mx.example.org" / "192.0.2.1"."""
    return value.strip().strip("[]").rstrip(".")


def tidy_hosts(facts: list[Fact]) -> None:
    """Remove the root dot Google and others leave on host names ("mx.example.jp.")."""
    for fact in facts:
        fact.remote_mta = host_name(fact.remote_mta)
        fact.reporting_mta = host_name(fact.reporting_mta)


# Postfix's per-recipient explanation (bounce_notify_util.c): "<rcpt>: host mx[ip] said:
# 550 ... (in reply to RCPT TO command)", continuation lines indented four spaces.
_POSTFIX_ENTRY = rx.compile(
    r"^<([^<>\s][^<>\s@]*@[^<>\s]+)>(?:\s*\(expanded from <[^<>]*>\))?:\s*(.*)$")
_POSTFIX_HOST = rx.compile(r"\bhost\s+([\w.\-]+)\[[\d.:a-fA-F]+\]\s+said:\s*", re.I)
_IN_REPLY_TO = rx.compile(r"\(in reply to ([A-Za-z ]+?) command\)", re.I)


def postfix_entries(text: str) -> dict[str, tuple[str, str, str]]:
    """address -> (diagnosis, command, remote host) from Postfix's notice text."""
    out: dict[str, tuple[str, str, str]] = {}
    current = ""
    lines: list[str] = []

    def close() -> None:
        if current:
            joined = " ".join(lines)
            command = ""
            m = _IN_REPLY_TO.search(joined)
            if m:
                command = canonical(m.group(1))
                joined = (joined[:m.start()] + joined[m.end():]).strip()
            remote = ""
            h = _POSTFIX_HOST.search(joined)
            if h:
                remote = h.group(1)
                joined = joined[h.end():]
            out.setdefault(current, (joined.strip(), command, remote))

    for line in text.split("\n"):
        m = _POSTFIX_ENTRY.match(line)
        if m:
            close()
            current, lines = m.group(1), [m.group(2).strip()]
            continue
        if current and line[:1] in (" ", "\t") and line.strip():
            lines.append(line.strip())
            continue
        close()
        current, lines = "", []
    close()
    return out


def postfix_facts(text: str) -> list[Fact]:
    """Facts from Postfix's notice text alone (a notice sent without its report part).

    Only for Postfix's own template ("This is the mail system at host ...", before 2.3 "This
    is the Postfix program at host ..."): other formats also start lines with "<address>:".
    """
    low = text[:3000].lower()
    if "this is the mail system at host" not in low and "the postfix program at host" not in low:
        return []
    return [
        Fact(recipient=addr, action="failed", diagnosis=diagnosis, command=command,
             remote_mta=remote)
        for addr, (diagnosis, command, remote) in postfix_entries(text).items() if diagnosis
    ]


def improve_from_postfix_text(facts: list[Fact], text: str) -> None:
    """Fill command, remote host and (when the report has none) diagnosis from the text."""
    entries = {addr.lower(): entry for addr, entry in postfix_entries(text).items()}
    for fact in facts:
        entry = entries.get(fact.recipient.lower())
        if entry is None:
            continue
        diagnosis, command, remote = entry
        fact.command = fact.command or command
        fact.remote_mta = fact.remote_mta or remote
        if not fact.diagnosis and diagnosis:
            fact.diagnosis = diagnosis


# Amazon SES (and WorkMail, which sends through it) writes its own code in front of the
# remote reply and nests the reply it got:
#   "5.1.0 - Unknown address error 550-'5.7.1 <a@b>... Access denied' (delivery attempts: 0)"
#   "554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>"
# The text before the quoted reply ends with a non-blank character (blanks before the code
# are \s*'s), and the blanks after "-" are all taken at once: otherwise each character of a
# long run of blanks is tried as the end of the text, and as its start (quadratic).
_SES_QUOTED = rx.compile(
    r"^\s*([245]\.\d{1,3}\.\d{1,3}\s+-\s++(?:[^']*?[^'\s])??)\s*([245]\d\d)[- ]'(.*)'(.*)$", re.S)
_SES_EXPIRED = rx.compile(r"^\s*(\d{3}\s+[245]\.\d\.\d+\s+Message expired[^<]*)<(.+)>\s*$", re.S)


def ses_remote_reply(diagnosis: str) -> tuple[str, str, bool]:
    """Split an SES diagnostic into the remote server's reply and SES's own summary.

    Returns (reply, summary, True when SES's own code was a retry verdict). The remote reply
    is what the receiving server actually said; SES's prefix is its summary ("Unknown address
    error" for any 5xx, "Message expired" after retries): context, not the server's words, so
    the codes and wording of the remote reply are the ones that describe the failure.
    """
    m = _SES_QUOTED.match(diagnosis)
    if m:
        ses, code, reply, tail = m.group(1), m.group(2), m.group(3), m.group(4).strip()
        extra = f"; {tail.strip('() ')}" if tail else ""
        return f"{code} {reply.strip()}", f"{ses}{extra}", False
    m = _SES_EXPIRED.match(diagnosis)
    if m and _REPLY_CODE.match(m.group(2)):
        return m.group(2).strip(), m.group(1).strip(), True
    return diagnosis, "", False


def postfix_relay_facts(mail: Mail) -> list[Fact]:
    """A provider that relays its bounces through Postfix (AOL, Yandex): the report part,
    improved from Postfix's text entries, or the text alone when the part was stripped."""
    facts = report_facts(mail)
    if facts:
        improve_from_postfix_text(facts, mail.body)
    else:
        facts = postfix_facts(mail.body)
    tidy_hosts(facts)
    for fact in facts:
        fact.date = fact.date or mail.header("Date")
    return facts
