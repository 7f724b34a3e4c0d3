"""A function of text, computed once per distinct argument within one message.

The records of one message share much of what they are made from: a report gives thousands
of recipients one diagnostic, one reporting MTA and one date, a detector gives each the same
notification text. Work on such a value (lowercasing it, reading a date, classifying a text)
is done once: paid again per recipient, a long shared value times many recipients is
quadratic in the size of the message. A :class:`Once` lives as long as the message's parse.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Once(Generic[K, V]):
    """``fn`` memoised: each distinct argument is computed once (str keys hash once each)."""

    __slots__ = ("_fn", "_seen")

    def __init__(self, fn: Callable[[K], V]) -> None:
        self._fn = fn
        self._seen: dict[K, V] = {}

    def __call__(self, arg: K) -> V:
        # ``in`` then ``[]``: no KeyError raised on a miss (about 0.2 µs), and no marker to
        # cast away on a hit (a call to typing.cast per use).
        seen = self._seen
        if arg in seen:
            return seen[arg]
        value = seen[arg] = self._fn(arg)
        return value
