"""What the API routers and the UI share: read transactions, times, lists in query strings,
streamed CSV / JSON bodies; and for the API, the documented error answers (``problems``)
and the checks every input passes (``Body``, ``no_nul``, ``MAX_ID``)."""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, ClassVar, TypeVar

from fastapi import HTTPException, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationInfo, field_validator
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from bounceloop.core.csvcell import cell
from bounceloop.storage.errorlist import Query, QueryError

log = logging.getLogger(__name__)

T = TypeVar("T")

EXPORT_FORMATS = ("csv", "json", "jsonl")
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json",
         "jsonl": "application/x-ndjson"}
#: The largest numbers a request may carry where they meet a column: the ids of mailings,
#: webhooks and error rows (INTEGER: 32 bits on PostgreSQL), and offsets and the ids of
#: returned messages and jobs (BIGINT). A larger number would fail in the driver - a 500;
#: bounded in the schema, it is a 422.
MAX_ID = 2**31 - 1
MAX_BIGINT = 2**63 - 1


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


NUL = "\x00"
_NUL_MESSAGE = "NUL (U+0000) is not allowed"


def _bad_text(value: Any, escaped: bool = False) -> str | None:
    """Why a value from a JSON body cannot be kept, or None: NUL, or a lone surrogate
    (JSON can say "\\ud800", which is no character: it has no UTF-8 to store)."""
    if isinstance(value, str):
        if NUL in value:
            return _NUL_MESSAGE
        try:
            value.encode("utf-8", "surrogateescape" if escaped else "strict")
        except UnicodeEncodeError as exc:
            return f"not text: a lone surrogate (U+{ord(value[exc.start]):04X})"
        return None
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple):
        return next((p for p in (_bad_text(v, escaped) for v in value) if p), None)
    return None


class Body(BaseModel):
    """A JSON request body: its strings are text that can be stored. No NUL - no address,
    name or text has one, and PostgreSQL can neither store nor compare it - and no lone
    surrogate; either would fail in the database or the mail library (a 500), so both
    are a 422 here."""

    escaped: ClassVar[frozenset[str]] = frozenset()
    """Fields where U+DC80-U+DCFF stand for raw bytes (Python's surrogateescape)."""

    @field_validator("*")
    @classmethod
    def _text(cls, value: Any, info: ValidationInfo) -> Any:
        problem = _bad_text(value, info.field_name in cls.escaped)
        if problem:
            raise ValueError(problem)
        return value


def no_nul(request: Request) -> None:
    """A dependency of every API route, after the token's: no NUL in the path or the query
    (a 422 naming the parameter, as for any other invalid one; see :class:`Body`)."""
    bad = [("path", k, v) for k, v in request.path_params.items()
           if isinstance(v, str) and NUL in v]
    bad += [("query", k, v) for k, v in request.query_params.multi_items()
            if NUL in k or NUL in v]
    if bad:
        raise RequestValidationError([
            {"type": "value_error", "loc": (where, name), "msg": _NUL_MESSAGE,
             "input": value} for where, name, value in bad])


def invalid_request(request: Request, exc: Exception) -> Response:
    """FastAPI's 422 answer, written as ASCII JSON: the input it quotes may hold a lone
    surrogate (JSON's "\\ud800"), which has no UTF-8 - the default answer fails on it, a
    500 in place of the 422. Nor has JSON a NaN or an infinity, which Python's reader takes
    (``NaN``, ``1e999``) and its writer refuses: quoted, they are text."""
    assert isinstance(exc, RequestValidationError)
    body = json.dumps({"detail": _finite(jsonable_encoder(exc.errors()))}, ensure_ascii=True,
                      allow_nan=False, separators=(",", ":"))
    return Response(body, status_code=422, media_type="application/json")


def _finite(value: Any) -> Any:
    """``value`` (lists and dicts of plain values, changed in place) with NaN and the
    infinities as text. A loop, not recursion: the input quoted may be nested as deep as
    the JSON reader goes (about 950 levels), where a recursive walk overflows the stack."""
    stack = [value]
    while stack:
        item = stack.pop()
        keys: Iterable[Any] = item.keys() if isinstance(item, dict) else \
            range(len(item)) if isinstance(item, list) else ()
        for key in keys:
            v = item[key]
            if isinstance(v, float) and not math.isfinite(v):
                item[key] = str(v)  # nan, inf, -inf
            elif isinstance(v, dict | list):
                stack.append(v)
    return value


def database_unavailable(request: Request, exc: Exception) -> Response:
    """A database that went away under a request (restarted, failed over, unreachable):
    503 with Retry-After, which clients retry, not a 500. Nothing was committed: each
    request's writes are one transaction. Other database errors are bugs, left as 500s."""
    assert isinstance(exc, DBAPIError)
    if not (exc.connection_invalidated or isinstance(exc, OperationalError)):
        raise exc
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path,
                " ".join(str(exc.orig or exc).split())[:300])
    return JSONResponse({"detail": "the database does not answer; try again shortly"},
                        status_code=503, headers={"Retry-After": "5"})


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


def encode(rows: Iterable[dict[str, Any]], fmt: str, columns: tuple[str, ...]
           ) -> Iterator[str]:
    """Rows as CSV (a header, then ``columns``; cells neutralised for spreadsheets by
    core.csvcell), a JSON array, or JSON lines (values as they are) - chunk by chunk, so
    an export of any size streams."""
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        for n, row in enumerate(rows, start=1):
            writer.writerow([cell(row.get(c)) for c in columns])
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
