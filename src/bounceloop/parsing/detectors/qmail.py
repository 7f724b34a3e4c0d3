"""qmail (cr.yp.to/qmail) bounces, its forks and the qmail-derived services that reword it.

qmail-send writes plain text, one block per failed address, each block the address in angle
brackets with a colon, then what qmail-remote or qmail-local said (qmail-send.c, bounce)::

    Hi. This is the qmail-send program at mx.example.org.
    I'm afraid I wasn't able to deliver your message to the following addresses.
    This is a permanent error; I've given up. Sorry it didn't work out.

    <jane@example.net>:
    192.0.2.7 does not like recipient.
    Remote host said: 550 5.1.1 <jane@example.net>: User unknown
    Giving up on 192.0.2.7.

    --- Below this line is a copy of the message.

The same skeleton is kept by netqmail, qmail-ldap (LDAP errors such as "Unable to contact
LDAP server. (#4.4.3)"), vpopmail's vdelivermail ("account is locked email bounced"),
IndiMail (MIME-wrapped, "--- Enclosed is a copy of the message.", a "From: <..> RCPT: <..>"
prefix) and by services that only replaced the greeting paragraph: the legacy Yahoo! Mail
template ("Message from yahoo.com. / Unable to deliver message to the following
address(es). ... --- Original message follows.", codes like "[#4.1.9]") and ISP qmail
installations with a custom bounce text ("Your mail message to the following address(es)
could not be delivered. ...").

qmail itself states an enhanced status only for its own errors, as "(#5.1.1)" after the
text; the remote's reply follows "Remote host said:". The SMTP step is named by the
qmail-remote wording: "but greeting failed" (connect), "but my name was rejected" (HELO),
"but sender was rejected" (MAIL), "does not like recipient" (RCPT), "failed on DATA
command" / "failed after I sent the message" (DATA). qmail never retries a bounced message,
so every block is a final failure, even with a 4.x.x code ("I'm not going to try again;
this message has been in the queue too long.").
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.core.status import has_coded_reply
from bounceloop.parsing.command import canonical
from bounceloop.parsing.detectors._common import attach_original, cut
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "qmail"

# Greeting lines of qmail-send and of the rewordings listed above (first 2000 chars only).
_INTRO = rx.compile(
    r"Hi\. This is the qmail"
    r"|I'm afraid I wasn't able to deliver your message to the following addresses"
    r"|^Unable to deliver message to the following address\(es\)\."
    r"|^Your mail message to the following address\(es\) could not be delivered",
    re.M,
)
# qmail-send injects its bounce with "Received: (qmail 1234 invoked for bounce)"; IndiMail
# writes "Received: indimail-mta queue 1234 by host ... (invoked for bounce)". A message
# that only passed qmail-smtpd has "(qmail 1234 invoked from network)".
# IndiMail's form is tried from the first "indimail-mta queue N" only ((?>...) keeps it there):
# ".*" tried from each of many such runs to the end of the header is quadratic.
_FOR_BOUNCE = rx.compile(r"\(qmail \d+ invoked for bounce\)|\A(?>.*?indimail-mta queue \d+).*"
                         r"\(invoked for bounce\)", re.I | re.S)
_VIA_QMAIL = rx.compile(r"\(qmail \d+ invoked (?:from network|by )", re.I)
_RCPT_LINE = rx.compile(r"^<([^<>\s][^<>\s@]*@[^<>\s]+)>:[ \t]*(.*)$", re.M)
_MARKERS = (
    "below this line is a copy of the message",
    "below the next line is a copy of the message",
    "enclosed is a copy of the message",
    "enclosed are the original headers of the message",
    "original message follows",
)
_REPORTER = rx.compile(r"(?:program at|^Message from)\s+([\w.\-]+?)\.?[ \t]*$", re.M)
# "(#5.1.1)" from qmail itself, "[#4.1.9]" from the Yahoo! template.
_STATED = rx.compile(r"[(\[]#([245]\.\d{1,3}\.\d{1,3})[)\]]")
_COMMANDS = (
    (" but greeting failed", "CONN"),
    (" but my name was rejected", "HELO"),
    (" but sender was rejected", "MAIL"),
    (" does not like recipient", "RCPT"),
    (" failed on DATA command", "DATA"),
    (" failed after I sent the message", "DATA"),
)
# qmail-remote with the fallback patch: "Sorry, no SMTP connection got far enough; most
# progress was RCPT TO response; remote host 192.0.2.3 said: ...".
_PROGRESS = rx.compile(r"most progress was (RCPT TO|MAIL FROM|DATA|HELO|EHLO|greeting)", re.I)
# qmail-remote.c / qmail-local.c fixed messages that name the reason outright. A refused
# greeting or HELO is about our client, not the message.
_OWN_REASONS = (
    ("I couldn't find any host named", "hostunknown"),
    ("I couldn't find any host by that name", "hostunknown"),
    ("I couldn't find a mail exchanger or IP address", "notaccept"),
    ("I wasn't able to establish an SMTP connection", "networkerror"),
    ("no mailbox here by that name", "userunknown"),
    # qmail-ldap: "Unable to contact LDAP server. (#4.4.3)" and its siblings.
    ("LDAP server", "systemerror"),
)
_IP = rx.compile(r"(?<![\w.:])(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{0,4}){2,7})"
                 r"(?![\w:])")


def match(mail: Mail) -> bool:
    head = mail.body[:2000]
    if _INTRO.search(head):
        return True
    if not _RCPT_LINE.search(head):
        return False
    received = mail.headers_all("Received")
    if any(_FOR_BOUNCE.search(r) for r in received):
        return True
    marked = "--- below this line is a copy of the message" in mail.body[:20000].lower()
    # QSBMF (cr.yp.to/proto/qsbmf.txt) is a structure: recipient paragraphs that open with
    # "<address>:" and a break paragraph before the copy. Installations reword the greeting
    # ("We're sorry. There's a problem with the e-mail address(es)...", "Unfortunately, your
    # mail was not delivered..."); from a null reverse-path (RFC 5321 section 4.5.5) the
    # structure and qmail-send's break line are enough.
    if marked and mail.header("Return-Path").strip() == "<>":
        return True
    # Relayed through qmail-smtpd only: ask for qmail-send's subject and marker too.
    return (mail.subject.strip().lower() == "failure notice"
            and any(_VIA_QMAIL.search(r) for r in received) and marked)


def inquire(mail: Mail) -> list[Fact]:
    notice, original = cut(mail.body, _MARKERS)
    attach_original(mail, original)
    reporter = _REPORTER.search(notice[:2000])
    facts: list[Fact] = []
    lines: list[str] = []
    current: Fact | None = None
    for line in notice.split("\n"):
        m = _RCPT_LINE.match(line.strip())
        if m:
            _close(current, lines)
            current = Fact(recipient=m.group(1), action="failed")
            facts.append(current)
            lines = [m.group(2)] if m.group(2) else []
            continue
        if current is None:
            continue
        if not line.strip():
            # qmail-send ends each address's text with an empty line.
            if lines:
                _close(current, lines)
                current, lines = None, []
            continue
        lines.append(line.strip())
    _close(current, lines)
    for fact in facts:
        fact.reporting_mta = reporter.group(1) if reporter else ""
        fact.date = mail.header("Date")
    return facts


def _close(fact: Fact | None, lines: list[str]) -> None:
    if fact is None or fact.diagnosis:
        return
    text = " ".join(x for x in lines if x)
    fact.diagnosis = text
    framing, said, reply = text.partition("Remote host said:")
    if said and reply.strip():
        # qmail-remote's own words frame the remote's reply ("Connected to 192.0.2.7 but
        # sender was rejected. / Remote host said: ... / Giving up on 192.0.2.7.";
        # notqmail qmail-remote.c): the reply is the diagnosis, the framing its context, so
        # "sender was rejected" does not read as the remote's judgement of the sender.
        reply, giving, after = reply.partition(" Giving up on ")
        fact.diagnosis = reply.strip()
        fact.context = " ".join(x for x in (framing.strip(), (giving + after).strip()) if x)
    stated = _STATED.findall(text)
    if stated and not has_coded_reply(text):
        fact.status = stated[-1]
    for wording, command in _COMMANDS:
        if wording in text:
            fact.command = command
            break
    else:
        progress = _PROGRESS.search(text)
        if progress:
            fact.command = canonical(progress.group(1))
    if fact.command in ("HELO", "EHLO"):
        fact.reason = "blocked"
    else:
        fact.reason = next((r for w, r in _OWN_REASONS if w in text), "")
    # qmail names the remote by its IP address before quoting it ("192.0.2.7 does not like
    # recipient.", "Connected to 192.0.2.7 but ..."); the quoted reply may hold other IPs.
    ip = _IP.search(text.split("Remote host said:", 1)[0])
    if ip:
        fact.remote_mta = ip.group(1)
