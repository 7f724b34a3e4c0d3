"""The DSN farm's split: which samples one may look at and which are only scored.

Issue 18 scores the parser on the farm's *score-only* half, so rules are never written
against it. A sample's half is a pure function of its file name (the ``.eml``'s base name,
e.g. ``exim-rcpt-gmail-nosuchuser.eml``): the first byte of the name's SHA-256, below 128
is ``look``, else ``score``. It needs no list to keep in step, a new sample lands in a half
without moving the others, and anyone can recompute it::

    python3 bench/dsnfarm/split.py exim-rcpt-gmail-nosuchuser.eml

This is the one definition: the generator writes each label's ``half`` with it and the
test of the committed samples (tests/bench/test_dsnfarm.py) checks every label against it.
"""

from __future__ import annotations

import hashlib
import sys
from typing import Literal

Half = Literal["look", "score"]


def half(name: str) -> Half:
    """``look`` or ``score`` for a sample's file name (its base name, not a path)."""
    if "/" in name:
        raise ValueError(f"a sample's half is decided by its base name, not {name!r}")
    return "look" if hashlib.sha256(name.encode()).digest()[0] < 128 else "score"


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg}\t{half(arg)}")
