"""Keeping a column's indexes out of a query plan, so the index that serves it is chosen.

SQLite's planner knows nothing about the data until ``ANALYZE`` has run, and bounceloop
never runs it. Without statistics it takes an equality on any indexed column to narrow the
search to a few rows, and "will always find a good query plan as long as the schema does
not contain indices that have more than about 10 or 20 rows with the same value in the
left-most column of the index" (https://www.sqlite.org/queryplanner-ng.html, "Hazards Of
Upgrading To NGQP"). The Errors view's indexes begin with ``current`` (or ``tied``), which
nearly every row shares: ``current = 1`` looked as selective as ``lower(recipient) = ?``,
and a selection's chunk of 2,000 addresses went from 3 ms to 2 s on 1,000,000 errors.

The documented way to keep a term from driving an index is a unary ``+`` before the column
(https://www.sqlite.org/optoverview.html, "Disqualifying WHERE Clause Terms using
Unary-'+'"); the term still filters the rows that the chosen index finds. :func:`unindexed`
writes the column so on SQLite, and plainly on PostgreSQL, which has no unary ``+`` for
text, booleans or timestamps, and whose planner weighs the statistics that autovacuum
keeps (PostgreSQL docs, "Statistics Used by the Planner", "The Autovacuum Daemon").

    where(lower(errors.c.recipient).in_(names), unindexed(errors.c.current).is_(True))
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

T = TypeVar("T")


class unindexed(FunctionElement[T]):
    """``column`` as a term no index may serve (SQLite: ``+column``); same type and value."""

    inherit_cache = True

    def __init__(self, column: ColumnElement[T]) -> None:
        super().__init__(column)
        self.type = column.type


class Unindexed:
    """A table's columns as :func:`unindexed` terms: ``Unindexed(errors).current``, where a
    query keyed by one indexed column filters the rows it finds by the others."""

    __slots__ = ("_table",)

    def __init__(self, table: Table) -> None:
        self._table = table

    def __getattr__(self, name: str) -> Any:
        return unindexed(self._table.c[name])


@compiles(unindexed)
def _plain(element: unindexed[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _plus(element: unindexed[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)
