"""REST API: the suppression list and the error selections - what ``bounceloop
suppression`` and ``bounceloop select`` do, over HTTP.

    GET    /api/v1/suppressions                 search (?search=&type=&reason=&source=
                                                &sender=&expired=&start=&limit=)
    POST   /api/v1/suppressions                 add by hand (201; 200 if already so)
    GET    /api/v1/suppressions/check           ?address=&sender=: would mail be refused
    GET    /api/v1/suppressions/history         ?value=&start=&limit=: the audit history
    GET    /api/v1/suppressions/export          every live entry as CSV
    POST   /api/v1/suppressions/import          a CSV body; bad rows listed with lines
    GET    /api/v1/suppressions/domains         ?days=: sender-side failures per domain
    GET    /api/v1/suppressions/{type}/{value}  one entry (?sender=) and its history
    DELETE /api/v1/suppressions/{type}/{value}  ?note= (required) &sender=
    POST   /api/v1/selections                   the spec's error selections (JSON)
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import Field, model_validator
from sqlalchemy import Connection, Engine

from bounceloop.config import Settings
from bounceloop.core.address import AddressError, normalize
from bounceloop.core.addresslist import AddressList, Bad, ListError, Row
from bounceloop.storage import selections
from bounceloop.storage import suppressions as store
from bounceloop.storage.engine import utcnow
from bounceloop.web.common import (
    MAX_BIGINT,
    MAX_ID,
    MEDIA,
    NUL,
    Body,
    encode,
    no_nul,
    problems,
    utc,
)

ACTOR = "api"
MAX_ADDRESSES = 100_000
MAX_CSV = 20 * 1024 * 1024
#: The longest span in days a request may name (a longer one would leave the calendar).
MAX_DAYS = 36_600


class SuppressionIn(Body):
    value: str = Field(min_length=1, max_length=320)
    type: Literal["address", "domain"] | None = None
    """Default: address if the value has an @, else domain."""
    sender: str = Field(default="", max_length=320)
    note: str = Field(default="", max_length=2000)
    reason: str = Field(default="manual", min_length=1, max_length=32)
    code: str = Field(default="550", pattern=r"^[45]\d\d$")
    extended: str = Field(default="5.7.1", pattern=r"^[45]\.\d{1,3}\.\d{1,3}$")
    description: str = Field(default="", max_length=2000)
    expires_at: datetime | None = None
    days: float | None = Field(default=None, gt=0, le=MAX_DAYS)

    @model_validator(mode="after")
    def _one_expiry(self) -> SuppressionIn:
        if self.expires_at is not None and self.days is not None:
            raise ValueError("give expires_at or days, not both")
        return self


class SelectionIn(Body):
    mode: Literal["errors", "no-errors"]
    addresses: list[str] | None = Field(default=None, max_length=MAX_ADDRESSES)
    csv: str | None = Field(default=None, max_length=MAX_CSV)
    column: str = ""
    header: bool = True
    since: datetime | None = None
    until: datetime | None = None
    days: float | None = Field(default=None, gt=0, le=MAX_DAYS)
    mailing: int | None = Field(default=None, ge=0, le=MAX_ID)
    errortypes: list[str] = Field(default_factory=list)
    codes: list[str] = Field(default_factory=list)
    severity: Literal["", "temporary", "final"] = ""
    count: str = ">0"
    not_suppressed: bool = False
    sender: str = ""

    @model_validator(mode="after")
    def _one_list(self) -> SelectionIn:
        if (self.addresses is None) == (self.csv is None):
            raise ValueError("give the list as addresses (a JSON list) or csv (text)")
        if self.since is not None and self.days is not None:
            raise ValueError("give since or days, not both")
        return self


def _target(value: str, kind: str | None) -> tuple[str, str]:
    try:
        return store.target(value, kind or "")
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _addresses(items: list[str]) -> list[Row | Bad]:
    out: list[Row | Bad] = []
    for n, value in enumerate(items, start=1):
        try:
            out.append(Row(n, [value], normalize(value)))
        except AddressError as exc:
            out.append(Bad(n, str(exc), [value]))
    return out


def router(db: Engine, settings: Settings, need: Callable[[str], Callable[..., None]]
           ) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["suppressions"], responses=problems(401))
    read = [Depends(need("read")), Depends(no_nul)]
    write = [Depends(need("write")), Depends(no_nul)]

    def run(work: Callable[[Connection], Any]) -> Any:
        with db.begin() as conn:
            return work(conn)

    @api.get("/suppressions", dependencies=read)
    def list_suppressions(
            search: str = Query("", max_length=320),
            type: Literal["address", "domain"] | None = None,
            reason: str = Query("", max_length=32),
            source: Literal["rule", "manual", "import"] | None = None,
            sender: str | None = Query(None, max_length=320),
            expired: bool = False, start: int = Query(0, ge=0, le=MAX_BIGINT),
            limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
        q = store.Query(search=search, type=type or "", reason=reason, source=source or "",
                        sender=sender, expired=expired, start=start, limit=limit)
        entries, total = run(lambda conn: store.listing(conn, q, utcnow()))
        return {"total": total, "start": start, "limit": limit,
                "items": [e.public() for e in entries]}

    @api.post("/suppressions", dependencies=write, status_code=201,
              responses={200: {"description": "Already on the list, as asked: the entry"},
                         **problems(400, 403)})
    def add_suppression(body: SuppressionIn, response: Response) -> dict[str, Any]:
        kind, value = _target(body.value, body.type)
        now = utcnow()
        until = now + timedelta(days=body.days) if body.days else utc(body.expires_at)
        if until is not None and until <= now:
            raise HTTPException(400, "expires_at has passed")
        d = store.manual(kind, value, sender=body.sender, reason=body.reason, code=body.code,
                         extended=body.extended, description=body.description,
                         expires_at=until)
        entry = run(lambda conn: store.put(conn, d, source="manual", actor=ACTOR, now=now,
                                           note=body.note))
        if entry is None:
            response.status_code = 200
            entry = run(lambda conn: store.get(conn, kind, value, body.sender))
        return dict(entry.public())

    @api.get("/suppressions/check", dependencies=read, responses=problems(400))
    def check_suppression(address: str = Query(max_length=320),
                          sender: str = Query("", max_length=320)) -> dict[str, Any]:
        try:
            rcpt = normalize(address)
        except AddressError as exc:
            raise HTTPException(400, str(exc)) from None
        hits = run(lambda conn: store.check(conn, [(rcpt, sender)], utcnow()))
        hit = hits.get((rcpt.lower(), sender.lower()))
        return {"address": rcpt, "sender": sender, "suppressed": hit is not None,
                "entry": hit.public() if hit else None}

    @api.get("/suppressions/history", dependencies=read)
    def suppression_history(value: str = Query("", max_length=320),
                            start: int = Query(0, ge=0, le=MAX_BIGINT),
                            limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = run(lambda conn: store.history(
            conn, value, start=start, limit=limit))
        return rows

    @api.get("/suppressions/export", dependencies=read,
             response_class=Response, responses={200: {"content": {"text/csv": {}}}})
    def export_suppressions() -> Response:
        with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            body = "".join(encode((store.csv_row(e) for e in store.every(conn, utcnow())),
                                  "csv", store.CSV_COLUMNS))
        return Response(body, media_type=MEDIA["csv"], headers={
            "Content-Disposition": 'attachment; filename="suppressions.csv"'})

    @api.post("/suppressions/import", dependencies=write, responses=problems(400, 403, 413),
              openapi_extra={"requestBody": {"required": True, "content": {
                  "text/csv": {"schema": {"type": "string"}}}}})
    async def import_suppressions(request: Request,
                                  note: str = Query("", max_length=2000)) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_CSV:
            raise HTTPException(413, f"at most {MAX_CSV} bytes of CSV")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise HTTPException(400, f"the CSV is not UTF-8 (byte {exc.start})") from None
        if NUL in text:
            raise HTTPException(400, f"the CSV has a NUL character (byte {raw.index(0)})")
        try:
            result = run(lambda conn: store.load_csv(
                conn, io.StringIO(text, newline=""), actor=ACTOR, now=utcnow(), note=note))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return dict(result.public())

    @api.get("/suppressions/domains", dependencies=read)
    def sender_side_domains(days: float = Query(30.0, gt=0, le=3660),
                            limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        now = utcnow()
        rows: list[dict[str, Any]] = run(lambda conn: store.domain_report(
            conn, settings.suppression_policy(), now - timedelta(days=days), now, limit))
        return rows

    @api.get("/suppressions/{type}/{value}", dependencies=read, responses=problems(404))
    def get_suppression(type: Literal["address", "domain"], value: str,
                        sender: str = Query("", max_length=320)) -> dict[str, Any]:
        entry = run(lambda conn: store.get(conn, type, value, sender))
        if entry is None:
            raise HTTPException(404, f"{type} {value} is not on the list")
        return {**entry.public(),
                "history": run(lambda conn: store.history(conn, value, limit=1000))}

    @api.delete("/suppressions/{type}/{value}", dependencies=write,
                responses=problems(403, 404))
    def remove_suppression(type: Literal["address", "domain"], value: str,
                           note: str = Query(min_length=1, max_length=2000),
                           sender: str = Query("", max_length=320)) -> dict[str, Any]:
        old = run(lambda conn: store.remove(conn, type, value, sender, note=note, actor=ACTOR,
                                            now=utcnow()))
        if old is None:
            raise HTTPException(404, f"{type} {value} is not on the list")
        return {"removed": old.public()}

    @api.post("/selections", dependencies=read, tags=["selections"],
              responses=problems(400))
    def select(body: SelectionIn) -> dict[str, Any]:
        """The spec's "an error / no error must have been registered": the addresses (or
        CSV rows, every column kept) that pass, what was removed, and bad rows by line."""
        since = utc(body.since)
        if body.days is not None:
            since = utcnow() - timedelta(days=body.days)
        try:
            c = selections.Criteria(
                mode=body.mode, since=since, until=utc(body.until), mailing=body.mailing,
                errortypes=tuple(body.errortypes), codes=tuple(body.codes),
                severity=body.severity, count=selections.parse_count(body.count),
                not_suppressed=body.not_suppressed, sender=body.sender)
        except selections.CriteriaError as exc:
            raise HTTPException(400, str(exc)) from None
        listing: AddressList | None = None
        if body.csv is not None:
            try:
                listing = AddressList(io.StringIO(body.csv, newline=""), column=body.column,
                                      header=body.header)
            except ListError as exc:
                raise HTTPException(400, str(exc)) from None
        items = listing if listing is not None else _addresses(body.addresses or [])
        tally = selections.Tally()
        kept: list[Row] = []
        bad: list[dict[str, Any]] = []
        with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            for item in selections.run(conn, items, c, utcnow(), tally):
                if isinstance(item, Bad):
                    bad.append({"line": item.line, "error": item.error})
                else:
                    kept.append(item)
        out: dict[str, Any] = {"counts": tally.public(), "bad": bad,
                               "addresses": [r.address for r in kept]}
        if listing is not None:
            buf = io.StringIO()
            writer = csv.writer(buf, delimiter=listing.delimiter, lineterminator="\r\n")
            if listing.header is not None:
                writer.writerow(listing.header)
            writer.writerows(r.fields for r in kept)
            out["csv"] = buf.getvalue()
        return out

    return api
