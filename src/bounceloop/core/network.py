"""Which addresses we may connect to on a user's behalf (MX hosts, webhook URLs).

Private (RFC 1918, fc00::/7), loopback, link-local (169.254/16, where cloud metadata
services answer), shared, reserved, unspecified and multicast addresses are refused unless
the operator lists their network in ``BOUNCELOOP_ALLOWED_TARGET_NETWORKS``: a recipient
domain or a webhook URL must not turn bounceloop into a probe of its own network (SSRF).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(cidrs: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


def forbidden(ip: str, allowed: Iterable[Network] = ()) -> bool:
    """True when ``ip`` is not a public unicast address and no allowed network holds it."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(addr in net for net in allowed):
        return False
    return not addr.is_global or addr.is_multicast


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
