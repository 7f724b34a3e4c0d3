"""Step 1 against a real DNS server on 127.0.0.1 (RFC 5321 section 5.1, RFC 7505)."""

from __future__ import annotations

import random

import pytest

from bounceloop.config import Settings
from bounceloop.delivery.resolver import Resolver, Target
from bounceloop.delivery.result import StepResult
from bounceloop.testing import FakeDNS

ZONE = {
    ("multi.test", "MX"): ["20 mx2.multi.test.", "10 mx1.multi.test."],
    ("mx1.multi.test", "A"): ["127.0.0.2"],
    ("mx2.multi.test", "A"): ["127.0.0.3"],
    ("implicit.test", "A"): ["127.0.0.4"],
    ("nullmx.test", "MX"): ["0 ."],
    ("gone.test", "MX"): "NXDOMAIN",
    ("broken.test", "MX"): "SERVFAIL",
    ("slow.test", "MX"): "DROP",
    ("private.test", "MX"): ["10 mx.private.test."],
    ("mx.private.test", "A"): ["10.1.2.3", "192.168.1.1"],
    ("dangling.test", "MX"): ["10 nowhere.dangling.test."],
    ("halfbroken.test", "MX"): ["10 mx.halfbroken.test."],
    ("mx.halfbroken.test", "A"): "SERVFAIL",
    # An IPv6 address carrying 169.254.169.254 (NAT64, RFC 6052) is as private as it.
    ("nat64.test", "MX"): ["10 mx.nat64.test."],
    ("mx.nat64.test", "AAAA"): ["64:ff9b::a9fe:a9fe"],
}


def _resolver(dns: FakeDNS, **extra: object) -> Resolver:
    values: dict[str, object] = {"allowed_target_networks": ["127.0.0.0/8"], **extra}
    settings = Settings(dns_servers=[f"{dns.host}:{dns.port}"], dns_timeout=0.5, mx_port=2525,
                        **values)  # type: ignore[arg-type]
    return Resolver(settings, random.Random(1))


async def test_mx_order_and_implicit_mx() -> None:
    async with FakeDNS(ZONE) as dns:
        r = _resolver(dns)
        assert await r.route("Multi.Test") == [Target("mx1.multi.test", "127.0.0.2", 2525, 10),
                                               Target("mx2.multi.test", "127.0.0.3", 2525, 20)]
        assert await r.route("implicit.test") == [Target("implicit.test", "127.0.0.4", 2525, 0)]


@pytest.mark.parametrize(
    ("domain", "result", "extended", "permanent", "errortype"),
    [
        ("nullmx.test", "error", "5.1.10", True, "nohost"),
        ("gone.test", "error", "5.1.2", True, "nohost"),
        ("broken.test", "error", "4.4.3", False, "nohost"),
        ("slow.test", "timeout", "4.4.3", False, "nohost"),
        ("private.test", "private", "5.4.4", True, "privateiprange"),
        ("nat64.test", "private", "5.4.4", True, "privateiprange"),
        ("dangling.test", "error", "5.4.4", True, "nohost"),
        ("halfbroken.test", "error", "4.4.3", False, "nohost"),
    ],
)
async def test_failures(domain: str, result: str, extended: str, permanent: bool,
                        errortype: str) -> None:
    async with FakeDNS(ZONE) as dns:
        got = await _resolver(dns).route(domain)
    assert isinstance(got, StepResult)
    assert (got.state, got.step, got.result, got.extended) == ("dns", 1, result, extended)
    assert got.permanent is permanent
    assert got.errortype == errortype
    assert domain.split(".")[0] in got.description


async def test_loopback_is_refused_unless_allowed() -> None:
    async with FakeDNS(ZONE) as dns:
        settings = Settings(dns_servers=[f"{dns.host}:{dns.port}"], dns_timeout=0.5)
        got = await Resolver(settings).route("implicit.test")
    assert isinstance(got, StepResult) and got.result == "private"


async def test_private_network_can_be_allowed() -> None:
    async with FakeDNS(ZONE) as dns:
        got = await _resolver(dns, allowed_target_networks=["10.0.0.0/8"]).route("private.test")
    assert got == [Target("mx.private.test", "10.1.2.3", 2525, 10)]


async def test_smarthost_skips_mx() -> None:
    async with FakeDNS(ZONE) as dns:
        got = await _resolver(dns, smarthost="127.0.0.9:2626").route("anything.test")
        assert dns.queries == []
    assert got == [Target("127.0.0.9", "127.0.0.9", 2626)]
