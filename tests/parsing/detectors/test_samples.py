"""The detector table: our own sample bounces, one or more per format family.

Each ``tests/data/bounces/<family>-<nn>.eml`` is a message written for this project in the
format of that MTA or provider (invented names, RFC 2606 domains, RFC 5737 addresses). Next
to it, ``<family>-<nn>.json`` lists the records the parser must produce, in order::

    {"records": [{"recipient": "...", "extended": "5.1.1", "code": "550",
                  "reason": "userunknown", "hardbounce": true, "command": "rcptto"}]}

Only the keys present are compared; ``detector`` defaults to the file's family. A
``"source"`` names where the format comes from (an MTA's source or documentation, or the
bounce-handling project that catalogues it) when the family's name alone does not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bounceloop.parsing import parse
from bounceloop.parsing.detectors import DETECTORS

DATA = Path(__file__).resolve().parents[2] / "data" / "bounces"
SAMPLES = sorted(DATA.glob("*.eml"))


def _family(path: Path) -> str:
    return path.stem.rsplit("-", 1)[0]


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sample(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text())
    result = parse(path.read_bytes())
    assert not result.error
    want = expected["records"]
    got = [r.as_dict() for r in result.records]
    assert len(got) == len(want), [g["recipient"] for g in got]
    for g, w in zip(got, want, strict=True):
        w = {"detector": expected.get("detector", _family(path)), **w}
        assert {k: g[k] for k in w} == w


def test_every_detector_has_a_sample() -> None:
    families = {_family(p) for p in SAMPLES}
    missing = [d.name for d in DETECTORS if d.name not in families]
    assert not missing, f"detectors without a sample in tests/data/bounces: {missing}"


def test_every_sample_has_expectations() -> None:
    assert SAMPLES, "no samples found"
    for path in SAMPLES:
        assert path.with_suffix(".json").exists(), path.name
