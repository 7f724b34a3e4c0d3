"""Provider tables (parsing/providers.py, rules/providers.py)."""

from __future__ import annotations

import re

from bounceloop.parsing.rules import providers
from bounceloop.parsing.rules.providers import PROVIDERS, Rule


def test_every_rule_pattern_compiles() -> None:
    # The patterns are compiled on first use, not at import: a broken one would otherwise
    # show only on the first bounce from its provider.
    rules = [rule for provider in PROVIDERS for rule in provider.rules]
    assert len(rules) > 50
    for rule in rules:
        re.compile(rule.pattern)


def test_rule_search_compiles_once() -> None:
    rule = Rule("mailboxfull", r"over (?:the )?quota \(test_providers\)")
    providers._COMPILED.pop(rule.pattern, None)
    assert rule.search("550 user is over the quota (test_providers)")
    compiled = providers._COMPILED[rule.pattern]
    assert not rule.search("550 user is over quota")
    assert providers._COMPILED[rule.pattern] is compiled
