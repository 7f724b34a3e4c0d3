"""Reading a list of addresses from CSV: which column holds them, and what is wrong where.

The user's own file goes through us (``bounceloop select``, the selections API) and comes
out with every column it had, so rows are kept as read (the fields), with the address in
its normalized form beside them. A row that cannot be used is a :class:`Bad` with the line
it starts on (a quoted field may span lines) and why; reading goes on.

    header            the first row, unless told there is none
    delimiter         , ; tab or | - whichever the header (first row) has most of
    address column    --column NAME (or its number, 1 = first); else the first header
                      named email, e-mail, emailaddress, email_address, address, mail or
                      recipient; else the only column
    bad rows          a different number of fields than the header, no address, an address
                      that is not one (core.address), a line that is not UTF-8
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bounceloop.core.address import AddressError, normalize

NAMES = ("email", "e-mail", "emailaddress", "email_address", "email address", "address",
         "mail", "recipient")
DELIMITERS = (",", ";", "\t", "|")
#: What a byte that is not UTF-8 becomes when read with errors="surrogateescape" (PEP 383).
_UNDECODABLE = re.compile("[\udc80-\udcff]")


class ListError(ValueError):
    """The list cannot be read at all (no header, no such column)."""


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    fields: list[str]
    address: str
    """Normalized (core.address.normalize)."""


@dataclass(frozen=True, slots=True)
class Bad:
    line: int
    error: str
    fields: list[str]


def delimiter_of(first_line: str) -> str:
    counts = [(first_line.count(d), -n) for n, d in enumerate(DELIMITERS)]
    best = max(counts)
    return DELIMITERS[-best[1]] if best[0] else ","


class AddressList:
    """Iterate over :class:`Row` and :class:`Bad` items of CSV ``lines`` (text, with
    their line ends, as a file object gives them)."""

    def __init__(self, lines: Iterable[str], *, column: str = "", header: bool = True,
                 delimiter: str = "") -> None:
        self._lines = iter(lines)
        first = next(self._lines, "")
        self.delimiter = delimiter or delimiter_of(first)
        self._pending = [first] if first else []
        self._reader = csv.reader(self._feed(), delimiter=self.delimiter)
        self._physical = 0
        self.header: list[str] | None = None
        if header:
            try:
                row = next(self._reader, None)
            except csv.Error as exc:
                raise ListError(f"line 1: the header cannot be read: {exc}") from None
            if row is None:
                raise ListError("the list is empty (not even a header)")
            self.header = row
            self.index = self._column(row, column)
        else:
            self.index = self._number(column) if column else 0
        self._started = self._reader.line_num

    def _feed(self) -> Iterator[str]:
        yield from self._pending
        yield from self._lines

    @staticmethod
    def _number(column: str) -> int:
        if not column.isdigit() or int(column) < 1:
            raise ListError(f"without a header, --column is a number (1 = first): {column!r}")
        return int(column) - 1

    def _column(self, header: list[str], column: str) -> int:
        names = [h.strip().lower().lstrip("\ufeff") for h in header]
        if column:
            if column.strip().lower() in names:
                return names.index(column.strip().lower())
            if column.isdigit() and 1 <= int(column) <= len(header):
                return int(column) - 1
            raise ListError(f"no column {column!r} in the header: {', '.join(header)}")
        for name in NAMES:
            if name in names:
                return names.index(name)
        if len(header) == 1:
            return 0
        raise ListError(f"which column holds the address? none is named email or address "
                        f"({', '.join(header)}): name one with --column")

    def __iter__(self) -> Iterator[Row | Bad]:
        width = len(self.header) if self.header is not None else None
        start = self._started + 1
        while True:
            try:
                fields = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Bad(start, f"cannot be read as CSV: {exc}", [])
                start = self._reader.line_num + 1
                continue
            line, start = start, self._reader.line_num + 1
            if not fields or fields == [""]:
                continue  # blank lines are not rows
            yield self._row(line, fields, width)

    def _row(self, line: int, fields: list[str], width: int | None) -> Row | Bad:
        # An ASCII row (nearly every one) cannot hold an undecodable byte: the test of
        # each character is left to the regular expression, and only for the others.
        joined = "".join(fields)
        if not joined.isascii() and _UNDECODABLE.search(joined):
            return Bad(line, "not UTF-8 text", fields)
        if width is not None and len(fields) != width:
            return Bad(line, f"{len(fields)} fields, the header has {width}", fields)
        if self.index >= len(fields) or not fields[self.index].strip():
            return Bad(line, "no address", fields)
        try:
            return Row(line, fields, normalize(fields[self.index]))
        except AddressError as exc:
            return Bad(line, str(exc), fields)
