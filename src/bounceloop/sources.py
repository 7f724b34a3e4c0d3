"""Where messages come from: .eml files, directories (maildir included), mbox files, stdin.

A source yields :class:`Item` values naming one message each; reading the bytes is left to
:func:`load`, so a pool of workers can read files in parallel and an unreadable file is one
failed item, not a failed run.

An mbox is recognised by its first line (``From `` + sender + date, RFC 4155); a file with one
such line and one message is still one message, read the same as an .eml.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass

_MBOX_FROM = re.compile(rb"^From \S+.*\d\d:\d\d", re.M)
_MBOX_SPLIT = re.compile(rb"\n\n(?=From \S+[^\n]*\d\d:\d\d)")


@dataclass(frozen=True, slots=True)
class Item:
    """One input: a path (as the user wrote it, or found under a directory)."""

    label: str
    path: str


class SourceError(Exception):
    """A path that cannot be read; carries a message naming it."""


def expand(paths: list[str]) -> Iterator[Item | SourceError]:
    """Every message file under the given paths, in a stable (sorted) order.

    Errors (a missing path, a directory that cannot be listed) are yielded in place, so the
    caller reports them and goes on.
    """
    for path in paths:
        if path == "-":
            yield Item("-", "-")
        elif os.path.isdir(path):
            yield from _walk(path)
        elif os.path.exists(path):
            yield Item(path, path)
        else:
            yield SourceError(f"{path}: no such file or directory")


def _walk(top: str) -> Iterator[Item | SourceError]:
    """Files under ``top`` in path order (a directory's entries sorted, depth first)."""
    try:
        with os.scandir(top) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield SourceError(f"{top}: {exc.strerror or exc}")
        return
    names = {e.name for e in entries if e.is_dir(follow_symlinks=False)}
    # A maildir's tmp/ holds half-delivered messages (maildir(5)): skip it.
    skip_tmp = {"cur", "new", "tmp"} <= names
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            if skip_tmp and entry.name == "tmp":
                continue
            yield from _walk(entry.path)
        elif entry.is_file():
            yield Item(entry.path, entry.path)


def load(item: Item) -> list[bytes]:
    """The messages of one input: one for an .eml, several for an mbox, all of stdin.

    Raises :class:`SourceError` when the path cannot be read.
    """
    try:
        if item.path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(item.path, "rb") as fh:
                data = fh.read()
    except OSError as exc:
        raise SourceError(f"{item.label}: {exc.strerror or exc}") from exc
    return split_mbox(data)


def split_mbox(data: bytes) -> list[bytes]:
    """Split an mbox into messages; anything else is one message.

    The separator is a ``From `` line after a blank line. Quoted ``>From `` lines in bodies
    (mboxrd) are unquoted one level, as mbox readers do.
    """
    if not data.startswith(b"From ") or not _MBOX_FROM.match(data):
        return [data]
    chunks = _MBOX_SPLIT.split(data.replace(b"\r\n", b"\n"))
    out = []
    for chunk in chunks:
        if b"\n>From " in chunk:
            chunk = re.sub(rb"\n>(>*From )", rb"\n\1", chunk)
        out.append(chunk)
    return out
