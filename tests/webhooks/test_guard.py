"""The SSRF guard against a real DNS server on 127.0.0.1 (FakeDNS): names that resolve to
internal addresses, literal internal addresses, rebinding mixes, and the operator's opt-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bounceloop.config import Settings
from bounceloop.core.network import forbidden, networks
from bounceloop.delivery.resolver import Resolver
from bounceloop.webhooks.guard import Refused, addresses, check_url

ZONE = {
    ("hooks.public.test", "A"): ["93.184.216.34"],
    ("loop.test", "A"): ["127.0.0.1"],
    ("ten.test", "A"): ["10.1.2.3"],
    ("meta.test", "A"): ["169.254.169.254"],
    ("six.test", "AAAA"): ["::1"],
    ("mixed.test", "A"): ["93.184.216.34", "192.168.1.10"],
    ("broken.test", "A"): "SERVFAIL",
    ("empty.test", "TXT"): ['"nothing"'],
    ("nat64.test", "AAAA"): ["64:ff9b::a9fe:a9fe"],
    ("sixtofour.test", "AAAA"): ["2002:7f00:1::1"],
    ("compat.test", "AAAA"): ["::7f00:1"],
}


@pytest.fixture
async def resolver() -> AsyncIterator[Resolver]:
    from bounceloop.testing import FakeDNS

    async with FakeDNS(ZONE) as dns:
        yield Resolver(Settings(dns_servers=[f"{dns.host}:{dns.port}"], dns_timeout=2))


@pytest.mark.parametrize("url", [
    "http://loop.test/hook", "https://ten.test/x", "http://meta.test/latest/meta-data",
    "http://six.test/", "http://mixed.test/", "http://127.0.0.1:8080/",
    "http://[::1]/", "http://169.254.169.254/", "http://10.0.0.1/", "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/", "http://224.0.0.1/",
])
async def test_internal_targets_are_refused_by_default(resolver: Resolver, url: str) -> None:
    result = await addresses(url, resolver, [])
    assert isinstance(result, Refused)
    assert "private, loopback, link-local or reserved" in result.reason


async def test_a_public_name_passes_and_an_allowed_network_opens_loopback(
        resolver: Resolver) -> None:
    assert await addresses("https://hooks.public.test/bl", resolver, []) == ["93.184.216.34"]
    allowed = networks(["127.0.0.0/8"])
    assert await addresses("http://loop.test:9000/", resolver, allowed) == ["127.0.0.1"]
    assert isinstance(await addresses("http://ten.test/", resolver, allowed), Refused)


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://hooks.public.test/", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("hooks.public.test/x", "only http and https"),
    ("http:///path", "no host"),
    ("http://hooks.public.test:99999/", "not a URL"),
    ("http://hooks.public.test/a b", "a space, a control or a non-ASCII character"),
    ("http://hooks.public.test/a\r\nX-Smuggled: 1", "a space, a control"),
    ("http://hooks.public.test/a\nb", "a space, a control"),
    ("http://hooks.public.test/a\tb", "a space, a control"),
    ("http://hooks.public.test/a\x00", "a space, a control"),
    ("http://hooks.public.test/caf\u00e9", "non-ASCII"),
    ("http://b\u00fccher.test/", "non-ASCII"),
])
def test_url_form(url: str, why: str) -> None:
    refused = check_url(url)
    assert refused is not None and why in refused.reason


async def test_names_that_do_not_resolve_are_refused_with_the_reason(
        resolver: Resolver) -> None:
    for url, why in [("http://broken.test/", "cannot resolve broken.test"),
                     ("http://empty.test/", "empty.test has no address"),
                     ("http://nowhere.test/", "nowhere.test has no address")]:
        result = await addresses(url, resolver, [])
        assert isinstance(result, Refused) and why in result.reason


def test_forbidden_table() -> None:
    assert forbidden("127.0.0.1") and forbidden("::1") and forbidden("fd00::1")
    assert forbidden("100.64.0.1") and forbidden("192.0.2.1")
    assert not forbidden("93.184.216.34") and not forbidden("2606:2800:220:1::1")
    assert not forbidden("10.9.9.9", networks(["10.0.0.0/8"]))


#: Webhook URLs whose host is an IPv6 address carrying an internal IPv4 address (mapped,
#: compatible, NAT64 RFC 6052, 6to4 RFC 3056, Teredo RFC 4380), literal or by name, and
#: the IPv4 address the refusal must name.
EMBEDDED = [
    ("http://[::127.0.0.1]/hook", "127.0.0.1"),
    ("http://[::a9fe:a9fe]/latest/meta-data", "169.254.169.254"),
    ("http://[64:ff9b::7f00:1]:8080/hook", "127.0.0.1"),
    ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data", "169.254.169.254"),
    ("https://[2002:7f00:1::1]/hook", "127.0.0.1"),
    ("http://[2002:a9fe:a9fe::1]/", "169.254.169.254"),
    ("http://[::ffff:a01:203]/", "10.1.2.3"),
    ("http://[2001:0:808:808::80ff:fffe]/", "8.8.8.8 and 127.0.0.1"),  # server, client
    ("http://nat64.test/hook", "169.254.169.254"),
    ("http://sixtofour.test/hook", "127.0.0.1"),
    ("http://compat.test/hook", "127.0.0.1"),
]


@pytest.mark.parametrize(("url", "carried"), EMBEDDED)
async def test_ipv6_carrying_an_internal_ipv4_is_refused_like_it(
        resolver: Resolver, url: str, carried: str) -> None:
    result = await addresses(url, resolver, [])
    assert isinstance(result, Refused)
    assert "private, loopback, link-local or reserved" in result.reason
    assert f"which carries {carried}" in result.reason


async def test_allowing_the_ipv4_network_allows_the_ipv6_forms_that_carry_it(
        resolver: Resolver) -> None:
    loopback = networks(["127.0.0.0/8"])
    for url, ip in [("http://[::127.0.0.1]/", "::127.0.0.1"),
                    ("http://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1"),
                    ("http://[2002:7f00:1::1]/", "2002:7f00:1::1"),
                    ("http://sixtofour.test/", "2002:7f00:1::1")]:
        assert await addresses(url, resolver, loopback) == [ip]
    for url in ("http://[64:ff9b::a9fe:a9fe]/", "http://nat64.test/"):
        assert isinstance(await addresses(url, resolver, loopback), Refused)
        assert isinstance(await addresses(url, resolver, networks(["64:ff9b::/96"])), Refused)
