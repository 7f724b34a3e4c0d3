"""RFC 3834 automatic responses: vacation and out-of-office replies.

An auto-reply says nothing about deliverability (it proves the mailbox exists), so its
record is kind ``autoreply`` with reason ``vacation`` and is never a failure. It is tried
after every bounce format, because bounces carry ``Auto-Submitted: auto-replied`` too
(Exim, Postfix).

Signals, strongest first: ``Auto-Submitted: auto-replied`` (RFC 3834 section 5); the
vendor markers Exchange/Outlook (``X-Auto-Response-Suppress`` on an "Automatic reply"),
Apple iCloud (``X-Apple-Action: VACATION``), ``X-Autoreply``/``X-Autorespond`` (cPanel,
Zimbra), ``Precedence: auto_reply``; then auto-reply subject prefixes in several languages.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail
from bounceloop.parsing.text import squeeze

NAME = "rfc3834"

_SUBJECT = rx.compile(
    r"^\s*(?:re:\s*)?(?:auto(?:matic)?[ \-_]?(?:reply|response|answer|antwort|matische antwort)"
    r"|auto:|autoreply|autorespon|out of (?:the )?office|away from|i am away|vacation"
    r"|on vacation|abwesenheit|abwesend|r[ée]ponse automatique|absence|respuesta autom"
    r"|risposta automatica|automatisch antwoord|fuera de la oficina"
    r"|自動応答|自動返信|不在)",
    re.I,
)
_MARKER_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation")
_NOT_REPLY = rx.compile(
    r"(?:undeliver|delivery (?:status|fail)|returned mail|failure notice|mail delivery)", re.I
)
_DAEMON = rx.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)


def match(mail: Mail) -> bool:
    if _DAEMON.match(mail.from_address) or _NOT_REPLY.search(mail.subject):
        return False
    auto = mail.header("Auto-Submitted").strip().lower()
    if auto.startswith("auto-replied"):
        return True
    if auto and auto != "no" and _SUBJECT.search(mail.subject):
        return True
    if mail.header("X-Apple-Action").strip().upper() == "VACATION":
        return True
    if any(mail.has(h) for h in _MARKER_HEADERS):
        return True
    precedence = mail.header("Precedence").strip().lower()
    if precedence == "auto_reply":
        return True
    return bool(_SUBJECT.search(mail.subject)) and not mail.dsn and not mail.report


def inquire(mail: Mail) -> list[Fact]:
    rcpt = mail.from_address
    if not rcpt or "@" not in rcpt:
        return []
    text = squeeze(mail.body)[:500]
    return [Fact(recipient=rcpt, reason="vacation", diagnosis=text, date=mail.header("Date"))]
