"""Is this a deliverable mailbox address? RFC 5321 section 4.1.2 syntax, checked strictly.

A recipient list is user input: an address we cannot send to must be reported with its line,
not discovered as an SMTP error later. Accepted::

    local@domain        local: a dot-atom (RFC 5322 atext, dots not leading, trailing or
                        doubled) or a quoted string; at most 64 octets
                        domain: dot-separated labels of letters, digits and hyphens (no
                        leading or trailing hyphen, 1-63 octets each), with at least one dot;
                        or an address literal [192.0.2.1]; internationalised names are
                        converted to their ASCII (A-label) form
    at most 254 octets in all (RFC 5321 4.5.3.1.3 less the angle brackets)

A non-ASCII local part needs SMTPUTF8 (RFC 6531), which is not supported yet: refused with
that reason.
"""

from __future__ import annotations

import functools
import ipaddress
import re

import idna

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"^{_ATEXT}(?:\.{_ATEXT})*$")
_QUOTED = re.compile(r'^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$')
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


class AddressError(ValueError):
    """Why an address was refused."""


def domain_of(address: str) -> str:
    """The domain part, lower-cased ('' when there is no @)."""
    return address.rpartition("@")[2].lower()


def normalize(address: str) -> str:
    """The address in the form we send it (domain in lower-case ASCII), or AddressError."""
    address = address.strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1].strip()
    if not address:
        raise AddressError("empty address")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise AddressError(f"not an address: {address!r}")
    if not local.isascii():
        raise AddressError(f"non-ASCII local part needs SMTPUTF8, not supported: {address!r}")
    if len(local) > 64:
        raise AddressError(f"local part longer than 64 characters: {address!r}")
    if not (_DOT_ATOM.match(local) or _QUOTED.match(local)):
        raise AddressError(f"invalid local part: {address!r}")
    # The cache keeps only names of a domain's length (a field can be megabytes long).
    domain, why = (_domain if len(domain) <= 255 else _domain.__wrapped__)(domain)
    if why:
        raise AddressError(f"{why}: {address!r}")
    full = f"{local}@{domain}"
    if len(full) > 254:
        raise AddressError(f"address longer than 254 characters: {address!r}")
    return full


# A list of a million addresses has a few thousand domains: checking each once instead of
# once per address took normalize of bench/selections.py's list from 2.4-2.9 s to 1.2-1.4 s.
@functools.lru_cache(maxsize=8192)
def _domain(domain: str) -> tuple[str, str]:
    """(the domain as we send it, '') or ('', why it is refused)."""
    if domain.startswith("[") and domain.endswith("]"):
        try:
            ipaddress.IPv4Address(domain[1:-1])
        except ValueError:
            return "", "invalid address literal"
        return domain, ""
    # One root dot ("example.org.") is dropped; "example.org.." has an empty label.
    domain = domain.removesuffix(".")
    if not domain.isascii():
        try:
            # IDNA 2008 (RFC 5891) with UTS #46 mapping, non-transitional as browsers and
            # registries now do: faß.de stays xn--fa-hia.de (Python's own "idna" codec is
            # IDNA 2003 and would send the mail to fass.de).
            domain = idna.encode(domain, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            return "", "invalid internationalised domain"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return "", "invalid domain"
    if len(domain) > 253:
        return "", "domain longer than 253 characters"
    return domain.lower(), ""


def is_valid(address: str) -> bool:
    try:
        normalize(address)
    except AddressError:
        return False
    return True
