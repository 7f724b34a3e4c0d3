"""Trusted feedback loops (inbound.feedback): a complaint signed by a domain the operator
named ties by the address it names; any other complaint without our signed reference is
only a claim.

The reports are signed with dkimpy under a key made here, and the key is published by a
real DNS server on 127.0.0.1 (FakeDNS), which the verification asks through the resolver
the settings name.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine, select

from bounceloop.config import Settings
from bounceloop.inbound.feedback import FeedbackTrust
from bounceloop.inbound.process import Context
from bounceloop.storage.tables import suppressions
from bounceloop.testing import FakeDNS, bounces
from tests.inbound.test_process import DOMAIN, SECRET, World

FBL = "fbl.isp.test"
SELECTOR = "s2026"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
PUBLIC = base64.b64encode(KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def txt(value: str) -> str:
    """A TXT record's text: strings of at most 255 characters (RFC 1035 3.3.14)."""
    return " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))


def signed_arf(recipient: str, domain: str = FBL) -> bytes:
    """An ARF report as a feedback loop that strips the complained-about copy sends it,
    DKIM-signed by ``domain``."""
    raw = bounces.arf(recipient, b"Subject: (redacted)\r\n\r\n(redacted)\r\n")
    raw = b"Message-ID: <r1@" + domain.encode() + b">\r\n" + raw
    signature = dkim.sign(raw, SELECTOR.encode(), domain.encode(), PRIVATE,
                          include_headers=[b"from", b"subject", b"date", b"message-id",
                                           b"content-type"])
    return bytes(signature) + raw


@pytest.fixture
async def dns() -> AsyncIterator[FakeDNS]:
    zone = {(f"{SELECTOR}._domainkey.{d}", "TXT"): [txt(f"v=DKIM1; k=rsa; p={PUBLIC}")]
            for d in (FBL, "other.test")}
    async with FakeDNS(zone) as server:
        yield server


def world_trusting(engine: Engine, dns: FakeDNS, *domains: str) -> World:
    world = World(engine)
    world.ctx = Context.of(Settings(bounce_domain=DOMAIN, verp_secret=SECRET,
                                    dns_servers=[f"{dns.host}:{dns.port}"],
                                    trusted_feedback_domains=list(domains)))
    return world


def entries(world: World) -> list[Any]:
    with world.engine.connect() as conn:
        return [(r.value, r.reason) for r in conn.execute(select(suppressions))]


async def test_a_signed_complaint_from_a_trusted_loop_ties_by_its_recipient(
        engine: Engine, dns: FakeDNS) -> None:
    world = world_trusting(engine, dns, "isp.test")  # a parent of the signing domain
    rid = world.receive(signed_arf("ann@dest.test"))
    # In a thread: the DNS server answers from this test's event loop.
    await asyncio.to_thread(world.process, rid)
    row = world.row(rid)
    assert (row.message_id, row.recipient, row.tied_by, row.kind) == (
        world.id["ann@dest.test"], "ann@dest.test", "fbl", "complaint")
    assert [t for t, _, _ in world.events()] == ["bounce", "complaint"]
    assert entries(world) == [("ann@dest.test", "complaint")]
    assert ("fbl.isp.test", f"{SELECTOR}._domainkey.fbl.isp.test") == (
        FBL, dns.queries[-1][0])


@pytest.mark.parametrize("case", ["not trusted", "not configured", "tampered", "other signer",
                                  "never mailed"])
async def test_otherwise_a_complaint_without_our_reference_ties_nothing(
        engine: Engine, dns: FakeDNS, case: str) -> None:
    world = world_trusting(engine, dns, FBL)
    raw = signed_arf("ann@dest.test")
    if case == "not trusted":
        world.ctx = replace(world.ctx, feedback=FeedbackTrust(["isp2.test"]))
    elif case == "not configured":
        world.ctx = replace(world.ctx, feedback=None)
    elif case == "tampered":  # the signature no longer covers what the report says
        raw = raw.replace(b"Original-Rcpt-To: <ann@dest.test>",
                          b"Original-Rcpt-To: <bob@dest.test>")
        raw = raw.replace(b"Subject: Abuse report", b"Subject: Abuse report!")
    elif case == "other signer":  # signed, verifiable, by a domain nobody trusted
        raw = signed_arf("ann@dest.test", "other.test")
    elif case == "never mailed":
        raw = signed_arf("nobody@dest.test")
    rid = world.receive(raw)
    await asyncio.to_thread(world.process, rid)
    row = world.row(rid)
    assert (row.message_id, row.tied_by) == (None, "")
    assert [t for t, _, _ in world.events()] == ["bounce"]
    assert entries(world) == []
    if case == "other signer":  # its d= was not trusted: no key was even asked for
        assert not [q for q in dns.queries if "other.test" in q[0]]
