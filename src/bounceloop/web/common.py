"""What the API routers and the UI share: read transactions, times, lists in query strings,
streamed CSV / JSON bodies, and the documented error answers of the API (``problems``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from fastapi import HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine

from bounceloop.storage.errorlist import Query, QueryError

T = TypeVar("T")

EXPORT_FORMATS = ("csv", "json", "jsonl")
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json",
         "jsonl": "application/x-ndjson"}
#: The largest id, offset or count a query may carry: the databases' signed 64-bit integer.
#: A larger number would fail in the driver (a 500); bounded in the schema, it is a 422.
MAX_INT = 2**63 - 1


class Problem(BaseModel):
    """The body of every error answer."""

    detail: Any = Field(description="What is wrong: a sentence, or an object with the "
                                     "details (422: the invalid fields)")


_PROBLEMS = {
    400: "The request cannot be done, or its body cannot be read: `detail` says why",
    401: "No API token, or one that is unknown or revoked",
    403: "A read token asked to change something",
    404: "No such item",
    409: "The item is not in a state that allows this",
    413: "Too large",
    503: "Not ready: the database does not answer",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route or router: these error statuses, each with a
    :class:`Problem` body (FastAPI documents 422 itself)."""
    return {code: {"model": Problem, "description": _PROBLEMS[code]} for code in codes}


def reading(db: Engine, work: Callable[[Connection], T]) -> T:
    """``work`` in a read-only transaction: on SQLite a deferred BEGIN, which takes no
    write lock (the engine's default BEGIN IMMEDIATE would queue pages behind writers)."""
    with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return work(conn)


def utc(when: datetime | None) -> datetime | None:
    """A time from a query: UTC unless it names its offset (a 400 if, moved to UTC, it
    falls outside the years 1-9999)."""
    if when is None:
        return when
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:
        raise HTTPException(400, f"{when.isoformat()} is out of range in UTC") from None


def values(items: Iterable[str]) -> tuple[str, ...]:
    """Repeated and comma-separated query values as one tuple (``a&a=b,c``), blanks out."""
    return tuple(v.strip() for item in items for v in item.split(",") if v.strip())


def steps(items: Iterable[str]) -> tuple[int, ...]:
    out = []
    for v in values(items):
        if not v.isdigit():
            raise HTTPException(400, f"step is a number from 0 to 5, not {v!r}")
        out.append(int(v))
    return tuple(out)


def error_query(**kwargs: Any) -> Query:
    """An errorlist.Query, or a 400 that says what is wrong."""
    try:
        return Query(**kwargs)
    except QueryError as exc:
        raise HTTPException(400, str(exc)) from None


def plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def csv_cell(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else value


def encode(rows: Iterable[dict[str, Any]], fmt: str, columns: tuple[str, ...]
           ) -> Iterator[str]:
    """Rows as CSV (a header, then ``columns``), a JSON array, or JSON lines - chunk by
    chunk, so an export of any size streams."""
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        for n, row in enumerate(rows, start=1):
            writer.writerow([csv_cell(row.get(c)) for c in columns])
            if n % 500 == 0:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
        return
    first = True
    if fmt == "json":
        yield "["
    for row in rows:
        text = json.dumps({k: plain(v) for k, v in row.items()}, ensure_ascii=False)
        if fmt == "json":
            yield text if first else "," + text
        else:
            yield text + "\n"
        first = False
    if fmt == "json":
        yield "]"


def streamed(db: Engine, produce: Callable[[Connection], Iterable[dict[str, Any]]],
             fmt: str, columns: tuple[str, ...]) -> Iterator[str]:
    """:func:`encode` over rows read in a connection held for the stream's life."""
    with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        yield from encode(produce(conn), fmt, columns)
