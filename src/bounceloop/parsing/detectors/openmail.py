"""OpenMail bounces (the format Sisimai calls "Unknown MTA #1", lhost-x1).

Identified by the bounce's own trace field "Received: By OpenMail Mailer;<date>" (no "from"
part: the notice is generated inside the mail system), which names the writer: most likely
HP OpenMail, the groupware mail server of the 1990s-2000s. The sender is
"Mail Deliver System" <MAILER-DAEMON@...>, the subject "Returned Mail: <reason>". The text
imitates Sendmail, but lists each address with the reason in square brackets::

    The original message was received at Thu, 29 Apr 2010 10:00:00 +0900 (JST)
    from john@example.org

    ---The following addresses had delivery errors---

    jane@example.net [User unknown]

The returned message follows in a second MIME part that has no part headers of its own.
"""

from __future__ import annotations

from bounceloop.core import rx
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "openmail"

_LIST_START = "---the following addresses had delivery errors---"
_ENTRY = rx.compile(r"^<?([^\s<>\[\]][^\s<>\[\]@]*@[^\s<>\[\]]+)>?\s+\[(.+)\]\s*$")


def match(mail: Mail) -> bool:
    if any(r.strip().lower().startswith("by openmail mailer") for r in
           mail.headers_all("Received")):
        return True
    return mail.subject.startswith("Returned Mail: ") and _LIST_START in mail.body[:1000].lower()


def inquire(mail: Mail) -> list[Fact]:
    low = mail.body.lower()
    start = low.find(_LIST_START)
    if start < 0:
        return []
    facts: list[Fact] = []
    for raw in mail.body[start + len(_LIST_START):].split("\n"):
        line = raw.strip()
        if not line:
            if facts:
                break  # the list ends at the first empty line after it
            continue
        m = _ENTRY.match(line)
        if m is None:
            break
        facts.append(Fact(recipient=m.group(1), action="failed", diagnosis=m.group(2),
                          date=mail.header("Date")))
    return facts
