"""FakeDNS answers a real dnspython resolver with each outcome the sender must tell apart."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import dns.asyncresolver
import dns.message
import dns.nameserver
import dns.rdatatype
import dns.resolver
import pytest

from bounceloop.testing.dns import FakeDNS, Zone

ZONE = {
    ("Example.ORG.", "MX"): ["10 mx1.example.org.", "20 mx2.example.org."],
    ("mx1.example.org", "A"): ["127.0.0.2"],
    ("mx1.example.org", "AAAA"): ["::1"],
    ("example.org", "TXT"): ['"v=spf1 -all"'],
    ("null.example", "MX"): ["0 ."],
    ("alias.example", "CNAME"): ["example.org."],
    ("broken.example", "MX"): "SERVFAIL",
    ("refused.example", "MX"): "REFUSED",
    ("silent.example", "MX"): "DROP",
    ("gone.example", "MX"): "NXDOMAIN",
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeDNS]:
    async with FakeDNS(ZONE) as server:
        yield server


def resolver_for(fake: FakeDNS, lifetime: float = 0.5) -> dns.asyncresolver.Resolver:
    # Built the way the sender builds it from Settings.dns_servers, not via fake.resolver().
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver("127.0.0.1", fake.port)]
    resolver.lifetime = lifetime
    resolver.timeout = lifetime
    return resolver


async def test_listens_on_loopback_with_a_random_port(fake: FakeDNS) -> None:
    assert fake.host == "127.0.0.1"
    assert fake.port > 0


async def test_mx_answer_case_insensitive_with_or_without_dot(fake: FakeDNS) -> None:
    for name in ("example.org", "EXAMPLE.org.", "eXample.Org"):
        answer = await resolver_for(fake).resolve(name, "MX")
        # Compare case-folded: name compression points into the question, whose case wins.
        assert sorted((r.preference, r.exchange.to_text().lower()) for r in answer) == [
            (10, "mx1.example.org."), (20, "mx2.example.org.")]
    assert fake.queries[-3:] == [("example.org", "MX")] * 3


@pytest.mark.parametrize(("name", "rdtype", "expected"), [
    ("mx1.example.org", "A", ["127.0.0.2"]),
    ("mx1.example.org", "AAAA", ["::1"]),
    ("example.org", "TXT", ['"v=spf1 -all"']),
    ("null.example", "MX", ["0 ."]),
])
async def test_answers(fake: FakeDNS, name: str, rdtype: str, expected: list[str]) -> None:
    answer = await resolver_for(fake).resolve(name, rdtype)
    assert [r.to_text() for r in answer] == expected


async def test_cname_is_followed_inside_the_zone(fake: FakeDNS) -> None:
    answer = await resolver_for(fake).resolve("alias.example", "MX")
    assert answer.canonical_name.to_text() == "example.org."
    assert sorted(r.preference for r in answer) == [10, 20]
    cname = await resolver_for(fake).resolve("alias.example", "CNAME")
    assert [r.to_text() for r in cname] == ["example.org."]


@pytest.mark.parametrize(("name", "rdtype", "error"), [
    ("nowhere.example", "MX", dns.resolver.NXDOMAIN),
    ("gone.example", "MX", dns.resolver.NXDOMAIN),
    ("mx1.example.org", "MX", dns.resolver.NoAnswer),  # present name, other type: NODATA
    ("broken.example", "MX", dns.resolver.NoNameservers),  # SERVFAIL
    ("refused.example", "MX", dns.resolver.NoNameservers),
])
async def test_failures(fake: FakeDNS, name: str, rdtype: str,
                        error: type[Exception]) -> None:
    with pytest.raises(error):
        await resolver_for(fake).resolve(name, rdtype)
    assert fake.queries[-1] == (name, rdtype)


async def test_servfail_is_a_real_servfail_rcode(fake: FakeDNS) -> None:
    query = dns.message.make_query("broken.example", "MX")
    response = dns.message.from_wire(fake.respond(query.to_wire(), udp=True) or b"")
    assert dns.rcode.to_text(response.rcode()) == "SERVFAIL"


async def test_drop_makes_the_resolver_time_out(fake: FakeDNS) -> None:
    started = time.monotonic()
    with pytest.raises(dns.resolver.LifetimeTimeout):
        await resolver_for(fake, lifetime=0.3).resolve("silent.example", "MX")
    assert time.monotonic() - started >= 0.3
    assert ("silent.example", "MX") in fake.queries


async def test_zone_changes_apply_to_the_next_query(fake: FakeDNS) -> None:
    with pytest.raises(dns.resolver.NoNameservers):
        await resolver_for(fake).resolve("broken.example", "MX")
    fake.zone[("broken.example", "MX")] = ["5 mx.broken.example."]
    answer = await resolver_for(fake).resolve("broken.example", "MX")
    assert [r.to_text() for r in answer] == ["5 mx.broken.example."]
    fake.zone = {("other.example", "A"): ["127.0.0.9"]}
    with pytest.raises(dns.resolver.NXDOMAIN):
        await resolver_for(fake).resolve("broken.example", "MX")
    assert [r.to_text() for r in await resolver_for(fake).resolve("other.example", "A")] == [
        "127.0.0.9"]


async def test_any_entry_answers_every_type_of_a_name() -> None:
    async with FakeDNS({("down.example", "ANY"): "SERVFAIL",
                        ("down.example", "TXT"): ['"up"']}) as fake:
        for rdtype in ("MX", "A", "AAAA"):
            with pytest.raises(dns.resolver.NoNameservers):
                await fake.resolver(lifetime=0.5).resolve("down.example", rdtype)
        txt = await fake.resolver().resolve("down.example", "TXT")
        assert [r.to_text() for r in txt] == ['"up"']


async def test_empty_list_is_nodata() -> None:
    async with FakeDNS({("nomx.example", "MX"): []}) as fake:
        with pytest.raises(dns.resolver.NoAnswer):
            await fake.resolver().resolve("nomx.example", "MX")
        with pytest.raises(dns.resolver.NoAnswer):
            await fake.resolver().resolve("nomx.example", "A")


async def test_large_answer_is_truncated_over_udp_and_served_over_tcp() -> None:
    texts = [f'"{i:02d}{"x" * 200}"' for i in range(10)]  # ~2 kB: over 512 and 1232 octets
    async with FakeDNS({("big.example", "TXT"): texts}) as fake:
        query = dns.message.make_query("big.example", "TXT", use_edns=False)
        udp = dns.message.from_wire(fake.respond(query.to_wire(), udp=True) or b"",
                                    raise_on_truncation=False)
        assert udp.flags & dns.flags.TC
        fake.queries.clear()
        answer = await fake.resolver().resolve("big.example", "TXT")
        assert sorted(r.to_text() for r in answer) == sorted(texts)
        # dnspython saw TC over UDP and asked again over TCP: two queries.
        assert fake.queries == [("big.example", "TXT")] * 2
        tcp = await fake.resolver().resolve("big.example", "TXT", tcp=True)
        assert len(tcp) == 10


async def test_resolver_helper_targets_this_server(fake: FakeDNS) -> None:
    resolver = fake.resolver(lifetime=0.4)
    assert resolver.lifetime == 0.4
    assert [(ns.address, ns.port) for ns in resolver.nameservers] == [  # type: ignore[union-attr]
        ("127.0.0.1", fake.port)]
    answer = await resolver.resolve("mx1.example.org", "A")
    assert [r.to_text() for r in answer] == ["127.0.0.2"]


def test_zone_normalises_and_validates() -> None:
    zone = Zone({("A.Example.", "mx"): ["10 b.example."]})
    assert zone[("a.example", "MX")] == ["10 b.example."]
    assert list(zone) == [("a.example", "MX")]
    assert zone[("a.example", dns.rdatatype.MX)] == ["10 b.example."]
    del zone[("A.EXAMPLE", "MX")]
    assert len(zone) == 0
    with pytest.raises(ValueError, match="want a list of records"):
        zone[("x.example", "MX")] = "TIMEOUT"
    with pytest.raises(dns.exception.SyntaxError):
        zone[("x.example", "MX")] = ["not a preference"]
    with pytest.raises(ValueError, match="ANY"):
        zone[("x.example", "ANY")] = ["1.2.3.4"]


async def test_close_releases_the_port() -> None:
    fake = FakeDNS({("a.example", "A"): ["127.0.0.1"]})
    await fake.start()
    port = fake.port
    await fake.close()
    with pytest.raises(dns.resolver.LifetimeTimeout):
        await resolver_for(fake, lifetime=0.2).resolve("a.example", "A")
    assert fake.port == port
