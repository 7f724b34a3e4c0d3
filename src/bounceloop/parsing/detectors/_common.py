"""Helpers shared by the detectors: finding addresses, cutting text at markers."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bounceloop.core import rx
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail, headers_of

ADDRESS = rx.compile(r"[\w.!#$%&'*+/=?^`{|}~\-]+@[\w\-]+(?:\.[\w\-]+)+", re.A)
ANGLE_ADDRESS = rx.compile(r"<([^<>@\s]+@[^<>@\s]+)>")
# ADDRESS, starting only where a run of local-part characters starts. ADDRESS.search tries
# every character of a long run that has no "@" after it and reads the rest of the run each
# time: quadratic. A match inside a run would start at the run's first character as well
# (the run and what follows it are the same), so the first match is the same.
_ADDRESS_AT_RUN = rx.compile(r"(?<![\w.!#$%&'*+/=?^`{|}~\-])" + ADDRESS.pattern, re.A)


def search_address(text: str) -> re.Match[str] | None:
    """``ADDRESS.search(text)``, in linear time."""
    return _ADDRESS_AT_RUN.search(text)


def find_addresses(text: str) -> list[str]:
    """``ADDRESS.findall(text)``, in linear time, less quoting apostrophes.

    After a match, findall goes on where it ended, which can be inside a run ("a@b.c+d@e.f"
    finds "+d@e.f" too): a match there is tried once, then the search goes on at run starts.
    An apostrophe is an atext character (RFC 5322 3.2.3: o'brien@example.org), but one
    before an address that another closes ('jane@example.org') quotes it: it is left out.
    """
    found: list[str] = []
    pos = 0
    while True:
        m = ADDRESS.match(text, pos) or _ADDRESS_AT_RUN.search(text, pos)
        if m is None:
            return found
        address = m.group(0)
        if address[0] == "'" and text[m.end():m.end() + 1] == "'":
            address = address.lstrip("'")
        found.append(address)
        pos = m.end()


#: A text given to each of several records along with text of its own (a notice's sentence
#: before each recipient's reply) is cut so that its copies together stay within the size
#: of the message, but never below this many characters: a hostile message with one long
#: shared text and many recipients would otherwise copy it into every record (quadratic).
#: Real reports share a sentence or two.
MIN_SHARED = 1000


def shared(text: str, copies: int, size: int) -> str:
    """``text`` as each of ``copies`` records gets it, for a message of ``size`` characters."""
    return text[:max(MIN_SHARED, size // max(copies, 1))]


def first_address(text: str) -> str:
    """The first address in ``text``, preferring one in angle brackets on the same line."""
    m = ANGLE_ADDRESS.search(text)
    n = search_address(text)
    if m and (n is None or m.start() <= n.start() + 1):
        return m.group(1).strip().rstrip(".")
    return n.group(0).rstrip(".") if n else ""


def named_addresses(text: str) -> set[str]:
    """The addresses ``text`` names, lowercased, each as :func:`first_address` reads it.

    For "which recipient is this line about": testing each recipient for a substring of each
    line costs recipients times lines; a line's addresses are read once and looked up.
    """
    named = {m.group(1).strip().rstrip(".").lower() for m in ANGLE_ADDRESS.finditer(text)}
    named.update(a.rstrip(".").lower() for a in find_addresses(text))
    return named


def cut(text: str, markers: Iterable[str]) -> tuple[str, str]:
    """Split ``text`` at the first line that starts with any marker (matched lowercase).

    Returns (before, after-the-marker-line). When no marker is found: (text, "").
    """
    low = text.lower()
    best = -1
    for marker in markers:
        i = low.find(marker)
        while i > 0 and low[i - 1] not in "\n":
            # Only markers at a line start (after optional spaces/dashes) count.
            j = i - 1
            while j >= 0 and low[j] in " \t-":
                j -= 1
            if j < 0 or low[j] == "\n":
                break
            i = low.find(marker, i + 1)
        if i >= 0 and (best < 0 or i < best):
            best = i
    if best < 0:
        return text, ""
    end = text.find("\n", best)
    return text[:best], ("" if end < 0 else text[end + 1:])


def attach_original(mail: Mail, text: str) -> None:
    """Record a returned message that a plain-text bounce quotes after its marker line."""
    if mail.original or not text.strip():
        return
    mail.original = text.lstrip("\n")
    mail.original_headers = headers_of(mail.original)


def recipient_from_original(mail: Mail) -> str:
    """The To of the returned message: the recipient when the bounce does not name one."""
    for name in ("To", "Envelope-To", "X-Original-To", "Delivered-To"):
        value = mail.original_header(name)
        if value:
            addr = first_address(value)
            if addr:
                return addr
    return ""


def subject_starts(mail: Mail, *prefixes: str) -> bool:
    low = mail.subject.lower().lstrip()
    return low.startswith(prefixes)


def facts_or_original(mail: Mail, facts: list[Fact]) -> list[Fact]:
    """Give recipient-less facts the returned message's To, as a last resort."""
    if any(not f.recipient for f in facts):
        rcpt = recipient_from_original(mail)
        for f in facts:
            if not f.recipient:
                f.recipient = rcpt
    return facts


_PREFIX = rx.compile(r"^(?:(?:re|fw|fwd|aw|wg)\s*:\s*)+")


def subject_key(subject: str) -> str:
    """The first two words of a Subject ("Undelivered Mail Returned..." -> "undelivered
    mail"), or the word before a colon ("Warning: message ..." -> "warning")."""
    text = _PREFIX.sub("", subject.lower().translate(_PUNCT).strip())
    words = text.split()
    if not words:
        return ""
    if ":" in words[0][1:]:
        return words[0].split(":", 1)[0]
    return " ".join(words[:2]).rstrip(":,.")


_PUNCT = str.maketrans(dict.fromkeys('[]_*"', " "))
