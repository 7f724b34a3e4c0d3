"""Which addresses we may connect to on a user's behalf (MX hosts, webhook URLs).

Private (RFC 1918, fc00::/7), loopback, link-local (169.254/16, where cloud metadata
services answer), shared, reserved, unspecified and multicast addresses are refused unless
the operator lists their network in ``BOUNCELOOP_ALLOWED_TARGET_NETWORKS``: a recipient
domain or a webhook URL must not turn bounceloop into a probe of its own network (SSRF).

An IPv6 address that carries IPv4 addresses (:func:`embedded_ipv4`) is judged by them
too: refused when any of them would be, allowed when the allow-list holds them all (it is
the IPv4 network that is allowed, as for the IPv4 address itself), and otherwise judged as
the IPv6 address it is. Else ``[::127.0.0.1]`` or ``[64:ff9b::a9fe:a9fe]`` would reach
127.0.0.1 or 169.254.169.254 past a guard that refuses those.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address, IPv6Network

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Prefixes whose addresses carry an IPv4 address in their last 32 bits: IPv4-compatible
#: addresses (RFC 4291 2.5.5.1, deprecated but still parsed and routed by some stacks) and
#: the NAT64 Well-Known Prefix (RFC 6052 2.1; a /96 puts the IPv4 address last, 2.2).
_LAST_32_BITS = (IPv6Network("::/96"), IPv6Network("64:ff9b::/96"))
#: The local-use translation prefix (RFC 8215): its IPv4 address sits where the local
#: network's prefix length puts it (any of RFC 6052 2.2's /48 to /96), which we cannot know
#: from the address, and the prefix is not globally reachable. So it is refused unless the
#: operator allows the IPv6 network itself.
_LOCAL_NAT64 = IPv6Network("64:ff9b:1::/48")


def networks(cidrs: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


def embedded_ipv4(addr: IPv6Address) -> tuple[IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries, or () if it carries none."""
    if addr.ipv4_mapped is not None:  # ::ffff:0:0/96 (RFC 4291 2.5.5.2)
        return (addr.ipv4_mapped,)
    if addr.sixtofour is not None:  # 2002:V4ADDR::/48 (RFC 3056 2)
        return (addr.sixtofour,)
    if addr.teredo is not None:
        # 2001::/32 (RFC 4380 4): the server's IPv4 address in bits 32-63 and the
        # client's, inverted, in the last 32 bits; the call may reach either.
        return addr.teredo
    # :: and ::1 are the unspecified and loopback addresses (RFC 4291 2.5.2, 2.5.3), not
    # IPv4-compatible ones.
    if int(addr) > 1 and any(addr in net for net in _LAST_32_BITS):
        return (IPv4Address(int(addr) & 0xFFFF_FFFF),)
    return ()


def forbidden(ip: str, allowed: Iterable[Network] = ()) -> bool:
    """True when ``ip`` is not a public unicast address and no allowed network holds it."""
    addr = ipaddress.ip_address(ip)
    allowed = list(allowed)
    if isinstance(addr, IPv6Address):
        inner = embedded_ipv4(addr)
        if any(_refused(v4, allowed) for v4 in inner):
            return True
        if inner and all(_listed(v4, allowed) for v4 in inner):
            return False
        if addr in _LOCAL_NAT64:
            return not _listed(addr, allowed)
    return _refused(addr, allowed)


def _listed(addr: IPv4Address | IPv6Address, allowed: list[Network]) -> bool:
    return any(addr in net for net in allowed)


def _refused(addr: IPv4Address | IPv6Address, allowed: list[Network]) -> bool:
    return not _listed(addr, allowed) and (not addr.is_global or addr.is_multicast)


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
