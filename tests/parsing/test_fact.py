"""Fact (parsing/fact.py): a plain class for the compiled parser, so its copy is written out."""

from __future__ import annotations

import ast
from pathlib import Path

import bounceloop
from bounceloop.parsing.fact import Fact


def _fields() -> tuple[str, ...]:
    """Fact's ``__slots__`` as its source declares them: compiled (bounceloop.native), the
    class has no ``__slots__`` attribute to read."""
    source = Path(bounceloop.__file__).parent / "parsing" / "fact.py"
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets):
            value = ast.literal_eval(node.value)
            assert isinstance(value, tuple)
            return value
    raise AssertionError("Fact declares no __slots__")


def test_but_copies_every_field_and_changes_only_those_named() -> None:
    # Every slot gets a value of its own; a field added to Fact and not to but() fails here.
    fields = _fields()
    values = {name: (True if name == "soft" else f"<{name}>") for name in fields}
    fact = Fact(**values)  # type: ignore[arg-type]
    assert {name: getattr(fact, name) for name in fields} == values
    same = fact.but()
    assert same is not fact
    assert {name: getattr(same, name) for name in fields} == values
    other = fact.but(status="5.1.1", diagnosis="550 no", context="text")
    assert {name: getattr(other, name) for name in fields} == {
        **values, "status": "5.1.1", "diagnosis": "550 no", "context": "text"}
    assert fact.status == "<status>"
