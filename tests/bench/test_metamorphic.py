"""bench/metamorphic.py's changes leave every reading of the project's own samples as it was
(issue 18: rules that follow the mail servers, not the bytes of a sample). Each change is
also shown to change the bytes, so a change that did nothing could not pass for one that
moved nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts import load

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "tests" / "data" / "bounces").glob("*.eml"))


BENCH = load("bench/metamorphic.py", "metamorphic")
#: A forward makes a vacation reply, an ARF report or a JSON notice another message: the
#: bench lists what it moves, and no reading here is held to it.
HELD = sorted(set(BENCH.CHANGES) - {"forward-attached", "forward-inline", "forward-flowed"})


@pytest.mark.parametrize("change", HELD)
def test_a_change_on_the_way_moves_no_reading(change: str) -> None:
    made = moved = 0
    for path in SAMPLES:
        raw = path.read_bytes()
        changed = BENCH.CHANGES[change](raw)
        if changed is None:
            continue
        made += changed != raw
        if BENCH.reading(changed) != BENCH.reading(raw):
            moved += 1
    assert made >= 20, f"{change} changed only {made} samples"
    assert moved == 0


def test_a_forwarded_bounce_keeps_its_reading() -> None:
    for name in ("exim-01.eml", "postfix-01.eml", "sendmail-01.eml", "gmail-01.eml"):
        raw = (ROOT / "tests" / "data" / "bounces" / name).read_bytes()
        assert BENCH.reading(BENCH.forward_attached(raw)) == BENCH.reading(raw), name


@pytest.mark.parametrize("change", ["forward-inline", "forward-flowed"])
def test_a_bounce_forwarded_inline_keeps_its_reading(change: str) -> None:
    # Their replies and statements run past 72 columns: wrapped, they read as before only
    # once the soft breaks are undone.
    for name in ("exim-01.eml", "exim-02.eml", "gmail-01.eml", "dragonfly-03.eml",
                 "exchange55-02.eml", "qmail-04.eml", "apachejames-01.eml", "aol-02.eml"):
        raw = (ROOT / "tests" / "data" / "bounces" / name).read_bytes()
        changed = BENCH.CHANGES[change](raw)
        assert changed is not None and b"Forwarded message" in changed, name
        assert BENCH.reading(changed) == BENCH.reading(raw), name
