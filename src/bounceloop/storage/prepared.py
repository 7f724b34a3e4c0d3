"""Statements of the hot write paths, compiled once per dialect and run on plain rows.

``Connection.execute(statement, rows)`` builds every row's parameters through the compiled
statement (``construct_params``, then each column type's processor, then a tuple): on
bench/send.py that was about 40% of the time of ``messages.record`` (cProfile: 136 of 351
ms for 2,500 outcomes), under the GIL the event loop needs. A :class:`Prepared` statement
keeps SQLAlchemy's SQL (compiled from the Core statement, once per dialect) and hands the
rows to ``Connection.exec_driver_sql``, which passes them to the DBAPI as they are. So the
caller gives each value in the form the driver stores: timestamps through
:func:`timestamps` (done once per batch, not once per row), the rest as Python values the
driver adapts (str, int, bool, None). ``Connection`` stays SQLAlchemy's: its transaction,
its begin hooks (``BEGIN IMMEDIATE`` on SQLite) and its errors are as for any statement.

Rows are mappings by parameter name; on a positional paramstyle (SQLite's qmark) they
become tuples in the compiled order, on a named one (psycopg's pyformat) they go as they
are. Results come back raw (no type processing): :class:`Times` reads their timestamps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import Executable

from bounceloop.storage.tables import read_utc, stored_utc, stored_utc_text


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    order: Callable[[Mapping[str, Any]], Any] | None
    """Mapping -> tuple in the compiled order (positional paramstyles); None: named."""


class Prepared:
    """A Core statement (or a builder of one per dialect: ``ON CONFLICT`` clauses are
    dialect-specific) whose parameters are all ``bindparam``s, compiled on first use."""

    __slots__ = ("_binary", "_build", "_compiled")

    def __init__(self, build: Executable | Callable[[Dialect], Executable], *,
                 binary: bool = False) -> None:
        self._build = build
        self._binary = binary
        """psycopg: send every parameter in binary format (``%(name)b``): an array of
        text is dumped as text with each element escaped by a regular expression (psycopg
        types/array.py), in binary as it is."""
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            stmt = self._build if isinstance(self._build, Executable) else self._build(dialect)
            c = stmt.compile(dialect=dialect)  # type: ignore[attr-defined]
            fixed = sorted("(anonymous)" if "%(" in name else name
                           for name, bind in c.binds.items() if not bind.required)
            if fixed:  # its value would not be sent: exec_driver_sql takes the rows only
                raise ValueError(f"a Prepared statement's parameters must all be "
                                 f"bindparam()s without a value: {', '.join(fixed)}")
            order = None
            if dialect.positional:
                names = tuple(c.positiontup)
                getter = itemgetter(*names)
                order = getter if len(names) > 1 else (lambda row: (getter(row),))
            sql = c.string
            if self._binary and dialect.name == "postgresql":
                sql = re.sub(r"%\((\w+)\)s", r"%(\1)b", sql)
            found = self._compiled[dialect.name] = _Compiled(sql, order)
        return found

    def one(self, conn: Connection, params: Mapping[str, Any]) -> CursorResult[Any]:
        """Run with one row of parameters; the result's rows are raw."""
        c = self.compiled(conn.dialect)
        return conn.exec_driver_sql(c.sql, c.order(params) if c.order else dict(params))

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run with each row (one executemany; none: nothing runs); the rows changed."""
        if not rows:
            return 0
        c = self.compiled(conn.dialect)
        params: list[Any] = ([c.order(r) for r in rows] if c.order is not None
                             else [dict(r) for r in rows])
        return int(conn.exec_driver_sql(c.sql, params).rowcount)


def timestamps(dialect: Dialect) -> Callable[[datetime | None], Any]:
    """An aware datetime as the driver stores it in a ``UTCDateTime`` column: the column
    type's own conversion (storage.tables), text on SQLite, a naive UTC datetime
    elsewhere."""
    return stored_utc_text if dialect.name == "sqlite" else stored_utc


T = TypeVar("T")


def pieces(items: Sequence[T], sizes: Sequence[int]) -> Iterator[Sequence[T]]:
    """``items`` cut into consecutive runs of the ``sizes`` (largest first, the last 1),
    as few as add up to them: a statement compiled once per size takes each run
    (500 with 256, 64, 16, 4, 1: 256 + 3 x 64 + 3 x 16 + 4)."""
    if not sizes or sizes[-1] != 1:
        raise ValueError("the sizes must end with 1")
    start = 0
    for size in sizes:
        while len(items) - start >= size:
            yield items[start:start + size]
            start += size


class Times:
    """``storage.tables.read_utc`` over a batch of rows, each distinct stored value read
    once: a batch's rows were mostly written together, at one time (a round's 500 claimed
    jobs hold one ``created_at``), and reading each again held the GIL the event loop
    needs."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[Any, datetime | None] = {}

    def __call__(self, value: Any) -> datetime | None:
        try:
            return self._seen[value]
        except KeyError:
            found = self._seen[value] = read_utc(value)
            return found

    def required(self, value: Any) -> datetime:
        """A NOT NULL column's value."""
        found = self(value)
        if found is None:
            raise ValueError("a NOT NULL timestamp read as NULL")
        return found


__all__ = ["Prepared", "Times", "pieces", "timestamps"]
