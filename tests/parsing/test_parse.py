"""parse(): the parser's entry point returns a result with an error, never raises."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bounceloop.parsing import parse
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

# The module, not the function of the same name the package exports.
parse_module = importlib.import_module("bounceloop.parsing.parse")
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "bounces" / "activehunter-01.eml"


def test_a_bug_in_a_step_is_reported_with_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    # A step that breaks (as a detector's bug on an odd message would): the traceback
    # module is imported on this path only, so the path is exercised here.
    def broken(facts: list[Fact], mail: Mail, name: str, convention: object) -> None:
        raise ValueError("a detector's bug")

    monkeypatch.setattr(parse_module, "finish_all", broken)
    result = parse(SAMPLE.read_bytes())
    assert result.records == ()
    assert result.error.startswith("parser error: ")
    assert "ValueError: a detector's bug" in result.error
    assert result.subject


def test_the_sample_parses_without_error() -> None:
    result = parse(SAMPLE.read_bytes())
    assert not result.error and result.records
