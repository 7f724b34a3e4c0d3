"""parsing/once.py: a function computed once per distinct argument."""

from __future__ import annotations

from bounceloop.parsing.once import Once


def test_each_argument_is_computed_once() -> None:
    calls: list[str] = []

    def lower(text: str) -> str:
        calls.append(text)
        return text.lower()

    once = Once(lower)
    assert [once("A"), once("B"), once("A"), once("B")] == ["a", "b", "a", "b"]
    assert calls == ["A", "B"]


def test_falsy_results_are_kept_too() -> None:
    calls: list[str] = []

    def nothing(text: str) -> str | None:
        calls.append(text)
        return None if text == "none" else ""

    once = Once(nothing)
    assert [once("none"), once(""), once("none"), once("")] == [None, "", None, ""]
    assert calls == ["none", ""]
