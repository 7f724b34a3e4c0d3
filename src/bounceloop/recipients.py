"""Recipient lists (CSV): every good row becomes a message, every bad row a reported problem.

The file has a header row with an ``email`` column (any case), an optional ``tags`` column
(``;``-separated) and any other columns, kept as the message's fields. UTF-8 with or without
a byte-order mark. A bad row - no address, an invalid one, a duplicate, the wrong number of
columns - is reported with its line number and skipped: one typo must not stop a mailing,
and must not pass unnoticed either.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from bounceloop.core.address import AddressError, normalize
from bounceloop.storage.messages import NewMessage


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str


class RecipientsError(ValueError):
    """The file as a whole cannot be read (no header, no email column, not UTF-8)."""


def read(data: bytes) -> tuple[list[NewMessage], list[Problem]]:
    """Parse a recipients CSV. Raises :class:`RecipientsError` only for the file as a whole."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecipientsError(f"not UTF-8 text (byte {exc.start})") from None
    # strict: a broken quote is reported, not left to swallow the rows after it silently.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise RecipientsError("empty file: a header row with an 'email' column is needed"
                              ) from None
    except csv.Error as exc:
        raise RecipientsError(f"line 1: {exc}") from None
    names = [h.strip() for h in header]
    lower = [n.lower() for n in names]
    if "email" not in lower:
        raise RecipientsError("no 'email' column in the header row "
                              f"(columns: {', '.join(names) or 'none'})")
    email_at = lower.index("email")
    tags_at = lower.index("tags") if "tags" in lower else -1
    out: list[NewMessage] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    while True:
        # A row is named by its first line (a quoted field may span several).
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(line, f"unreadable row: {exc}"))
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            problems.append(Problem(line, f"{len(row)} columns where the header has "
                                          f"{len(names)}"))
            continue
        try:
            address = normalize(row[email_at])
        except AddressError as exc:
            problems.append(Problem(line, str(exc)))
            continue
        key = address.lower()
        if key in seen:
            problems.append(Problem(line, f"{address} is already on line {seen[key]}"))
            continue
        seen[key] = line
        tags = tuple(t.strip() for t in row[tags_at].split(";") if t.strip()) if (
            tags_at >= 0) else ()
        fields = {names[i]: row[i] for i in range(len(names)) if i not in (email_at, tags_at)}
        out.append(NewMessage(address, tags, fields))
    return out, problems
