"""parsing/searchers.py: a pattern of literal strings is searched with ``str in``, and
answers as ``re.search`` does."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bounceloop.core import rx
from bounceloop.parsing import searchers
from bounceloop.parsing.rules.phrases import PHRASES
from tests.parsing.test_literals import _texts


def _patterns() -> list[str]:
    """Every pattern the classifier searches through searchers.searcher."""
    from bounceloop.parsing.rules.lda import AGENTS
    from bounceloop.parsing.rules.providers import PROVIDERS

    out = [p.pattern for phrases in PHRASES.values() for p in phrases]
    out += [rule.pattern for provider in PROVIDERS for rule in provider.rules]
    for _agent, marks, table in AGENTS:
        out += list(marks)
        out += ["|".join(pats) for pats in table.values()]
    return out


def test_searcher_answers_as_re() -> None:
    patterns = _patterns()
    literal = [p for p in patterns if searchers._SPECIAL.isdisjoint(p)]
    # Most provider rules are literal strings; the test would prove nothing without them.
    assert len(literal) > 100
    texts = _texts()
    for pattern in patterns:
        # Each alternative as it stands, cut short, and in a longer line.
        own = [t for a in pattern.split("|") for t in (a, a[:-1], f"550 5.1.1 {a}.")]
        search = searchers.searcher(pattern)
        for text in texts + own:
            assert search(text) == (re.search(pattern, text) is not None), (pattern, text)


@given(st.sampled_from(["spamhaus|proofpoint", "a||b", "over quota", "x-y|#1 z"]),
       st.text(alphabet="spamhuoftrqzxy-#1 |a", max_size=30))
def test_searcher_on_any_text(pattern: str, text: str) -> None:
    assert searchers.searcher(pattern)(text) == (re.search(pattern, text) is not None)


def test_searcher_compiles_only_what_is_not_literal() -> None:
    before = rx.asked()
    assert searchers.searcher("relay access denied|unable to relay - literals")(
        "550 unable to relay - literals")
    assert rx.asked() == before
    assert searchers.searcher(r"over ?quota \(literals\)")("user overquota (literals)")
    assert rx.asked() - before == {(r"over ?quota \(literals\)", 0)}
