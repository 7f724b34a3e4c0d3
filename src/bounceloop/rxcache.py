"""The kept code of the parser's regular expressions (see :mod:`bounceloop.core.rx`).

``python -m bounceloop.rxcache`` writes it next to this module, named for the interpreter
(``scripts/setup`` runs it after ``compileall``); a command that parses calls
:func:`install` before it imports the parser (``cli/main.py``). A missing, unreadable or
foreign file installs nothing: the patterns are compiled as usual.
"""

from __future__ import annotations

import importlib
import marshal
import os
import sys

from bounceloop.core import rx

# os.path, not pathlib: pathlib imports urllib.parse and ipaddress (3.5 ms), which nothing
# else on the way to parsing a file needs.
TABLE = os.path.join(os.path.dirname(__file__), f"rx-{rx.TAG}.marshal")


def install(path: str | os.PathLike[str] = TABLE) -> bool:
    """Hand the table at ``path`` to the parser; whether it was one it can use."""
    try:
        with open(path, "rb") as fh:
            tag, table = marshal.loads(fh.read())
    except (OSError, ValueError, EOFError, TypeError):
        return False
    return rx.use(table, tag)


def patterns() -> set[tuple[str, int]]:
    """Every (pattern, flags) the parser compiles through ``rx.compile``: those of its
    modules (compiled at import) and those compiled at first use (the reason phrases and
    provider rules that are not literal strings)."""
    importlib.import_module("bounceloop.parsing")
    from bounceloop.parsing import searchers
    from bounceloop.parsing.rules.phrases import PHRASES
    from bounceloop.parsing.rules.providers import PROVIDERS

    for phrases in PHRASES.values():
        for phrase in phrases:
            searchers.searcher(phrase.pattern)
    for provider in PROVIDERS:
        for rule in provider.rules:
            searchers.searcher(rule.pattern)
    return rx.asked()


def write(path: str | os.PathLike[str] = TABLE) -> int:
    """Write the code of :func:`patterns` to ``path`` (atomically); returns how many."""
    table = {key: rx.code_of(*key) for key in sorted(patterns())}
    tmp = f"{os.fspath(path)}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(marshal.dumps((rx.TAG, table)))
    os.replace(tmp, path)
    return len(table)


def main() -> int:
    count = write()
    sys.stdout.write(f"{count} patterns -> {TABLE}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
