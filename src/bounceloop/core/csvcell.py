"""Cells of the CSV files we write, made safe to open in a spreadsheet.

A spreadsheet reads a cell that begins with ``=``, ``+``, ``-`` or ``@`` as a formula, and
tab and carriage return can lead it to do the same; our exports carry text from outside
(a remote server's reply, a recipient address, a bounce's subject, a person's note), so a
formula there would run on the machine of whoever opens the file. OWASP, "CSV Injection"
(https://owasp.org/www-community/attacks/CSV_Injection): prefix such a cell with a single
quote, which makes it text.

:func:`neutralise` also prefixes a text that already begins with quotes followed by one of
those characters (``'=x`` becomes ``''=x``), so :func:`restore` can undo it exactly: it
takes one quote off a cell that begins with one or more quotes followed by one of those
characters, and leaves every other cell alone. ``restore(neutralise(v)) == v`` for every
text ``v``, whether it needed the quote or not.

Only text is touched. A number (``int``, ``float``) is a number by construction - ``-3``
in a count or a duration is not a formula - and is written as it is.
"""

from __future__ import annotations

import json
from datetime import date, datetime

QUOTE = "'"
#: What a spreadsheet may take as the start of a formula (OWASP): = + - @, tab (0x09) and
#: carriage return (0x0D).
TRIGGERS = frozenset("=+-@\t\r")


def _quoted_trigger(text: str) -> bool:
    """``text`` begins with zero or more quotes and then a trigger character."""
    rest = text.lstrip(QUOTE)
    return bool(rest) and rest[0] in TRIGGERS


def neutralise(value: object) -> object:
    """The value to write in a CSV cell: text a spreadsheet could run gets a ``'`` first."""
    if isinstance(value, str) and _quoted_trigger(value):
        return QUOTE + value
    return value


def restore(text: str) -> str:
    """The text :func:`neutralise` was given, for a cell it wrote."""
    if text.startswith(QUOTE) and _quoted_trigger(text):
        return text[1:]
    return text


def cell(value: object) -> object:
    """A value as every CSV writer of ours writes it: None empty, booleans ``true`` and
    ``false``, times in ISO 8601, objects and lists as JSON (which begins with ``{`` or
    ``[``), text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return neutralise(value)
