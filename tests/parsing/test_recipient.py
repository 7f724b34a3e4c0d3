"""Every recipient a record names is one bounded, valid mailbox (issue 18, the recipient defects).

The table covers the shapes bounces write (RFC 3464 address types, RFC 5321 source routes,
gateways' ``SMTP=`` prefixes) and what must be refused; the properties check, with a check
of their own rather than the parser's, that no parse of any input emits anything else.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bounceloop.parsing import parse
from bounceloop.parsing.recipient import read, recipient

PROFILE = settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "200")),
                   deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("rfc822; jane@example.org", "jane@example.org"),
        ("RFC822;<Jane@Example.ORG>", "Jane@example.org"),
        ("utf-8; jürgen@example.de", "jürgen@example.de"),  # RFC 6533, RFC 6531
        ("smtp; jane@example.org", "jane@example.org"),
        ("SMTP=jane@example.org", "jane@example.org"),  # an X.400 gateway's proxy form
        ("smtp:jane@example.org", "jane@example.org"),
        ("rfc822; SMTP=jane@example.org", "jane@example.org"),
        # RFC 5321 section 4.1.2 A-d-l, Appendix C: the route is ignored.
        ("<@relay.example.com,@hub.example.com:jane@example.org>", "jane@example.org"),
        ("@hub.example.com:jane@example.org", "jane@example.org"),
        ('"jane doe"@example.org', '"jane doe"@example.org'),
        ("Jane Doe <jane@example.org>", "jane@example.org"),
        ("jane@[192.0.2.1]", "jane@[192.0.2.1]"),
        ("jane@example.org.", "jane@example.org"),
        ("x" * 64 + "@example.org", "x" * 64 + "@example.org"),
        # refused: not an RFC 822 address, or not within RFC 5321 section 4.5.3.1's limits
        ("/C=DE/ADMD= /PRMD=EXAMPLE/O=NORD/S=Rossi/", ""),
        ("kwagner", ""),
        ("jane@", ""),
        ("@example.org", ""),
        ("jane doe@example.org", ""),
        ("jane\x00@example.org", ""),
        ("jane@exa\tmple.org", ""),
        ("jane@example..org", ""),
        ("jane@-example.org", ""),
        ("jane<@example.org", ""),
        ("x" * 65 + "@example.org", ""),
        ("jane@" + "a" * 64 + ".example", ""),
        ("jane@" + ".".join(["a" * 60] * 5), ""),
        ("j" * 300_000 + "@example.org", ""),
        ("recipient@#example.net", ""),
        # A lone surrogate (undecodable bytes kept by surrogateescape) is no character: found
        # by tests/parsing/test_fuzz.py, it raised UnicodeEncodeError.
        ("jane@exa\udcffmple.org", ""),
        ("jane\udcff@example.org", ""),
        ('"jane\udcff"@example.org', ""),
    ],
)
def test_recipient(value: str, expected: str) -> None:
    assert recipient(value) == expected


def bounded(address: str) -> bool:
    """The test's own reading of RFC 5321 sections 4.1.2 and 4.5.3.1 (not the parser's)."""
    local, at, domain = address.rpartition("@")
    if not (at and local and domain):
        return False
    if len(local.encode()) > 64 or len(domain.encode()) > 255 or len(address.encode()) > 254:
        return False
    if any(ord(c) < 33 or ord(c) == 127 or c in "<>()[],;:@\\\"" for c in domain.strip("[]")):
        return False
    if local.startswith('"') and local.endswith('"') and len(local) >= 2:
        return not any(ord(c) < 32 or ord(c) == 127 for c in local)
    return not any(ord(c) < 33 or ord(c) == 127 or c in "<>()[],;:@\\\"" for c in local)


def _assert_bounded(raw: bytes) -> None:
    result = parse(raw)
    assert not result.error, result.error
    for record in result.records:
        assert record.recipient == "" or bounded(record.recipient), record.recipient
        assert record.original_recipient == "" or bounded(record.original_recipient)


@PROFILE
@given(st.binary(max_size=4096))
def test_no_parse_of_arbitrary_bytes_emits_an_invalid_recipient(raw: bytes) -> None:
    _assert_bounded(raw)


DSN = """From: MAILER-DAEMON@mx.example.com
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: {final}
Original-Recipient: {original}
Action: failed
Status: 5.1.1

--b--
"""

# Pieces of addresses, so that the generated values are often near-addresses.
_PIECE = st.sampled_from(["rfc822;", "x400;", "SMTP=", "@", "@hub.example:", "<", ">", '"',
                          " ", ".", "jane", "example.org", "\x01", "ü", ",", ":", "[1.2.3.4]",
                          "a" * 70, "b" * 300])


@PROFILE
@given(st.lists(st.one_of(_PIECE, st.text(max_size=8)), max_size=12).map("".join),
       st.lists(st.one_of(_PIECE, st.text(max_size=8)), max_size=12).map("".join))
def test_no_recipient_field_yields_an_invalid_recipient(final: str, original: str) -> None:
    clean = [value.replace("\r", " ").replace("\n", " ") for value in (final, original)]
    raw = DSN.format(final=clean[0], original=clean[1]).encode("utf-8", "surrogateescape")
    _assert_bounded(raw)


def test_a_300000_character_address_is_no_recipient() -> None:
    raw = DSN.format(final="rfc822; " + "j" * 300_000 + "@example.org",
                     original="rfc822; jane@example.org").encode()
    records = parse(raw).records
    assert [r.recipient for r in records] == ["jane@example.org"]


# Near-plain values: what the fast path takes, and what it must leave to the full reading.
_PLAIN_PIECE = st.sampled_from(["jane", "J.Doe", "+tag", "_x", "-", ".", "..", "@", "=",
                                "smtp=", "Example", "ORG", "a" * 63, "b" * 64, "c" * 200,
                                "ü", " ", "<", "1", "%"])


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PLAIN_PIECE, max_size=10).map("".join))
@example("jane@example.org")
@example("Jane.Doe@Example.ORG")
@example("a" * 64 + "@" + "b" * 63 + ".example")
@example("a" * 65 + "@example.org")
@example("x@" + ".".join(["a" * 63] * 4))
@example("smtp=jane@example.org")
def test_the_fast_path_reads_as_the_full_reading(value: str) -> None:
    assert recipient(value) == read(value)
