"""The reason phrases as entries (rules/phrases.py): a record names the phrase that decided
it as ``phrase:<reason>/<id>``, so the ids must be unique within a reason and well formed."""

from __future__ import annotations

import re

import pytest

from bounceloop.core.reasons import REASONS
from bounceloop.parsing.rules.phrases import PHRASES, Phrase

_ID = re.compile(r"[a-z0-9][a-z0-9.-]*")


@pytest.mark.parametrize("reason", list(PHRASES))
def test_ids_are_unique_and_well_formed(reason: str) -> None:
    ids = [phrase.id for phrase in PHRASES[reason]]
    assert ids
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for id_ in ids:
        assert _ID.fullmatch(id_), (reason, id_)


def test_entries_are_phrases() -> None:
    assert set(PHRASES) <= set(REASONS)
    for reason, phrases in PHRASES.items():
        for phrase in phrases:
            assert isinstance(phrase, Phrase), (reason, phrase)
            assert isinstance(phrase.source, str)
            re.compile(phrase.pattern)  # searched as written

