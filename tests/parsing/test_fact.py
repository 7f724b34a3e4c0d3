"""Fact (parsing/fact.py): a plain class for the compiled parser, so its copy is written out."""

from __future__ import annotations

from bounceloop.parsing.fact import Fact


def test_but_copies_every_field_and_changes_only_those_named() -> None:
    # Every slot gets a value of its own; a field added to Fact and not to but() fails here.
    values = {name: (True if name == "soft" else f"<{name}>") for name in Fact.__slots__}
    fact = Fact(**values)  # type: ignore[arg-type]
    assert {name: getattr(fact, name) for name in Fact.__slots__} == values
    same = fact.but()
    assert same is not fact
    assert {name: getattr(same, name) for name in Fact.__slots__} == values
    other = fact.but(status="5.1.1", diagnosis="550 no", context="text")
    assert {name: getattr(other, name) for name in Fact.__slots__} == {
        **values, "status": "5.1.1", "diagnosis": "550 no", "context": "text"}
    assert fact.status == "<status>"
