"""What every record gets after its detector: codes, clean text, address, time."""

from __future__ import annotations

import pytest

from bounceloop.parsing.fact import Fact
from bounceloop.parsing.finish import (
    clean_address,
    clean_diagnosis,
    prefer,
    settle_codes,
    timestamp,
)


@pytest.mark.parametrize(
    ("stated", "found", "reply", "expected"),
    [
        ("5.0.0", "5.1.1", "550", "5.1.1"),  # a bare X.0.0 is refined by the reply
        ("5.1.1", "5.1.1", "550", "5.1.1"),
        ("", "5.7.1", "550", "5.7.1"),
        ("5.2.2", "", "", "5.2.2"),
        ("4.4.7", "4.4.2", "421", "4.4.2"),  # 4.4.7 "expired" is a catch-all
        ("5.1.1", "5.7.1", "550", "5.7.1"),
        ("5.2.1", "5.2.2", "552", "5.2.1"),  # a specific stated status stands
        ("5.0.0", "4.2.2", "452", "4.2.2"),  # the class of the reply decides
    ],
)
def test_prefer(stated: str, found: str, reply: str, expected: str) -> None:
    assert prefer(stated, found, reply) == expected


def test_settle_codes_keeps_the_reply_of_the_status_class() -> None:
    fact = Fact(diagnosis="550 4.2.2 mailbox full, try later", status="")
    # "550" and "4.2.2" disagree; the enhanced code is the precise one (RFC 3463), and a 5xx
    # next to a 4.x.x status is dropped rather than kept contradicting it.
    assert settle_codes(fact) == ("4.2.2", "")
    fact = Fact(diagnosis="host said: 452 4.2.2 over quota", status="4.2.2")
    assert settle_codes(fact) == ("4.2.2", "452")


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("smtp;  550 5.1.1  user\n unknown", "550 5.1.1 user unknown"),
        ("550-5.7.26 Unauthenticated email 550-5.7.26 is not accepted 550 5.7.26 see help",
         "550 5.7.26 Unauthenticated email is not accepted see help"),
        ("X-Postfix; host not found", "host not found"),
    ],
)
def test_clean_diagnosis(text: str, clean: str) -> None:
    assert clean_diagnosis(text) == clean


@pytest.mark.parametrize(
    ("addr", "clean"),
    [("<Jane@Example.ORG>", "Jane@example.org"), ("rfc822;<a@b.example>", "a@b.example"),
     ('"a..b"@Example.org', '"a..b"@example.org'), ("a@b.example.", "a@b.example")],
)
def test_clean_address(addr: str, clean: str) -> None:
    assert clean_address(addr) == clean


@pytest.mark.parametrize(
    ("value", "iso"),
    [("Mon, 4 Mar 2024 10:00:00 +0900", "2024-03-04T01:00:00Z"),
     ("4 Mar 2024 10:00:00 -0000", "2024-03-04T10:00:00Z"),
     ("Thu, 29 Apr 2010 23:34:45 +0900 (JST)", "2010-04-29T14:34:45Z"),
     ("not a date", ""), ("", "")],
)
def test_timestamp(value: str, iso: str) -> None:
    assert timestamp(value) == iso
