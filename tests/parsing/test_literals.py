"""Literal gates (parsing/literals.py, rules/gates.py): a gate only skips searches that could
not match, so the classifier answers as it did without them."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bounceloop.parsing import classify, literals
from bounceloop.parsing.rules.gates import GATES, PHRASE_GATES
from bounceloop.parsing.rules.phrases import PHRASES

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "tests" / "data" / "bounces").glob("*.eml"))


def test_gates_file_is_current() -> None:
    # Regenerate through another file (DEVELOPERS.md): python -m bounceloop.parsing.literals
    # > gates.tmp && mv gates.tmp src/bounceloop/parsing/rules/gates.py
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        literals.main()
    path = ROOT / "src" / "bounceloop" / "parsing" / "rules" / "gates.py"
    assert path.read_text() == out.getvalue()


def test_every_gate_is_in_use() -> None:
    # A gate whose checksum no longer matches its phrases is skipped (slower, still right);
    # in the tree as committed none is stale.
    made = {reason for reason, (_crc, strings) in GATES.items() if strings is not None}
    assert made
    assert set(classify._GATES) == made


@pytest.mark.parametrize(("phrases", "expected"), [
    (["mailbox (?:is |was )?full"], ("mailbox ",)),
    # One of the alternatives matches: each contributes its strings.
    (["(?:over quota|quota exceeded)"], ("over quota", "quota exceeded")),
    (["over quota", "mailbox full"], ("over quota", "mailbox full")),
    # A string that contains another gate string is implied by it.
    (["user unknown", "unknown"], ("unknown",)),
    # Repeated at least once: in every match; optional: not.
    (["(?:no such user)+"], ("no such user",)),
    (["(?:no such user)?x"], None),
    # Too short to be worth it, or not known as written.
    (["a?bc"], None),
    (["(?i)user unknown"], None),
    (["(?i:user) unknown"], None),
    ([r"\d+ \w+"], None),
])
def test_gate(phrases: list[str], expected: tuple[str, ...] | None) -> None:
    assert literals.gate(phrases) == expected


@pytest.mark.parametrize("reason", [r for r in PHRASES if r in classify._GATES])
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_match_holds_a_gate_string(reason: str, data: st.DataObject) -> None:
    phrase = data.draw(st.sampled_from(PHRASES[reason])).pattern
    text = data.draw(st.from_regex(re.compile(phrase)))
    assert any(s in text for s in classify._GATES[reason]), (phrase, text)


@pytest.mark.parametrize("reason", [r for r in PHRASES if r in classify._GATES])
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_match_holds_its_phrase_gate_string(reason: str, data: st.DataObject) -> None:
    # The classifier searches only the phrases whose own gate passes (PHRASE_GATES).
    index = data.draw(st.integers(0, len(PHRASES[reason]) - 1))
    strings = PHRASE_GATES[reason][index]
    text = data.draw(st.from_regex(re.compile(PHRASES[reason][index].pattern)))
    assert strings is None or any(s in text for s in strings), (reason, index, text)


def test_phrase_plans_are_in_use() -> None:
    for reason in PHRASES:
        if reason in classify._GATES:
            assert classify._phrase_plan(reason) is not None, reason


def _texts() -> list[str]:
    """Lowercased lines and paragraphs of our own samples: what the classifier reads."""
    out: list[str] = []
    for path in SAMPLES:
        body = path.read_bytes().decode("latin-1").lower()
        out.append(body)
        out += [line for line in body.splitlines() if line.strip()]
    return out


def test_says_with_and_without_gates() -> None:
    assert SAMPLES
    texts = _texts()
    plain = {reason: re.compile("|".join(f"(?:{p.pattern})" for p in phrases))
             for reason, phrases in PHRASES.items()}
    matched = 0
    for reason, pattern in plain.items():
        for text in texts:
            expected = pattern.search(text) is not None
            if reason == "rejected" and classify._NOT_SENDER.search(text):
                expected = False
            matched += expected
            assert classify.says(reason, text) == expected, (reason, text[:200])
    assert matched  # the samples do use phrases
