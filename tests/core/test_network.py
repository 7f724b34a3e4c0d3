"""core.network: which addresses we may connect to, and the IPv4 addresses an IPv6 address
carries (IPv4-mapped and -compatible, NAT64, 6to4, Teredo), judged as those IPv4
addresses would be."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from bounceloop.core.network import embedded_ipv4, forbidden, networks

#: (address, the IPv4 addresses it carries, refused with no allow-list). The carried
#: addresses are worked out by hand from the RFCs, not by the code under test.
FORMS = [
    # IPv4-mapped, ::ffff:0:0/96 (RFC 4291 2.5.5.2)
    ("::ffff:127.0.0.1", ["127.0.0.1"], True),
    ("::ffff:808:808", ["8.8.8.8"], False),
    # IPv4-compatible, ::/96 (RFC 4291 2.5.5.1)
    ("::127.0.0.1", ["127.0.0.1"], True),
    ("::7f00:1", ["127.0.0.1"], True),
    ("::a9fe:a9fe", ["169.254.169.254"], True),
    ("::a01:203", ["10.1.2.3"], True),
    ("::808:808", ["8.8.8.8"], False),
    # NAT64 Well-Known Prefix, 64:ff9b::/96 (RFC 6052 2.1, 2.2)
    ("64:ff9b::7f00:1", ["127.0.0.1"], True),
    ("64:ff9b::a9fe:a9fe", ["169.254.169.254"], True),
    ("64:ff9b::c0a8:10a", ["192.168.1.10"], True),
    ("64:ff9b::808:808", ["8.8.8.8"], False),
    # 6to4, 2002:V4ADDR::/48 (RFC 3056 2). (2002:808:808::1 is left out: Python 3.11.10
    # and later call 2002::/16 not global, earlier versions global.)
    ("2002:7f00:1::1", ["127.0.0.1"], True),
    ("2002:a9fe:a9fe::", ["169.254.169.254"], True),
    ("2002:a01:203:1::5", ["10.1.2.3"], True),
    # Teredo, 2001::/32 (RFC 4380 4): the server in bits 32-63, the client inverted in the
    # last 32 (~7f00:0001 = 80ff:fffe, ~a9fe:a9fe = 5601:5601, ~0808:0808 = f7f7:f7f7).
    ("2001:0:7f00:1::f7f7:f7f7", ["127.0.0.1", "8.8.8.8"], True),
    ("2001:0:808:808::80ff:fffe", ["8.8.8.8", "127.0.0.1"], True),
    ("2001:0:808:808::5601:5601", ["8.8.8.8", "169.254.169.254"], True),
    ("2001:0:808:808::f7f7:f7f7", ["8.8.8.8", "8.8.8.8"], True),  # 2001::/32 is not global
    # Nothing carried.
    ("::", [], True),                       # unspecified (RFC 4291 2.5.2), not compatible
    ("::1", [], True),                      # loopback (RFC 4291 2.5.3)
    ("fd00::1", [], True),
    ("64:ff9b:1::808:808", [], True),       # RFC 8215: where the IPv4 sits is local
    ("64:ff9b:1:7f00:1::", [], True),
    ("2606:2800:220:1::1", [], False),
]


@pytest.mark.parametrize(("ip", "carried", "refused"), FORMS)
def test_each_form_carries_its_ipv4_and_is_refused_like_it(ip: str, carried: list[str],
                                                           refused: bool) -> None:
    assert [str(a) for a in embedded_ipv4(IPv6Address(ip))] == carried
    assert forbidden(ip) is refused


#: (address, allowed networks, refused): the allow-list exempts the IPv4 network an address
#: carries, as it does for the IPv4 address itself; allowing the IPv6 prefix does not
#: allow the IPv4 addresses behind it.
ALLOWED = [
    ("::127.0.0.1", ["127.0.0.0/8"], False),
    ("64:ff9b::7f00:1", ["127.0.0.0/8"], False),
    ("2002:7f00:1::1", ["127.0.0.0/8"], False),
    ("::ffff:127.0.0.1", ["127.0.0.0/8"], False),
    ("2001:0:7f00:1::80ff:fffe", ["127.0.0.0/8"], False),   # server and client allowed
    ("2001:0:7f00:1::f7f7:f7f7", ["127.0.0.0/8"], True),    # the client is not
    ("64:ff9b::a9fe:a9fe", ["127.0.0.0/8"], True),
    ("64:ff9b::a9fe:a9fe", ["64:ff9b::/96"], True),
    ("::ffff:a9fe:a9fe", ["::ffff:0:0/96"], True),
    ("2001:0:7f00:1::f7f7:f7f7", ["2001::/32"], True),
    ("2001:0:808:808::f7f7:f7f7", ["2001::/32"], False),
    ("64:ff9b:1::a9fe:a9fe", ["169.254.0.0/16"], True),     # not judged by a guess
    ("64:ff9b:1::a9fe:a9fe", ["64:ff9b:1::/48"], False),    # the operator's own translator
    ("::1", ["::1/128"], False),
    ("10.9.9.9", ["10.0.0.0/8"], False),
]


@pytest.mark.parametrize(("ip", "allowed", "refused"), ALLOWED)
def test_the_allow_list(ip: str, allowed: list[str], refused: bool) -> None:
    assert forbidden(ip, networks(allowed)) is refused
