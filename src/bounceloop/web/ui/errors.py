"""The Errors page: the spec's Error tab - every error row, filtered, sorted and paged
(storage.errorlist, as ``GET /api/v1/errors``), and its CSV export.

    GET /                    to /errors
    GET /errors              filters (mailing, errortype, step, state, severity, tied,
                             reason, code, domain, recipient, since, until: UTC days,
                             inclusive),
                             sort & order, start & limit; for htmx only the results region
    GET /errors/export.csv   every row the same filters match, streamed
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy import Connection, Engine

from bounceloop.core.errortypes import ERRORTYPES, STATE_STEP
from bounceloop.storage import errorlist, stats, story
from bounceloop.web.common import MEDIA, error_query, reading, streamed
from bounceloop.web.ui.params import Params
from bounceloop.web.ui.render import UIRoute, htmx, query, render
from bounceloop.web.ui.session import Gate

LIMITS = (25, 50, 100, 200, 500)
DEFAULT_LIMIT = 50
#: The table's columns: (sort key or "" for none, heading).
COLUMNS = (("timestamp", "Time"), ("recipient", "Recipient"), ("mailing_id", "Mailing"),
           ("step", "Step"), ("state", "State"), ("code", "Code"), ("extended", "Extended"),
           ("", "Description"), ("errortype", "Error type"), ("severity", "Soft/hard"),
           ("reason", "Reason"))
#: How the caption names each sort of storage.errorlist.SORTS.
SORT_NAMES = {**{key: heading.lower() for key, heading in COLUMNS if key},
              "id": "number", "domain": "recipient domain"}
#: The filters as query parameters, in the form's order.
FILTERS = ("mailing", "errortype", "step", "state", "severity", "tied", "reason", "code",
           "domain", "recipient", "since", "until")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass
class View:
    """What the page was asked for: the filters as given (for the form and the links) and
    the storage query they make."""

    given: dict[str, Any] = field(default_factory=dict)
    sort: str = "timestamp"
    order: str = "desc"
    start: int = 0
    limit: int = DEFAULT_LIMIT
    query: errorlist.Query = field(default_factory=errorlist.Query)

    @classmethod
    def of(cls, p: Params, *, paged: bool = True) -> View:
        mailing = p.optional_number("mailing")
        steps = []
        for s in p.many("step"):
            if not (s.isascii() and s.isdigit()):
                raise HTTPException(400, f"step is a number from 0 to 5, not {s!r}")
            steps.append(int(s))
        since, until = p.day("since"), p.day("until")
        if since and until and since > until:
            raise HTTPException(400, f"since ({since}) is after until ({until})")
        sort = p.choice("sort", errorlist.SORTS, "timestamp")
        order = p.choice("order", ("asc", "desc"), "desc")
        start = p.number("start", 0) if paged else 0
        limit = p.number("limit", DEFAULT_LIMIT, lowest=1, highest=errorlist.MAX_LIMIT) \
            if paged else DEFAULT_LIMIT
        given: dict[str, Any] = {
            "mailing": "" if mailing is None else str(mailing),
            "errortype": list(p.many("errortype")), "step": [str(s) for s in steps],
            "state": list(p.many("state")), "severity": p.text("severity"),
            "reason": list(p.many("reason")), "code": ",".join(p.many("code")),
            "domain": p.text("domain", longest=255), "recipient": p.text("recipient"),
            "since": since.isoformat() if since else "",
            "until": until.isoformat() if until else "",
            "tied": p.choice("tied", ("", "yes", "no"), ""),
        }
        q = error_query(
            mailing=mailing, errortypes=tuple(given["errortype"]), steps=tuple(steps),
            states=tuple(given["state"]), severity=given["severity"],
            reasons=tuple(given["reason"]), codes=p.many("code"), domain=given["domain"],
            recipient=given["recipient"], tied={"yes": True, "no": False}.get(given["tied"]),
            since=_start_of(since) if since else None,
            until=_start_of(until + timedelta(days=1)) if until else None, sort=sort,
            descending=order == "desc", start=start, limit=limit)
        return cls(given, sort, order, start, limit, q)

    def pairs(self, **changes: Any) -> dict[str, Any]:
        """The page's query parameters (filters, sort, paging) with ``changes``."""
        out: dict[str, Any] = {k: v for k, v in self.given.items() if v not in ("", [])}
        if self.sort != "timestamp":
            out["sort"] = self.sort
        if self.order != "desc":
            out["order"] = self.order
        if self.limit != DEFAULT_LIMIT:
            out["limit"] = self.limit
        if self.start:
            out["start"] = self.start
        for k, v in changes.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = v
        return out

    def sorted_by(self, column: str) -> dict[str, Any]:
        """The link of a column's heading: sort by it, or turn its order around."""
        if column == self.sort:
            order = "asc" if self.order == "desc" else "desc"
        else:
            order = "desc" if column == "timestamp" else "asc"
        return self.pairs(sort=None if column == "timestamp" else column,
                          order=None if order == "desc" else order, start=None)


def _page(conn: Connection, v: View) -> dict[str, Any]:
    rows, total = errorlist.page(conn, v.query)
    names = stats.mailing_names(conn, [r["mailing_id"] for r in rows if r["mailing_id"]])
    return {"rows": rows, "total": total, "names": names}


def routes(db: Engine, gate: Gate) -> APIRouter:
    ui = APIRouter(route_class=UIRoute, include_in_schema=False,
                   dependencies=[Depends(gate.viewer)])

    @ui.get("/")
    def home(request: Request) -> Response:
        return RedirectResponse("/errors", status_code=303)

    @ui.get("/errors")
    def errors_page(request: Request) -> Response:
        v = View.of(Params(request.query_params))
        fragment = htmx(request)

        def work(conn: Connection) -> dict[str, Any]:
            out = _page(conn, v)
            if not fragment:
                out["mailings"] = story.mailing_list(conn)
                out["facets"] = errorlist.facets(conn)
            return out

        found = reading(db, work)
        first = v.start + 1 if found["rows"] else 0
        context = {
            **found, "title": "Errors", "section": "errors", "view": v,
            "columns": COLUMNS, "limits": LIMITS, "first": first,
            "sort_names": SORT_NAMES,
            "last": v.start + len(found["rows"]) if found["rows"] else 0,
            "previous": query(v.pairs(start=max(0, v.start - v.limit) or None))
            if v.start > 0 else None,
            "next": query(v.pairs(start=v.start + v.limit))
            if v.start + v.limit < found["total"] else None,
            "export": v.pairs(start=None, limit=None),
            "states": list(STATE_STEP), "errortype_names": ERRORTYPES, "oob": fragment,
        }
        if fragment:
            # The address bar gets the page's own URL, without the form's empty fields.
            return render(request, "errors_results.html", context,
                          headers={"HX-Push-Url": "/errors" + query(v.pairs())})
        return render(request, "errors.html", context)

    @ui.get("/errors/export.csv")
    def export(request: Request) -> Response:
        v = View.of(Params(request.query_params), paged=False)
        q = v.query
        return StreamingResponse(
            streamed(db, lambda conn: errorlist.stream(conn, q), "csv", errorlist.FIELDS),
            media_type=MEDIA["csv"],
            headers={"Content-Disposition": 'attachment; filename="errors.csv"'})

    return ui
