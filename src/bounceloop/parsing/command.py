"""Which SMTP command a server was answering, from the words of a bounce.

MTAs name the command in their own ways: Postfix "(in reply to RCPT TO command)", Exim
"after MAIL FROM:<...>", Sendmail's transcript ">>> DATA". Commands are written in upper case
by all of them, so matching is case-sensitive: "data" in a sentence is not the DATA command.
When a text names several, the latest in the transaction is the one that failed (a transcript
shows RCPT TO succeeding before DATA fails).
"""

from __future__ import annotations

import re

from bounceloop.core import rx

#: The greeting and HELO/EHLO: before MAIL FROM names a sender (RFC 5321 3.3), so a refusal
#: there can only be of the client.
BEFORE_MAIL = frozenset({"CONN", "EHLO", "HELO"})

# In transaction order; the last one found wins. "greeting" and "CONNECT" are too common in
# free text to name the connection stage; a reply said to come "after"/"in reply to" the
# "initial connection" (Exim's wording, transports/smtp.c) is.
_ORDER: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("CONN", rx.compile(r"\b(?:after|in reply to) initial connection\b")),
    ("HELO", rx.compile(r"(?<![A-Za-z0-9@_])HELO(?![A-Za-z0-9_@])")),
    ("EHLO", rx.compile(r"(?<![A-Za-z0-9@_])EHLO(?![A-Za-z0-9_@])")),
    ("STARTTLS", rx.compile(r"(?<![A-Za-z0-9@_])STARTTLS(?![A-Za-z0-9_@])")),
    ("AUTH", rx.compile(r"\bAUTH (?:PLAIN|LOGIN|CRAM-|DIGEST-)")),
    ("MAIL", rx.compile(r"\bMAIL F(?:ROM|rom)\b")),
    ("RCPT", rx.compile(r"\bRCPT(?: T[Oo])?(?![A-Za-z0-9_@])")),
    ("DATA", rx.compile(r"(?<![A-Za-z0-9@_\-])DATA(?![A-Za-z0-9_@\-])")),
)


def find_command(text: str) -> str:
    """The SMTP command named in ``text`` (CONN, HELO, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA),
    or "" when none is."""
    if not text:
        return ""
    found = ""
    for name, pattern in _ORDER:
        if pattern.search(text):
            found = name
    return found


# Every spelling of a command that bounces use, lowercase -> the command. Exim "after end of
# data", Postfix "in reply to end of DATA command", qmail "most progress was RCPT TO", GMX
# "TEXT command", DragonFly "did not like our final DATA", Exim "pipelined RCPT TO".
_SPELLINGS = {
    "rcpt": "RCPT", "rcpt to": "RCPT", "rcpt_to": "RCPT", "pipelined rcpt to": "RCPT",
    "mail": "MAIL", "mail from": "MAIL", "mail_from": "MAIL", "pipelined mail from": "MAIL",
    "data": "DATA", "end of data": "DATA", "final data": "DATA", "bdat": "DATA",
    "text": "DATA", "sending data block": "DATA",
    "helo": "HELO", "ehlo": "EHLO", "lhlo": "EHLO",
    "starttls": "STARTTLS", "auth": "AUTH",
    "conn": "CONN", "connect": "CONN", "initial connection": "CONN", "greeting": "CONN",
}


def canonical(word: str) -> str:
    """The command a spelling names ("end of DATA" -> DATA, "rcpt_to" -> RCPT), or ""."""
    return _SPELLINGS.get(" ".join(word.lower().split()), "")
