"""Regular expressions from kept code (core/rx.py): each pattern made from its code is the
one re.compile makes, and anything amiss falls back to re.compile."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bounceloop.core import rx

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "tests" / "data" / "bounces").glob("*.eml"))

PATTERNS = [
    (r"mailbox (?:is )?full", 0),
    (r"^(?P<name>[\w-]+):\s*(?P<value>.*)$", re.M),
    (r"[\w.!#$%&'*+/=?^`{|}~\-]+@[\w\-]+(?:\.[\w\-]+)+", re.A),
    (r"(?i)user unknown|no such user", 0),
    (r"\A(?>.*?indimail-mta queue \d+).*", re.I | re.S),
    (r"exceeded .{0,20}message size limit", 0),
]


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[tuple[str, int], rx.Code]]:
    made = {(p, int(f)): rx.code_of(p, f) for p, f in PATTERNS}
    monkeypatch.setattr(rx, "_table", {})
    assert rx.use(made, rx.TAG)
    yield made


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The patterns rx.compile hands to re.compile."""
    asked: list[str] = []
    real = re.compile

    def counting(pattern: str, flags: int = 0) -> re.Pattern[str]:
        asked.append(pattern)
        return real(pattern, flags)

    monkeypatch.setattr(rx.re, "compile", counting)
    return asked


@pytest.mark.parametrize(("pattern", "flags"), PATTERNS)
def test_code_makes_the_pattern_re_compile_makes(pattern: str, flags: int) -> None:
    made = rx._sre.compile(pattern, *rx.code_of(pattern, flags))
    expected = re.compile(pattern, flags)
    # Pattern equality compares the flags, the pattern and the compiled code itself.
    assert made == expected
    assert (made.groups, made.groupindex) == (expected.groups, expected.groupindex)
    texts = [p.read_bytes().decode("latin-1") for p in SAMPLES[:20]]
    assert texts
    for text in texts:
        assert [m.groups() for m in made.finditer(text)] == \
            [m.groups() for m in expected.finditer(text)]


def test_compile_takes_known_code(table: dict[tuple[str, int], rx.Code],
                                  compiles: list[str]) -> None:
    made = [rx.compile(pattern, flags) for pattern, flags in PATTERNS]
    assert compiles == []
    assert made == [re.compile(pattern, flags) for pattern, flags in PATTERNS]
    compiles.clear()
    # Not in the table: compiled.
    assert rx.compile(r"not (?:in )?the table \d+").search("not the table 42")
    assert compiles == [r"not (?:in )?the table \d+"]
    assert (r"not (?:in )?the table \d+", 0) in rx.asked()


def test_table_of_another_interpreter_is_not_used(monkeypatch: pytest.MonkeyPatch,
                                                  compiles: list[str]) -> None:
    monkeypatch.setattr(rx, "_table", {})
    made = {(p, int(f)): rx.code_of(p, f) for p, f in PATTERNS}
    assert not rx.use(made, "cpython-399-1-4-5-6")
    assert rx.compile(PATTERNS[0][0]).search("mailbox is full")
    assert compiles == [PATTERNS[0][0]]


def test_damaged_code_is_compiled_instead(monkeypatch: pytest.MonkeyPatch,
                                          compiles: list[str]) -> None:
    flags, code, groups, groupindex, indexgroup = rx.code_of(r"mailbox (?:is )?full", 0)
    monkeypatch.setattr(rx, "_table", {})
    assert rx.use({
        (r"mailbox (?:is )?full", 0): (flags, [99, 99, 99], groups, groupindex, indexgroup),
        ("short", 0): (flags, code),  # type: ignore[dict-item]
    }, rx.TAG)
    full = rx.compile(r"mailbox (?:is )?full")
    assert rx.compile("short").search("too short")
    assert compiles == [r"mailbox (?:is )?full", "short"]
    assert full.search("mailbox is full")


def test_tag_names_the_interpreter() -> None:
    import sys

    assert rx.TAG.startswith(sys.implementation.cache_tag + "-")
    assert str(rx._sre.MAGIC) in rx.TAG
