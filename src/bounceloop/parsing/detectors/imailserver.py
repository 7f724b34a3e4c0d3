"""Ipswitch IMail Server bounces ("X-Mailer: <SMTP32 v8.12>", "Subject: Undeliverable Mail").

IMail's SMTP32 delivery agent writes one line per failed address, the reason first::

    Unknown user: jane@example.net
    Invalid final delivery userid: jane@example.net
    User mailbox exceeds allowed size: jane@example.net
    Delivery failed 20 attempts: jane@example.net

or, when the remote server refused the message, the address and then its reply::

    undeliverable to jane@example.net

    Body of message generated response:
    550 5.1.1 <jane@example.net>: Recipient address rejected: User unknown

and the returned message after "Original message follows.".
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.detectors._common import ADDRESS, attach_original, cut
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "imailserver"

# "Reason words: address" - the reason has several words, which keeps header-like lines
# ("To: jane@example.net", quoted by some clients that saved the bounce) out.
# The address is read from the last word by _address(): "<?(\S+@[^\s>]+)>?\s*$" tried every
# split of a word with many "@" (quadratic).
_REASON_LINE = rx.compile(r"^([A-Za-z][\w'\-]*(?: [\w'\-()]+)+):\s*(\S+)\s*$")
# IMail's own local-delivery verdicts (the reason words of the lines above).
_OWN_REASONS = (
    ("invalid final delivery userid", "userunknown"),
    ("unknown user", "userunknown"),
    ("user mailbox exceeds allowed size", "mailboxfull"),
)
_UNDELIVERABLE = rx.compile(r"^undeliverable to\s+(\S+)\s*$", re.I)
_RESPONSE = "body of message generated response:"


def match(mail: Mail) -> bool:
    if mail.header("X-Mailer").strip().startswith("<SMTP32 v"):
        return True
    return mail.subject.strip() == "Undeliverable Mail" and (
        "Original message follows." in mail.body[:2000])


def inquire(mail: Mail) -> list[Fact]:
    notice, original = cut(mail.body, ("original message follows.",))
    attach_original(mail, original)
    facts: list[Fact] = []
    current: Fact | None = None
    response: list[str] | None = None
    responses: dict[int, tuple[Fact, list[str]]] = {}
    for raw in notice.split("\n"):
        line = raw.strip()
        if not line:
            continue
        reason = _REASON_LINE.match(line)
        said = _address(reason.group(2)) if reason else ""
        if not said:
            reason = None
        undeliverable = _UNDELIVERABLE.match(line)
        listed = _address(undeliverable.group(1)) if undeliverable else ""
        if (said and ADDRESS.fullmatch(said)) or listed:
            addr = said or listed
            current = Fact(recipient=addr, action="failed", diagnosis=line,
                           date=mail.header("Date"))
            words = reason.group(1).lower() if reason else ""
            current.reason = next((r for w, r in _OWN_REASONS if words.startswith(w)), "")
            facts.append(current)
            response = None
            continue
        if current is None:
            continue
        if line.lower().startswith(_RESPONSE):
            # The remote server's own reply replaces IMail's summary line.
            response = []
            current.diagnosis = ""
            responses.pop(id(current), None)
            rest = line[len(_RESPONSE):].strip()
            if rest:
                response.append(rest)
            continue
        if response is not None:
            response.append(line)
            responses[id(current)] = (current, response)
    for fact, lines in responses.values():
        # Joined once, not at each line (quadratic in a long response).
        fact.diagnosis = " ".join(lines)
    return facts


def _address(word: str) -> str:
    """The address in ``word`` as "<?(\\S+@[^\\s>]+)>?" reads the whole of it, else "".

    The "@" may be any one after the first character that has a character after it and no
    ">" after it; the angle brackets are taken off the ends, "<" only when what follows is
    an address on its own.
    """
    for candidate in ((word[1:],) if word.startswith("<") else ()) + (word,):
        address = candidate[:-1] if candidate.endswith(">") else candidate
        after = max(address.rfind(">") + 1, 1)
        if address.find("@", after, len(address) - 1) >= 0:
            return address
    return ""
