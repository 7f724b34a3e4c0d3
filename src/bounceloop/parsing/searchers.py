"""Searching for a pattern that is often literal strings, without compiling it.

Most provider rules and a fifth of the reason phrases are literal strings, alone or joined
by "|": such a pattern is searched with ``str in`` (or ``str.find``) per alternative, never
compiled. Kept apart from :mod:`bounceloop.parsing.literals` (the gates' generator, run with
``python -m``, which stays Python) so that these run compiled (bounceloop.native): they run
for every fact.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bounceloop.core import rx

#: What makes a pattern more than literal strings separated by "|" (in a pattern without
#: flags: a "#" or a space is literal unless re.VERBOSE is given).
_SPECIAL = frozenset("\\.^$*+?{}[]()")


def searcher(pattern: str) -> Callable[[str], bool]:
    """``re.search(pattern, text) is not None``, as a function of ``text``.

    Most provider rules and a fifth of the reason phrases are literal strings, alone or
    separated by "|" ("spamhaus|proofpoint"): such a pattern is searched with ``str in``
    per alternative (one of them occurs exactly when the alternation matches somewhere),
    and is never compiled. Compiling costs about 70 µs a pattern, paid by each process at
    its first use: on the benchmark corpus 110 of the 282 patterns a run compiles are such.
    """
    if _SPECIAL.isdisjoint(pattern):
        alternatives = tuple(dict.fromkeys(pattern.split("|")))

        def contains(text: str) -> bool:
            # A loop, not any() over a generator: this runs for every fact, and the
            # generator's frame costs more than the searches on a short text.
            for literal in alternatives:  # noqa: SIM110
                if literal in text:
                    return True
            return False

        return contains
    search = rx.compile(pattern).search
    return lambda text: search(text) is not None


def span(pattern: str, text: str) -> tuple[int, int] | None:
    """Where ``re.search(pattern, text)`` matches, or None: the leftmost match, as the
    search finds it (a literal pattern by ``str.find``, without compiling it). For the
    rule that decided, not for the hot path."""
    if _SPECIAL.isdisjoint(pattern):
        best: tuple[int, int] | None = None
        for literal in dict.fromkeys(pattern.split("|")):
            at = text.find(literal)
            if at >= 0 and (best is None or at < best[0]):
                best = (at, at + len(literal))
        return best
    compiled = _SPANNERS.get(pattern)
    if compiled is None:
        compiled = _SPANNERS[pattern] = rx.compile(pattern)
    m = compiled.search(text)
    return m.span() if m is not None else None


#: The patterns :func:`span` compiled so far.
_SPANNERS: dict[str, re.Pattern[str]] = {}
