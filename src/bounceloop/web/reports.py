"""REST API: what went wrong, read in every way - errors, statistics, mailings, daily logs.

    GET /api/v1/errors                 filtered, sorted, paged (start, limit <= 1000, total)
                                       or an incremental sync (?after=ID: ids above, in order)
    GET /api/v1/errors/export          the same filters, every row: ?format=csv|json|jsonl
    GET /api/v1/statistics             ?mailing=&since=&until= (UTC days, inclusive;
                                       default the last 30): outcomes per day, breakdowns
    GET /api/v1/mailings               the newest mailings with their message counts
    GET /api/v1/logs/{kind}/{day}      one UTC day of errors, retries, deliveries,
                                       attempts, bounces or webhook-errors: csv|json|jsonl
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from bounceloop.storage import errorlist, logs, stats, story
from bounceloop.storage.engine import utcnow
from bounceloop.web.common import (
    MAX_BIGINT,
    MAX_ID,
    MEDIA,
    error_query,
    no_nul,
    problems,
    reading,
    steps,
    streamed,
    utc,
    values,
)

Format = Literal["csv", "json", "jsonl"]
Many = Annotated[list[str], Query()]
MailingId = Annotated[int | None, Query(ge=0, le=MAX_ID)]
DEFAULT_DAYS = 30


class ErrorFilters:
    """The Errors view's filters as query parameters (repeat a parameter or separate
    values with commas for OR)."""

    def __init__(self, mailing: MailingId = None, errortype: Many = [],  # noqa: B006
                 step: Many = [], state: Many = [],  # noqa: B006
                 severity: Literal["", "soft", "hard"] = "",
                 reason: Many = [], code: Many = [],  # noqa: B006
                 domain: Annotated[str, Query(max_length=255)] = "",
                 recipient: Annotated[str, Query(max_length=320)] = "",
                 since: datetime | None = None, until: datetime | None = None,
                 history: bool = False,
                 tied: Annotated[bool | None, Query(
                     description="true: rows against an address (synchronous errors, and "
                                 "returned mail tied to a message we sent); false: untied "
                                 "returned mail, kept as evidence against no address")
                 ] = None) -> None:
        self.values: dict[str, Any] = {
            "mailing": mailing, "errortypes": values(errortype), "steps": steps(step),
            "states": values(state), "severity": severity, "reasons": values(reason),
            "codes": values(code), "domain": domain, "recipient": recipient,
            "since": utc(since), "until": utc(until), "history": history, "tied": tied}


class ErrorRow(BaseModel):
    """One error row (storage.errorlist.FIELDS)."""

    id: int
    timestamp: datetime
    message_id: str | None
    mailing_id: int | None
    recipient: str
    domain: str | None
    step: int
    state: str
    code: str | None
    extended: str | None
    description: str | None
    errortype: str
    severity: str
    reason: str
    hardbounce: bool
    received_id: int | None
    current: bool
    tied: bool
    reported_recipient: str | None
    rule: str | None = Field(description=(
        "The stable id of the rule that decided the reason (phrase:userunknown/user-unknown, "
        "status:5.1.1, provider:..., detector:..., expiry:..., delivery:...; docs/parsing.md, "
        "'Why a record has its reason'); null on rows from before it was kept."))
    matched: str | None = Field(description="The text that rule matched.")
    detector: str | None = Field(description=(
        "The bounce format family that read a returned message's record; null for "
        "synchronous errors."))
    expired: bool = Field(description="The reporting MTA gave up after retrying.")
    status_field: str | None = Field(description=(
        "The status as the report stated it (a DSN's Status field, RFC 3464 2.3.4); "
        "extended refines a generic one with the remote reply's code. None for our own "
        "(synchronous) errors."))


class ErrorPage(BaseModel):
    total: int
    start: int
    limit: int
    errors: list[ErrorRow]
    last_id: int | None = Field(None, description="With ?after=: the id to ask with next.")


class MailingOut(BaseModel):
    id: int
    name: str
    sender: str
    created_at: datetime
    messages: int
    """Messages queued (PostgreSQL sums to a numeric: this keeps it a JSON number)."""


def report_range(since: date | None, until: date | None, today: date
                 ) -> tuple[date, date]:
    """A report's days: default the last 30 up to today."""
    until = until or today
    try:
        since = since or until - timedelta(days=DEFAULT_DAYS - 1)
        until + timedelta(days=1)  # the report reads up to the end of the last day
    except OverflowError:
        raise HTTPException(400, "a date out of range") from None
    if since > until:
        raise HTTPException(400, "since is after until")
    if (until - since).days >= stats.MAX_DAYS:
        raise HTTPException(400, f"a report covers at most {stats.MAX_DAYS} days")
    return since, until


def router(db: Engine, need: Callable[[str], Callable[..., None]]) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["reports"], responses=problems(401))
    read = [Depends(need("read")), Depends(no_nul)]

    @api.get("/errors", dependencies=read,
             responses={200: {"model": ErrorPage, "description": "A page of error rows."},
                        **problems(400)})
    def list_errors(f: Annotated[ErrorFilters, Depends()],
                    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
                    sort: Literal[errorlist.SORTS] = "timestamp",  # type: ignore[valid-type]
                    order: Literal["asc", "desc"] = "desc",
                    start: Annotated[int, Query(ge=0, le=MAX_BIGINT)] = 0,
                    limit: Annotated[int, Query(ge=1, le=errorlist.MAX_LIMIT)] = 100
                    ) -> dict[str, Any]:
        """Error rows (current ones unless ``history``). With ``after``, rows with a higher
        id in id order: keep the returned ``last_id`` and ask again with it."""
        q = error_query(**f.values, after=after, sort=sort, descending=order == "desc",
                        start=start, limit=limit)
        rows, total = reading(db, lambda conn: errorlist.page(conn, q))
        body: dict[str, Any] = {"total": total, "start": 0 if after is not None else start,
                                "limit": limit, "errors": rows}
        if after is not None:
            body["last_id"] = rows[-1]["id"] if rows else after
        return body

    @api.get("/errors/export", dependencies=read,
             responses={200: {"content": {m: {} for m in MEDIA.values()},
                              "description": "Every matching row."}, **problems(400)})
    def export_errors(f: Annotated[ErrorFilters, Depends()], format: Format = "csv",
                      sort: Literal[errorlist.SORTS] = "timestamp",  # type: ignore[valid-type]
                      order: Literal["asc", "desc"] = "desc") -> StreamingResponse:
        q = error_query(**f.values, sort=sort, descending=order == "desc")
        return StreamingResponse(
            streamed(db, lambda conn: errorlist.stream(conn, q), format, errorlist.FIELDS),
            media_type=MEDIA[format],
            headers={"Content-Disposition": f'attachment; filename="errors.{format}"'})

    @api.get("/statistics", dependencies=read, responses=problems(400))
    def statistics(mailing: MailingId = None, since: date | None = None,
                   until: date | None = None) -> dict[str, Any]:
        """Counts per outcome and day, and errors by severity, type, reason, step and
        recipient domain (top 20), for one mailing or all, over whole UTC days."""
        now = utcnow()
        first, last = report_range(since, until, now.date())
        return reading(db, lambda conn: stats.report(
            conn, since=first, until=last, mailing=mailing, now=now)).as_dict()

    @api.get("/mailings", dependencies=read)
    def mailings(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[MailingOut]:
        """The newest mailings first, with how many messages each queued."""
        rows = reading(db, lambda conn: story.mailing_list(conn, limit))
        return [MailingOut.model_validate(r) for r in rows]

    @api.get("/logs/{kind}/{day}", dependencies=read,
             responses={200: {"content": {m: {} for m in MEDIA.values()},
                              "description": "The day's rows, oldest first."},
                        **problems(400)})
    def day_log(kind: Annotated[Literal[logs.KINDS], Path()],  # type: ignore[valid-type]
                day: date, format: Format = "csv") -> StreamingResponse:
        if day == date.max:  # the day's end is past what a datetime holds
            raise HTTPException(400, f"no log for {day.isoformat()}")
        return StreamingResponse(
            streamed(db, lambda conn: logs.day_log(conn, kind, day), format,
                     logs.columns(kind)),
            media_type=MEDIA[format],
            headers={"Content-Disposition":
                     f'attachment; filename="{kind}-{day.isoformat()}.{format}"'})

    return api
