"""VERP envelopes: encode/decode round trip, and every way an address is not one of ours."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bounceloop.core import verp

DOMAIN = "bounces.example.org"
SECRET = "s3cret"
MID = "3f9c2a7e51d04b18"


def test_encode_has_the_documented_shape() -> None:
    address = verp.encode(MID, DOMAIN, SECRET)
    m = re.fullmatch(r"b-([0-9a-f]{16})-([a-z2-7]{8})@bounces\.example\.org", address)
    assert m is not None, address
    assert m.group(1) == MID
    assert m.group(2) == verp.tag(MID, SECRET)


def test_tag_is_deterministic_and_depends_on_id_and_secret() -> None:
    assert verp.tag(MID, SECRET) == verp.tag(MID, SECRET)
    assert len(verp.tag(MID, SECRET)) == verp.TAG_LENGTH
    assert verp.tag(MID, SECRET) != verp.tag(MID, "other")
    assert verp.tag(MID, SECRET) != verp.tag("3f9c2a7e51d04b19", SECRET)


def test_round_trip() -> None:
    assert verp.decode(verp.encode(MID, DOMAIN, SECRET), DOMAIN, SECRET) == MID


@pytest.mark.parametrize("variant", [
    pytest.param(lambda a: a.upper(), id="all-upper"),
    pytest.param(lambda a: a.partition("@")[0].upper() + "@" + a.partition("@")[2],
                 id="upper-local-part"),
    pytest.param(lambda a: a.partition("@")[0] + "@" + a.partition("@")[2].upper(),
                 id="upper-domain"),
    pytest.param(lambda a: f"<{a}>", id="angle-brackets"),
    pytest.param(lambda a: f"  <{a}>\r\n", id="brackets-and-whitespace"),
    pytest.param(lambda a: f" {a} ", id="whitespace"),
])
def test_decode_tolerates_case_brackets_and_whitespace(variant: Callable[[str], str]) -> None:
    address = variant(verp.encode(MID, DOMAIN, SECRET))
    assert verp.decode(address, DOMAIN, SECRET) == MID


def test_domain_argument_is_case_insensitive() -> None:
    assert verp.decode(verp.encode(MID, DOMAIN, SECRET), DOMAIN.upper(), SECRET) == MID


def _forged_tag() -> str:
    real = verp.tag(MID, SECRET)
    # Another valid-looking tag (same alphabet, same length) that is not the real one.
    forged = ("a" if real[0] != "a" else "b") + real[1:]
    return f"b-{MID}-{forged}@{DOMAIN}"


def _tampered_id() -> str:
    # The tag of one id with another id: a made-up id in an otherwise valid address.
    other = MID[:-1] + ("0" if MID[-1] != "0" else "1")
    return f"b-{other}-{verp.tag(MID, SECRET)}@{DOMAIN}"


@pytest.mark.parametrize(("address", "why"), [
    (verp.encode(MID, "other.example.org", SECRET), "wrong domain"),
    (verp.encode(MID, "sub." + DOMAIN, SECRET), "subdomain of ours"),
    (verp.encode(MID, DOMAIN[4:], SECRET), "suffix of ours"),
    (_forged_tag(), "forged tag"),
    (_tampered_id(), "tampered id"),
    (verp.encode(MID, DOMAIN, "another secret"), "different secret"),
    (f"b-{MID}@{DOMAIN}", "no tag"),
    (f"b-{MID}-{verp.tag(MID, SECRET)[:7]}@{DOMAIN}", "short tag"),
    (f"b-{MID}-{verp.tag(MID, SECRET)}x@{DOMAIN}", "long tag"),
    (f"x-{MID}-{verp.tag(MID, SECRET)}@{DOMAIN}", "wrong prefix"),
    (f"b-{MID[:7]}-{verp.tag(MID[:7], SECRET)}@{DOMAIN}", "id too short"),
    (f"b-{'a' * 41}-{verp.tag('a' * 41, SECRET)}@{DOMAIN}", "id too long"),
    (f"b-{MID[:-1]}g-{verp.tag(MID[:-1] + 'g', SECRET)}@{DOMAIN}", "id not hex"),
    (f"b-{MID}-{verp.tag(MID, SECRET)}", "no domain"),
    (f"jane@{DOMAIN}", "ordinary address"),
    ("", "empty"),
    (f"prefix.b-{MID}-{verp.tag(MID, SECRET)}@{DOMAIN}", "token not the whole local part"),
])
def test_decode_refuses(address: str, why: str) -> None:
    assert verp.decode(address, DOMAIN, SECRET) is None, why


def test_tag_is_only_lower_case_base32() -> None:
    # Relays may lower-case local parts: the token must survive that unchanged.
    for n in range(50):
        mid = f"{n:016x}"
        token = verp.encode(mid, DOMAIN, SECRET).partition("@")[0]
        assert token == token.lower()
        assert re.fullmatch(r"[a-z2-7]{8}", verp.tag(mid, SECRET))


@given(st.from_regex(r"[0-9a-f]{16}", fullmatch=True),
       st.text(min_size=1, max_size=40))
def test_round_trip_property(message_id: str, secret: str) -> None:
    address = verp.encode(message_id, DOMAIN, secret)
    assert verp.decode(address, DOMAIN, secret) == message_id
    assert verp.decode(address.upper(), DOMAIN, secret) == message_id
    assert verp.decode(address, DOMAIN, secret + "x") is None
