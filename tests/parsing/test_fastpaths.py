"""Fast paths of the reader and the finisher give what their line-by-line (or email.utils)
versions give: on every part of our own samples, and on the odd cases that send them to the
slow path."""

from __future__ import annotations

import re
import time
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bounceloop.parsing import mail as mail_module
from bounceloop.parsing import mime
from bounceloop.parsing.finish import timestamp, timestamp_slow
from tests.purepython import in_pure_python

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "tests" / "data" / "bounces").glob("*.eml"))


def _texts() -> tuple[list[str], list[str]]:
    """Every text split_head and headers_of are given while reading the samples (recorded
    where the reader is plain Python: a compiled caller does not see a replaced function)."""
    texts: tuple[list[str], list[str]] = in_pure_python("""
        from pathlib import Path

        import pytest

        from bounceloop.parsing import mail as mail_module
        from bounceloop.parsing import mime

        heads, originals = [], []
        split_head, headers_of = mime.split_head, mail_module.headers_of

        def record_head(text):
            heads.append(text)
            return split_head(text)

        def record_original(text):
            originals.append(text)
            return headers_of(text)

        mp = pytest.MonkeyPatch()
        mp.setattr(mime, "split_head", record_head)
        mp.setattr(mail_module, "headers_of", record_original)
        for path in sorted(Path("tests/data/bounces").glob("*.eml")):
            mail_module.read(path.read_bytes())
        result = (heads, originals)
    """)
    return texts


def test_split_head_fast_and_by_line() -> None:
    heads, originals = _texts()
    assert len(heads) > len(SAMPLES) and originals
    fast = 0
    for text in heads:
        assert mime.split_head(text) == mime.split_head_by_line(text), text[:300]
    for text in originals:
        head = text.lstrip("\n").split("\n\n", 1)[0]
        fast += mime.fields(head) is not None
        assert mail_module.headers_of(text) == mail_module._headers_by_line(head), text[:300]
    assert fast  # the fast path is taken


@pytest.mark.parametrize("text", [
    "Subject: a\n  b\n\tc\n\nbody",
    "Subject : spaced\nX: 1\n\nbody",
    "From sender Thu Apr 29 2013\nSubject: mbox\n\nbody",
    "Subject: a\n \nX: after a blank-looking line\n\nbody",  # white-space line ends the head
    "Subject: a\nnot a header\nX: 1\n\nbody",
    "Bad Name: x\n\nbody",
    "\tcontinued first\nX: 1\n\nbody",
    "Subject: a\x0cb\nX\x0c: c\n\nbody",
    "Subject: no body",
    "Subject: a\n\xa0\nX: 1\n\nbody",
    "",
    "\n\nbody",
])
def test_split_head_odd_blocks(text: str) -> None:
    assert mime.split_head(text) == mime.split_head_by_line(text)
    head = text.lstrip("\n").split("\n\n", 1)[0]
    assert mail_module.headers_of(text) == mail_module._headers_by_line(head)


def test_fields_rejects_a_long_bad_block_in_linear_time() -> None:
    # Many continuation lines and then a line that is not a field: a pattern that could
    # split each continuation several ways would backtrack exponentially here.
    block = "Subject: x\n" + " a b c d e f g h\n" * 5000 + "not a field"
    t0 = time.process_time()
    assert mime.fields(block) is None
    assert time.process_time() - t0 < 1.0


def _dates() -> list[str]:
    out = []
    for path in SAMPLES:
        for line in path.read_bytes().decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() in ("date", "arrival-date", "last-attempt-date", "will-retry-until"):
                out.append(value.split(";")[-1])
    return out


ODD_DATES = [
    "Thu, 29 Apr 2013 23:45:00 -0700",
    "Thu, 29 Apr 2013 23:45:00 -0700 (PDT)",
    "29 Apr 2013 23:45:00 +0000",
    "Thu, 29 Apr 2013 23:45:00 -0000",
    "Mon, 1 Jan 0001 00:30:00 +0100",  # before year 1 in UTC
    "Fri, 31 Dec 9999 23:30:00 -0100",  # after 9999 in UTC
    "Sat, 1 Jan 1000 00:30:00 +0100",  # year 999 in UTC, written "999" by strftime
    "Thu, 31 Apr 2013 23:45:00 +0900",  # no such day
    "Thu, 29 Apr 2013 24:00:00 +0900",
    "Thu, 29 Apr 2013 23:59:60 +0900",
    "Thu, 29 Apr 2013 23:45:00 +9999",  # an offset datetime refuses
    "Thu, 29 Apr 2013 23:45:00 +2360",
    "Thu, 29 Apr 2013 23:45:00 +0960",
    "Thu, 29 Apr 0099 23:45:00 +0900",  # two-digit years are read as 19xx/20xx
    "Thu, 29 Apr 2013 23:45:00 GMT",
    "Thu, 29 apr 2013 23:45:00 +0900",
    "Thu,29 Apr 2013 23:45:00 +0900",
    "Thu, 29 Apr 2013 23:45 +0900",
    "Thu, 29 Apr 2013 23:45:00 +0900 extra words",
    "Thu, 29 Apr 2013 23:45:00 +0900 (JST) (more)",
    "29 Apr 2013 \u0663\u0663:45:00 +0900",
    "garbage",
    "Thu, 29 Apr 2013 23:45:00",  # no zone: UTC
    "Thu, 29 Apr 2013 23:45:00 EST",
    "Thu, 29 Apr 2013 23:45:00 XYZ",
    "29 Apr 13 23:45 -0700",
    "Apr 29 2013 23:45:00 -0700",
    "2013-04-29T23:45:00Z",
    "Thu, 29 Apr 2013 23:45:00 +2400",
    "Thu, 29 Apr 99999 23:45:00 +0000",
    "Thu, 29 Apr",
    "",
]


def _by_email_utils(value: str) -> str:
    """timestamp_slow as it was written on email.utils.parsedate_to_datetime."""
    if not value:
        return ""
    from email.utils import parsedate_to_datetime

    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return ""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError):
        return ""


@pytest.mark.parametrize("value", ODD_DATES)
def test_timestamp_slow_reads_as_email_utils(value: str) -> None:
    assert timestamp_slow(value.strip()) == _by_email_utils(value.strip())


def test_timestamp_slow_reads_the_samples_as_email_utils() -> None:
    dates = _dates()
    assert dates
    read = 0
    for value in dates:
        expected = _by_email_utils(value.strip())
        read += bool(expected)
        assert timestamp_slow(value.strip()) == expected, value
    assert read


@pytest.mark.parametrize("value", ODD_DATES)
def test_timestamp_fast_and_slow(value: str) -> None:
    assert timestamp(value) == timestamp_slow(value.strip())


def test_timestamp_on_the_samples() -> None:
    dates = _dates()
    assert dates
    for value in dates:
        assert timestamp(value) == timestamp_slow(value.strip()), value


# mime.fields as it was written with two passes (a whole-block check, then the fields):
# the one-pass reader must agree with it on every block.
_FIELD = r"[!-9;-~]+ *:.*(?:\n[ \t][^\S\n]*\S.*)*"
_CLEAN_BLOCK = re.compile(rf"{_FIELD}(?:\n{_FIELD})*")
_TWO_PASS_FIELDS = re.compile(r"^([!-9;-~]+) *:(.*(?:\n[ \t].*)*)", re.M)


def _fields_two_passes(block: str) -> list[tuple[str, str]] | None:
    if _CLEAN_BLOCK.fullmatch(block) is None:
        return None
    return [(name, " ".join(line.strip() for line in value.split("\n")) if "\n" in value
             else value.strip()) for name, value in _TWO_PASS_FIELDS.findall(block)]


@given(st.text(alphabet="Ab: \t\n\r\xa0\x85-;", max_size=40))
@settings(max_examples=3000)
@example("A:\n b")  # an empty first line still gives its space
@example("A: \xa0\n\t b \x85\n c\r")
@example("A: b\n \nC: d")  # a continuation of white space only
@example(" b\nA: c")  # a continuation with no field before it
@example("A b: c")
@example("")
def test_fields_as_two_passes(block: str) -> None:
    assert mime.fields(block) == _fields_two_passes(block)


def test_fields_as_two_passes_on_the_samples() -> None:
    heads, originals = _texts()
    blocks = [t.split("\n\n", 1)[0] for t in heads + originals]
    assert sum(mime.fields(b) is not None for b in blocks) > len(SAMPLES)
    for block in blocks:
        assert mime.fields(block) == _fields_two_passes(block), block[:300]
