"""Helpers shared by the detectors: the address readers and the cut of shared text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bounceloop.parsing.detectors import _common

PIECES = ["a", "b.c", "@", "@x.y", "+", "-", ".", "..", " ", "<", ">", "jane@example.org",
          "=", "é", "\n", "aaaa"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_address_readers_find_what_the_pattern_finds(text: str) -> None:
    # In linear time, but the same first match and the same list as ADDRESS itself (no
    # apostrophes here: find_addresses leaves out one that quotes an address).
    first = _common.search_address(text)
    expected = _common.ADDRESS.search(text)
    assert (first and first.span()) == (expected and expected.span())
    assert _common.find_addresses(text) == _common.ADDRESS.findall(text)


def test_address_readers_on_a_long_run_without_an_at() -> None:
    text = "a" * 1_000_000 + " jane@example.org"
    assert _common.first_address(text) == "jane@example.org"
    assert _common.find_addresses(text + ".x+y@example.net") == [
        "jane@example.org.x", "+y@example.net"]  # findall goes on where a match ended


def test_named_addresses_as_first_address_reads_them() -> None:
    line = "<<< 550 5.1.1 <Jane@Example.org>... User unknown; also bob@example.net."
    assert _common.named_addresses(line) == {"jane@example.org", "bob@example.net"}


def test_shared_text_is_cut_only_when_its_copies_outgrow_the_message() -> None:
    sentence = "The user's mailbox is full."
    assert _common.shared(sentence, 3, 5_000) == sentence
    long = "x" * 100_000
    assert _common.shared(long, 1, 200_000) == long
    assert len(_common.shared(long, 10_000, 200_000)) == _common.MIN_SHARED


@pytest.mark.parametrize(("text", "found"), [
    ("It was addressed to 'jane@example.org'. The following problem occurred",
     ["jane@example.org"]),
    # The apostrophe of a local part (RFC 5322 3.2.3 atext) is the address's own.
    ("addressed to o'brien@example.org.", ["o'brien@example.org"]),
    ("addressed to 'o'brien@example.org'", ["o'brien@example.org"]),
])
def test_find_addresses_leaves_out_quoting_apostrophes(text: str, found: list[str]) -> None:
    assert _common.find_addresses(text) == found
