"""fml (fml.org) mailing list manager: its refusals of an article sent to a list.

fml 4 answers a post it will not distribute with a short text mail from the list's admin
address, with its own headers::

    From: announce-admin@example.org
    Subject: You joe@example.net are not member (announce ML)
    X-MLServer: fml [fml 4.0.3 release (20011202/4.0.3)]
    Message-ID: <200506011200.FMLAAB12345.announce@example.org>

    You are not a member of this mailing list <announce@example.org>.

    If you know the general guide of this list, please send mail with
    the mail body
    ...

The "recipient" is the list the sender wrote to (the address in angle brackets); the text
says why it was refused. The kinds fml sends are fixed, so the reason is taken from them:
not a member or a rejected sender ("rejected"), a loop or duplicate Message-ID ("systemerror"),
a security alert ("securityerror"). The returned article follows "Original mail as follows:".
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing.detectors._common import attach_original, cut
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "fml"

_ORIGINAL_MARKERS = ("original mail as follows:",)
_LIST_ADDRESS = rx.compile(r"<([^<>\s][^<>\s@]*@[^<>\s]+)>")
# fml's fixed notices (libexec/ and the message templates of fml 4): words -> reason.
_KINDS = (
    ("rejected", ("you are not a member of this mailing list", "are not member",
                  "not member article from", "reject mail from", "reject spammers",
                  "spam mail from a spammer is rejected", "header may cause mail loop")),
    ("systemerror", ("has detected a loop condition", "duplicated message-id",
                     "loop back warning", "loop alert", "unix from loop",
                     "fml system error message")),
    ("securityerror", ("security alert",)),
)


def match(mail: Mail) -> bool:
    if not mail.has("X-MLServer") or "fml" not in mail.header("X-MLServer").lower():
        return False
    return ".fml" in mail.header("Message-ID").lower() or "-admin@" in mail.from_address


def inquire(mail: Mail) -> list[Fact]:
    text = mail.body
    # "Duplicated Message-ID in <list@example.org>. Original mail as follows:" keeps the
    # error and the marker on one line: cut there, not at a line start.
    at = text.lower().find(_ORIGINAL_MARKERS[0])
    if at >= 0:
        notice, original = text[:at + len(_ORIGINAL_MARKERS[0])], text[at:].split("\n", 1)[-1]
    else:
        notice, original = cut(text, _ORIGINAL_MARKERS)
    attach_original(mail, original)
    words = f"{mail.subject}\n{notice}".lower()
    reason = next((r for r, phrases in _KINDS if any(p in words for p in phrases)), "")
    if not reason:
        return []
    # The paragraph naming the list is the error; the rest is help text.
    for paragraph in re.split(r"\n\s*\n", notice):
        m = _LIST_ADDRESS.search(paragraph)
        if m is not None:
            break
    else:
        return []
    diagnosis = " ".join(paragraph.split())
    return [Fact(recipient=m.group(1), action="failed", diagnosis=diagnosis, reason=reason,
                 date=mail.header("Date"))]
