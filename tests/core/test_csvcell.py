"""core.csvcell: the OWASP "CSV Injection" rule every CSV writer of ours applies, and its
exact inverse for the suppression import."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bounceloop.core.csvcell import TRIGGERS, cell, neutralise, restore


@pytest.mark.parametrize(("value", "written"), [
    # Each character OWASP names as the start of a formula.
    ("=1+2", "'=1+2"),
    ('=HYPERLINK("http://evil.test","x")', '\'=HYPERLINK("http://evil.test","x")'),
    ("+ann@dest.test", "'+ann@dest.test"),
    ("-ann@dest.test", "'-ann@dest.test"),
    ("-5", "'-5"),                      # text that looks like a number is still text
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tcmd", "'\tcmd"),
    ("\rcmd", "'\rcmd"),
    # Quotes before a trigger get one more, so the prefix can be undone exactly.
    ("'=1+2", "''=1+2"),
    ("''-x", "'''-x"),
    # Nothing to do.
    ("ann@dest.test", "ann@dest.test"),
    ("550 5.1.1 user unknown", "550 5.1.1 user unknown"),
    ("a=b", "a=b"),
    (" =1+2", " =1+2"),                 # a space first: not a formula
    ("\n=1", "\n=1"),
    ("'quoted", "'quoted"),
    ("'", "'"),
    ("''", "''"),
    ("", ""),
])
def test_neutralise_table(value: str, written: str) -> None:
    assert neutralise(value) == written
    assert restore(written) == value


@pytest.mark.parametrize("number", [-3, -0.5, 0, 7, 2**40, -(2**63)])
def test_numbers_are_numbers_by_construction_and_written_as_they_are(number: float) -> None:
    assert neutralise(number) is number
    assert cell(number) is number
    buf = io.StringIO()
    csv.writer(buf).writerow([cell(number)])
    assert buf.getvalue() == f"{number}\r\n"


@pytest.mark.parametrize(("value", "written"), [
    (None, ""),
    (True, "true"),
    (False, "false"),
    (datetime(2026, 11, 22, 10, 30, tzinfo=UTC), "2026-11-22T10:30:00+00:00"),
    (date(2026, 11, 22), "2026-11-22"),
    ({"a": "=1"}, '{"a": "=1"}'),
    (["-x"], '["-x"]'),
    (b"=cmd", "'=cmd"),
    ("=cmd", "'=cmd"),
    ("ünï", "ünï"),
])
def test_cell_table(value: object, written: str) -> None:
    assert cell(value) == written


#: Any text, and texts made of quotes, triggers and a letter (where the edge cases are).
TEXTS = st.one_of(st.text(), st.text(alphabet="'=+-@\t\r a"))


@given(TEXTS)
def test_restore_undoes_neutralise_for_every_text(text: str) -> None:
    assert restore(neutralise(text)) == text


@given(TEXTS)
def test_nothing_written_begins_with_a_trigger(text: str) -> None:
    out = neutralise(text)
    assert isinstance(out, str)
    assert out[:1] not in {"=", "+", "-", "@", "\t", "\r"}  # OWASP's list, spelled out


@given(TEXTS.filter(lambda t: t[:1] not in TRIGGERS))
def test_every_cell_we_could_write_has_one_text_behind_it(written: str) -> None:
    # Unambiguous: a cell neutralise could have written (none begins with a trigger) is
    # the image of exactly one text, the one restore gives.
    assert neutralise(restore(written)) == written
