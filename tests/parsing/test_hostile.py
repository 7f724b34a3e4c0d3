"""Hostile input costs bounded time (issue 16): each shape of message that made the parser
super-linear is parsed, at a size that took more than 10 s before, within a generous bound.

The shapes are bench/adversarial.py's, which measures the speed (at 1x, 2x and 4x size up to
the SMTP size limit); this is not a speed test. The bound is about five times what a parse
takes now (at least 2 s), far under what the old quadratic (or exponential) work took at the
same size (in CASES: measured on the parser before issue 16, c18010c, or how it failed). A
parse caught in such work again ends the run: pytest-timeout's thread method, since a
pattern backtracking in C does not see a signal until it returns.
"""

from __future__ import annotations

import time
from types import ModuleType

import pytest

from bounceloop.parsing import parse
from tests.scripts import load


def _bench() -> ModuleType:
    return load("bench/adversarial.py", "adversarial")


SHAPES = _bench().SHAPES

#: shape -> (size asked of the builder, before issue 16 at that size, the bound in seconds
#: (five times the parse now, at least 2 s; the per-record shapes were re-measured when
#: issue 18 gave every record its rule, recipient check and expiry), the records it yields)
CASES: dict[str, tuple[int, str, float, int]] = {
    # Unfolding a header of 285,000 continuation lines copied the value once per line.
    "folded-header": (3_136_000, "18.7 s", 2.0, 1),
    # amavis: "^\s*" from each of 18,000 blank lines read the rest of them.
    "blank-lines": (20_000, "18.9 s", 2.0, 1),
    # Exchange Online "Reported error:" with 78,000 spaces: the lazy group retried "\s*$".
    "space-runs": (80_000, "19.7 s", 2.0, 1),
    # qmail "<a@a@...": every "@" of a 78,000-character word tried against every end.
    "at-signs": (80_000, "17.5 s", 2.0, 1),
    # exim: 16 "a=b=c=d" MAIL FROM parameters, split at each "=": 3**16 ways.
    "exim-parameters": (2_128, "14.2 s", 2.0, 1),
    # 64,700 "<br" with no ">" after them: each read to the end of the part.
    "html-tags": (196_000, "13.9 s", 2.0, 1),
    # A Subject of 130,000 encoded words: the stdlib's decode_header is quadratic in them.
    "encoded-words": (2_240_000, "15.2 s", 2.5, 1),
    # Sendmail, 7,245 recipients and one pipelined DATA block: every verdict re-read it.
    "sendmail-transcript": (1_568_000, "13.8 s", 2.0, 7245),
    # Postfix, 15,509 entries: each recipient's entry was looked for among all of them.
    "postfix-entries": (3_136_000, "19.1 s", 3.0, 15509),
    # 14,531 records each lowercasing (and keeping) its own copy of a 900 KB host name.
    "shared-host": (1_600_000, "out of a 4 GiB address space after 8.8 s", 2.5,
                    14531),
    # Recipients in 225,000 layers of quotes, each layer a copy of what was left.
    # Its 13 groups name one recipient: one record (issue 18, one record per recipient).
    "nested-quotes": (6_000_000, "17.7 s", 5.0, 1),
    # 300,000 "a'" in the From and the original's senders: with an apostrophe allowed inside
    # a local part (o'brien@..., issue 18), the first cut let an address start after each
    # one (11 s at a 40,000-character word, before it was committed).
    "apostrophes": (1_800_000, "quadratic in the word", 2.0, 1),
}


@pytest.mark.parametrize(
    "shape",
    [pytest.param(s, marks=pytest.mark.timeout(max(30, 10 * CASES[s][2]), method="thread"))
     for s in sorted(CASES)],
)
def test_hostile_shape_parses_in_bounded_time(shape: str) -> None:
    size, before, bound, records = CASES[shape]
    raw = SHAPES[shape](size)
    t = time.perf_counter()
    result = parse(raw)
    seconds = time.perf_counter() - t
    assert not result.error, result.error
    assert len(result.records) == records
    assert seconds < bound, (
        f"{shape}: {seconds:.2f} s for {len(raw):,} bytes (bound {bound} s; before: {before})")
