"""A failed recipient as a record names it: one bounded, syntactically valid mailbox, or "".

Every detector's recipient passes through :func:`recipient` (in ``finish``), so no format can
emit something that is not an address. Bounces name recipients in many shapes:

- an address type before it: RFC 3464 section 2.3.2 ``rfc822; jane@example.org``, RFC 6533
  ``utf-8;``; MTAs also write ``smtp;`` and Exchange 5.5 / X.400 gateways ``SMTP=`` or
  ``smtp:``. The type goes; an X.400 (``x400; /C=US/...``) or host-local name is not an
  RFC 822 address and yields "" (``dsn`` prefers the field that is one);
- a source route, RFC 5321 section 4.1.2 ``@relay.example,@hub.example:jane@example.org``
  (Appendix C: it must be accepted and ignored): reduced to ``jane@example.org``;
- brackets and quotes around the whole of it, and trailing punctuation of the sentence.

What is left must be a mailbox (RFC 5321 section 4.1.2): a local part that is a dot-atom or a
quoted string, RFC 6531 letting both hold UTF-8, an ``@``, and a domain of dot-separated
labels or an address literal, within RFC 5321 section 4.5.3.1's limits: local part at most
64 octets, domain at most 255, the path (the address in its angle brackets) at most 256. A
control character, white space or a bracket outside a quoted local part, a missing ``@`` and
anything longer is refused: a 300,000-character "address" or stray bytes are not a recipient.
"""

from __future__ import annotations

import re

from bounceloop.core import rx

#: RFC 5321 section 4.5.3.1.1-3 (octets).
MAX_LOCAL = 64
MAX_DOMAIN = 255
MAX_PATH = 256
#: A value longer than this cannot hold a valid address with its type, route and brackets;
#: it is refused before any pattern reads it.
MAX_INPUT = 2 * MAX_PATH + 64

# RFC 6531 section 3.3's UTF8-non-ascii: any character above U+007F that UTF-8 can encode
# (RFC 3629 section 3: not the surrogates, which a decoder's surrogateescape leaves for bytes
# that were not UTF-8).
_UTF8 = r"\u0080-\ud7ff\ue000-\U0010ffff"
# RFC 5322 atext and UTF8-non-ascii.
_ATOM = rf"[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~\-{_UTF8}]+"
_DOT_ATOM = rx.compile(rf"{_ATOM}(?:\.{_ATOM})*")
# RFC 5321 Quoted-string: qtextSMTP (printable ASCII but " and \, and UTF-8 under RFC 6531)
# or a backslash before a printable character.
_QUOTED = rx.compile(rf'"(?:[\x20\x21\x23-\x5b\x5d-\x7e{_UTF8}]|\\[\x20-\x7e])*"')
# A label of letters, digits and hyphens (RFC 5321 Let-dig / Ldh-str), UTF-8 letters for an
# internationalised name in U-labels (RFC 6531), "_" because real domains' hosts carry it.
_LETDIG = rf"[A-Za-z0-9_{_UTF8}]"
_LABEL = rf"{_LETDIG}(?:[A-Za-z0-9_\-{_UTF8}]*{_LETDIG})?"
_DOMAIN = rx.compile(rf"{_LABEL}(?:\.{_LABEL})*")
# RFC 5321 address-literal: [IPv4], [IPv6:...], or a General-address-literal [tag:content].
_LITERAL = rx.compile(r"\[(?:[0-9.]+|[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+)\]")
# An address type (RFC 3464 section 2.3.2 "rfc822;", RFC 6533 "utf-8;", the "smtp;" MTAs
# write) or an Exchange / X.400 gateway's "SMTP=" or "smtp:" proxy prefix.
_TYPE = rx.compile(r"(?i)^\s*(?:(rfc822|utf-8|smtp|x-[\w-]+)\s*;|smtp\s*[=:])\s*")
# The angle-bracketed address at the end of a name-addr ("Jane <jane@example.org>"; unwrap
# has dropped the closing bracket).
_ANGLED = rx.compile(r"<([^<>]*@[^<>]*)>?\s*$")
# RFC 5321 A-d-l: "@one.example,@two.example:" before the mailbox.
_ROUTE = rx.compile(r"^@[^:,@\s]+(?:\s*,\s*@[^:,@\s]+)*\s*:\s*")


def unwrap(addr: str) -> str:
    """An address without the brackets or quotes around the *whole* of it.

    ``"jane doe"@example.org`` keeps its quotes: RFC 5321 section 4.1.2 allows a quoted
    local part, and dropping one of the quotes would name another mailbox.
    """
    # Layer by layer, by index: a copy of what is left per layer is quadratic in "<<<<...>>>>".
    start, end = 0, len(addr)
    start, end = _strip(addr, start, end)
    while end - start >= 2 and (addr[start], addr[end - 1]) in _PAIRS:
        inner_start, inner_end = _strip(addr, start + 1, end - 1)
        if addr[start] == '"' and addr.find('"', inner_start, inner_end) >= 0:
            break  # "a"@"b" style: the quotes belong to the parts
        start, end = inner_start, inner_end
    return addr[start:end].lstrip("<").rstrip(">").strip()


_PAIRS = frozenset({("<", ">"), ('"', '"'), ("'", "'")})


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of text[start:end].strip() in ``text``."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# The usual value, a bare ASCII mailbox ("jane.doe+x@mx1.example.org"): one match, where the
# full reading below unwraps, looks for a type and a route, then checks the parts one by one
# (three times per recipient of a report: its field, its record, the one-per-recipient key).
# Only characters that none of those steps strips or reads specially ("=" would make
# "smtp=" a gateway's prefix); labels of at most 63 characters (RFC 1035 2.3.4).
_PLAIN_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_\-]{0,61}[A-Za-z0-9_])?"
_PLAIN = rx.compile(
    rf"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*@{_PLAIN_LABEL}(?:\.{_PLAIN_LABEL})*",
    re.ASCII)


def recipient(value: str) -> str:
    """The mailbox ``value`` names, as records print it (domain in lower case; RFC 5321
    section 2.4 keeps the local part's case), or "" when it names none."""
    if len(value) > MAX_INPUT:
        return ""
    if _PLAIN.fullmatch(value):
        local, _, domain = value.rpartition("@")
        if len(local) <= MAX_LOCAL and len(local) + len(domain) + 3 <= MAX_PATH:
            return f"{local}@{domain.lower()}"
    return read(value)


def read(value: str) -> str:
    """:func:`recipient` without its fast path: the full reading of any value."""
    if len(value) > MAX_INPUT:
        return ""
    address = unwrap(value)
    for _ in range(2):  # "rfc822; SMTP=jane@example.org": a type, then a gateway's prefix
        typed = _TYPE.match(address)
        if typed is None:
            break
        address = unwrap(address[typed.end():])
    route = _ROUTE.match(address)
    if route:
        address = unwrap(address[route.end():])
    found = mailbox(address.rstrip(".,;:"))
    if not found and "<" in address:
        # A display name before it ("Jane Doe <jane@example.org>", RFC 5322 name-addr).
        angled = _ANGLED.search(address)
        if angled:
            return read(angled.group(1))
    return found


def mailbox(address: str) -> str:
    """``address`` with its domain lower-cased if it is a bounded RFC 5321 Mailbox, else ""."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return ""
    if not (_DOT_ATOM.fullmatch(local) or _QUOTED.fullmatch(local)):
        return ""
    domain = domain.lower()
    if not (_LITERAL.fullmatch(domain) or _valid_domain(domain)):
        return ""
    if len(local.encode()) > MAX_LOCAL or len(domain.encode()) > MAX_DOMAIN:
        return ""
    if len(local.encode()) + 1 + len(domain.encode()) + 2 > MAX_PATH:
        return ""
    return f"{local}@{domain}"


def _valid_domain(domain: str) -> bool:
    if not _DOMAIN.fullmatch(domain.removesuffix(".")):
        return False
    # A label is at most 63 octets (RFC 1035 section 2.3.4, cited by RFC 5321 4.5.3.1.2).
    return all(len(label.encode()) <= 63 for label in domain.split("."))


__all__ = ["MAX_DOMAIN", "MAX_LOCAL", "MAX_PATH", "mailbox", "read", "recipient", "unwrap"]
