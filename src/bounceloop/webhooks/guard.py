"""The SSRF guard of webhook URLs: http(s) only, and never an internal address.

A URL is checked when a webhook is added and again before every call (DNS can change
between the two, the trick of DNS rebinding): its host - a name is resolved, A and AAAA -
must give only public unicast addresses, unless the operator allowed the network
(``BOUNCELOOP_ALLOWED_TARGET_NETWORKS``, core.network). One forbidden address among the
answers refuses the URL: the connection could go to any of them. An IPv6 address that
carries an IPv4 address (IPv4-mapped or -compatible, NAT64, 6to4, Teredo) is judged by
that IPv4 address too, and a refusal names it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from bounceloop.core.network import Network, embedded_ipv4, forbidden, is_ip
from bounceloop.delivery.resolver import Resolver


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str


def check_url(url: str) -> Refused | None:
    """The URL's form: an absolute http(s) URL with a host (and a valid port), in visible
    ASCII: a space or control character would end the request line it goes into (and
    urlsplit drops tabs, CR and LF unseen), a non-ASCII one cannot be sent as it is."""
    if not url.isascii() or not url.isprintable() or " " in url:
        return Refused("the URL has a space, a control or a non-ASCII character "
                       "(percent-encode it; an international domain name in its xn-- form)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return Refused(f"not a URL: {exc}")
    if parts.scheme not in ("http", "https"):
        return Refused(f"only http and https URLs are allowed, not {parts.scheme or 'none'!r}")
    if not parts.hostname:
        return Refused("the URL has no host")
    if port == 0:
        return Refused("port 0")
    return None


async def addresses(url: str, resolver: Resolver, allowed: list[Network]
                    ) -> list[str] | Refused:
    """The addresses a call to ``url`` may connect to, or why it must not be made."""
    bad = check_url(url)
    if bad is not None:
        return bad
    host = urlsplit(url).hostname or ""
    if is_ip(host):
        ips = [host]
    else:
        found = await resolver.addresses(host.rstrip(".") + ".")
        if not isinstance(found, list):
            return Refused(f"cannot resolve {host}: {found.description}")
        if not found:
            return Refused(f"{host} has no address")
        ips = found
    refused = [ip for ip in ips if forbidden(ip, allowed)]
    if refused:
        return Refused(f"{host} resolves to a private, loopback, link-local or reserved address "
                       f"({_shown(refused[0])}); allow its network in "
                       f"BOUNCELOOP_ALLOWED_TARGET_NETWORKS if that is intended")
    return ips


def _shown(ip: str) -> str:
    """The address, and the IPv4 addresses it carries (they are what the guard judged)."""
    addr = ipaddress.ip_address(ip)
    inner = embedded_ipv4(addr) if isinstance(addr, ipaddress.IPv6Address) else ()
    return f"{ip}, which carries {' and '.join(map(str, inner))}" if inner else ip
