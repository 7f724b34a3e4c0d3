"""The parser's regular expressions, from code compiled ahead, like its bytecode.

``re.compile`` parses a pattern and generates its matcher's code in Python
(``re._parser``, ``re._compiler``) and only then hands that code to ``_sre.compile``, which
makes the pattern object in C. The Python part costs about 70 µs a pattern, and every
process pays it again for each of the parser's ~440 patterns: about 30 ms of a 424-file
``bounceloop parse`` (0.245 s in all).

The code depends only on the pattern, its flags and the interpreter (``_sre.MAGIC`` names
the code's format; MAXREPEAT and MAXGROUPS appear in it). So it can be made once and kept,
as Python keeps bytecode: :mod:`bounceloop.rxcache` (the shell: this core reads no files)
writes the code of every pattern the parser compiles through :func:`compile`, keyed by
:data:`TAG`, and hands it to :func:`use` before the parser is imported. :func:`compile`
gives a known pattern's code to ``_sre.compile`` as ``re._compiler.compile`` would: the
pattern object is the same either way (tests/parsing/test_rx.py compares every one with
``re.compile``'s). No table, or a pattern not in it: ``re.compile``, as before, only slower.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

# re's C engine (typeshed has no stub for it): what re._compiler.compile hands its code to.
_sre: Any = importlib.import_module("_sre")

Code = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]
"""What ``_sre.compile`` takes after the pattern: flags, code, groups - 1, group index,
index group."""

#: The interpreter the code is valid for: Python's cache tag, the code's format and the
#: limits the code holds.
TAG = (f"{sys.implementation.cache_tag}-{_sre.MAGIC}-{_sre.CODESIZE}-{_sre.MAXREPEAT}-"
       f"{_sre.MAXGROUPS}")

_table: dict[tuple[str, int], Code] = {}
_asked: set[tuple[str, int]] = set()
"""Every (pattern, flags) asked for in this process: what bounceloop.rxcache keeps."""


def use(table: dict[tuple[str, int], Code], tag: str) -> bool:
    """Compile the patterns in ``table`` (made for the interpreter ``tag``) from their code
    from now on; a table made for another interpreter is not used. Returns whether it is."""
    global _table
    if tag != TAG or not isinstance(table, dict):
        return False
    _table = table
    return True


def compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, from the kept code when there is some."""
    key = (pattern, int(flags))
    _asked.add(key)
    code = _table.get(key)
    if code is not None:
        try:
            made: re.Pattern[str] = _sre.compile(pattern, *code)
            return made
        except (TypeError, ValueError, RuntimeError):
            pass  # not code this _sre takes after all (RuntimeError: "invalid SRE code")
    return re.compile(pattern, flags)


def asked() -> set[tuple[str, int]]:
    """The (pattern, flags) :func:`compile` was asked for so far in this process."""
    return set(_asked)


def code_of(pattern: str, flags: int) -> Code:
    """What ``re._compiler.compile`` hands to ``_sre.compile`` for ``pattern``."""
    parser: Any = importlib.import_module("re._parser")
    compiler: Any = importlib.import_module("re._compiler")
    tree = parser.parse(pattern, flags)
    code = compiler._code(tree, flags)
    groupindex = dict(tree.state.groupdict)
    indexgroup: list[str | None] = [None] * tree.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    # The code's items are re._constants' named int constants: plain ints keep.
    return (int(flags | tree.state.flags), [int(c) for c in code], tree.state.groups - 1,
            groupindex, tuple(indexgroup))
