"""Literal gates: strings one of which every match of a pattern contains.

A reason's phrases (rules/phrases.py) are searched as one alternation of dozens of
expressions, and ``re`` tries every alternative at every position of the text; most texts
hold no phrase of most reasons. Every match of ``mailbox (?:is |was )?full`` contains
"mailbox " (and " full"), and ``str in`` looks for a literal at C speed: a text that contains
none of a reason's gate strings cannot match any of its phrases, so its alternation need
not run. The answer is the same either way; only the time differs (about a fifth of all
parsing time on the benchmark corpus went to these searches).

The strings are read from the pattern's parse tree, as ``re.compile`` parses it
(``re._parser``). Reading it costs about as much as compiling, so the gates are computed
once, here, and kept as data in rules/gates.py, each with a checksum of the phrases it was
made from: the classifier uses a gate only while its phrases are unchanged (a stale gate is
a lost speed-up, never a wrong answer), and tests/parsing/test_literals.py fails until the
file is regenerated (through another file: the package imports gates.py, which a redirect
straight into it empties first)::

    python -m bounceloop.parsing.literals > gates.tmp
    mv gates.tmp src/bounceloop/parsing/rules/gates.py
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import zlib
from collections.abc import Iterable
from typing import Any

#: A gate string shorter than this is in almost every text: no gate is better.
MIN_LENGTH = 3

Choice = frozenset[str]
"""One of these strings is in every match."""


def checksum(phrases: Iterable[str]) -> int:
    """What a gate was made from (zlib.crc32 of the phrases: stable across processes)."""
    return zlib.crc32("\n".join(phrases).encode())


def gate(phrases: Iterable[str]) -> tuple[str, ...] | None:
    """Strings one of which every match of any of ``phrases`` contains; None when some
    phrase has no such strings of MIN_LENGTH (or is case-insensitive: the texts are
    lowercased, and the phrases are searched as written)."""
    strings: set[str] = set()
    for phrase in phrases:
        tree = _parser().parse(phrase)
        if tree.state.flags & re.IGNORECASE:
            return None
        choice = _best(_choices(tree))
        if choice is None or min(map(len, choice)) < MIN_LENGTH:
            return None
        strings |= choice
    # A string that contains another gate string is implied by it.
    kept: list[str] = []
    for s in sorted(strings, key=lambda s: (len(s), s)):
        if not any(k in s for k in kept):
            kept.append(s)
    return tuple(kept)


def _parser() -> Any:
    return importlib.import_module("re._parser")


def _choices(items: Iterable[tuple[Any, Any]]) -> list[Choice] | None:
    """The choices every match of a parsed sequence satisfies; None when the sequence holds
    a case-insensitive group."""
    c = importlib.import_module("re._constants")
    found: list[Choice] = []
    run: list[str] = []
    for op, av in items:
        if op is c.LITERAL:
            run.append(chr(av))
            continue
        # Anything else ends a run of literals: what it matches is not known here (a class,
        # a ".", an assertion) or is not contiguous with the run.
        if run:
            found.append(frozenset({"".join(run)}))
            run = []
        inner: list[Choice] | None = []
        if op is c.SUBPATTERN:
            _group, add_flags, _del_flags, sub = av
            if add_flags & re.IGNORECASE:
                return None
            inner = _choices(sub)
        elif op is c.ATOMIC_GROUP:
            inner = _choices(av)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
            inner = _choices(av[2])  # matched at least once
        elif op is c.BRANCH:
            # One alternative matches: the union of their choices, if each has one.
            alternatives = []
            for alternative in av[1]:
                sub_choices = _choices(alternative)
                if sub_choices is None:
                    return None
                alternatives.append(_best(sub_choices))
            if all(a is not None for a in alternatives):
                inner = [frozenset().union(*(a for a in alternatives if a is not None))]
        if inner is None:
            return None
        found += inner
    if run:
        found.append(frozenset({"".join(run)}))
    return found


def _best(choices: list[Choice] | None) -> Choice | None:
    """The most selective choice: its shortest string the longest, then the fewest."""
    if not choices:
        return None
    return max(choices, key=lambda s: (min(map(len, s)), -len(s), sorted(s)))


def _quote(s: str) -> str:
    """A Python string literal, in double quotes like the rest of the code."""
    return json.dumps(s, ensure_ascii=False)


def main() -> int:
    """Print rules/gates.py for the phrases of rules/phrases.py."""
    from bounceloop.parsing.rules.phrases import PHRASES

    out = [
        '"""Literal gates of the reason phrases: generated by ``python -m',
        'bounceloop.parsing.literals`` from rules/phrases.py (see parsing/literals.py); do not',
        'edit. Per reason: the checksum of its phrases, and strings one of which every match of',
        'them contains (None: no gate)."""',
        "",
        "from __future__ import annotations",
        "",
        "GATES: dict[str, tuple[int, tuple[str, ...] | None]] = {",
    ]
    patterns = {reason: [p.pattern for p in phrases] for reason, phrases in PHRASES.items()}
    for reason, phrases in patterns.items():
        strings = gate(phrases)
        head = f"    {_quote(reason)}: ({checksum(phrases)}, "
        if strings is None:
            out.append(head + "None),")
            continue
        out.append(head + "(")
        out += [f"        {_quote(s)}," for s in strings]
        out.append("    )),")
    out.append("}")
    out += [
        "",
        "#: Per reason, each phrase's own gate (None: none), in the order of the phrases: a",
        "#: text that passes the reason's gate is searched only with the phrases it can match.",
        "PHRASE_GATES: dict[str, tuple[tuple[str, ...] | None, ...]] = {",
    ]
    for reason, phrases in patterns.items():
        out.append(f"    {_quote(reason)}: (")
        for phrase in phrases:
            strings = gate([phrase])
            line = "        None," if strings is None else (
                "        (" + ", ".join(_quote(s) for s in strings)
                + ("," if len(strings) == 1 else "") + "),")
            if len(line) <= 100:
                out.append(line)
            else:
                out.append("        (")
                out += [f"            {_quote(s)}," for s in strings or ()]
                out.append("        ),")
        out.append("    ),")
    out.append("}")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
