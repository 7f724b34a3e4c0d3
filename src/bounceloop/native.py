"""The parser's modules compiled ahead of time (mypyc), used only while they match the sources.

``scripts/native.py`` (run by ``scripts/setup``) compiles the parsing modules and
``core.status`` with mypyc into ``bounceloop/_native/``, laid out as the package is, and
writes a stamp last: the interpreter, and the size and modification time of every source
file under ``parsing/`` and ``core/`` (the compiled modules and all they import from this
package). The packages whose modules were compiled put their compiled directory first on
their ``__path__`` (:func:`search_path`), so ``import bounceloop.parsing.mime`` loads the
extension module; ``bounceloop`` itself puts ``_native`` last on its own, where the shared
library of the group (``bounceloop._native__mypyc``) is found.

All or nothing: compiled modules call one another directly in C, so a compiled module kept
beside one whose source changed would run old code. When any stamped source differs, was
removed, or the interpreter is another one, no compiled module is used: the package runs as
plain Python, as it does where nothing was compiled. ``BOUNCELOOP_NATIVE=0`` in the
environment asks for plain Python too (a comparison, a traceback with line numbers).

This module runs at the import of ``bounceloop``: it only reads the stamp and stats the files
it names (about a hundred; well under a millisecond).
"""

from __future__ import annotations

import marshal
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
"""The package's directory (``src/bounceloop``)."""
DIR = os.path.join(ROOT, "_native")
STAMP = os.path.join(DIR, "stamp")
#: The environment variable that asks for plain Python ("0"); not a setting: it acts at
#: import, before any settings are read.
ENV = "BOUNCELOOP_NATIVE"
#: The directories (under the package) whose sources the compiled code was made from.
STAMPED = ("parsing", "core")

_fresh: bool | None = None


def tag() -> str:
    """The interpreter the compiled modules are for."""
    return f"{sys.implementation.cache_tag}-{sys.platform}"


def sources(root: str = ROOT) -> dict[str, tuple[int, int]]:
    """(size, modification time in ns) of every source file under the stamped directories of
    ``root``, by path relative to it."""
    found: dict[str, tuple[int, int]] = {}
    # os.scandir, not os.walk: about half a millisecond for the hundred files, a third of
    # what os.walk takes, at every command's start.
    todo = [os.path.join(root, top) for top in STAMPED]
    cut = len(os.path.join(root, ""))
    while todo:
        with os.scandir(todo.pop()) as entries:
            for entry in entries:
                if entry.name.endswith(".py"):
                    st = entry.stat()
                    found[entry.path[cut:]] = (st.st_size, st.st_mtime_ns)
                elif entry.name != "__pycache__" and entry.is_dir():
                    todo.append(entry.path)
    return found


def stamp(root: str = ROOT) -> bytes:
    """The stamp of the sources of ``root`` as they are now, for this interpreter."""
    return marshal.dumps((tag(), sources(root)))


def fresh(root: str = ROOT) -> bool:
    """Whether the compiled modules under ``root`` were made from the sources there as they
    are now, by this interpreter (False when there are none)."""
    try:
        with open(os.path.join(root, "_native", "stamp"), "rb") as fh:
            made_for, files = marshal.loads(fh.read())
    except (OSError, ValueError, EOFError, TypeError):
        return False
    # Changed, removed or added since: any of them may be what the compiled code relies on.
    return bool(made_for == tag() and files == sources(root))


def active() -> bool:
    """Whether this process uses the compiled modules (decided once, at first asking)."""
    global _fresh
    if _fresh is None:
        _fresh = os.environ.get(ENV, "1") != "0" and fresh()
    return _fresh


def search_path(package: str, path: list[str]) -> list[str]:
    """The ``__path__`` of ``package`` (a dotted name under ``bounceloop``): its compiled
    directory first when the compiled modules are in use, else ``path`` as it is."""
    if not active():
        return path
    if package == "bounceloop":
        return [*path, DIR]
    compiled = os.path.join(DIR, *package.split(".")[1:])
    return [compiled, *path] if os.path.isdir(compiled) else path
