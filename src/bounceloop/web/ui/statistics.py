"""The Statistics page: outcomes per day and errors broken down, for one mailing or all,
over whole UTC days (storage.stats, as ``GET /api/v1/statistics``).

    GET /statistics?mailing=&since=&until=     default: the last 30 days, every mailing

Each figure is a chart (web.charts: SVG with a tooltip per bar) and a table with the same
numbers, which is what a screen reader or a copy-paste wants.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Connection, Engine

from bounceloop.core.errortypes import ERRORTYPES
from bounceloop.storage import stats, story
from bounceloop.storage.engine import utcnow
from bounceloop.web import charts
from bounceloop.web.common import reading
from bounceloop.web.reports import report_range
from bounceloop.web.ui.params import Params
from bounceloop.web.ui.render import STEPS, UIRoute, chart, render
from bounceloop.web.ui.session import Gate

#: The daily chart's series, bottom up.
DAILY = ("delivered", "deferred", "failed", "bounced")


def _step(key: str) -> str:
    return f"{key} · {STEPS[int(key)]}" if key.isdigit() and int(key) in STEPS else key


#: The breakdowns: (metric, heading, label of a key).
BREAKDOWNS: tuple[tuple[str, str, Callable[[str], str]], ...] = (
    ("severity", "Soft and hard", lambda k: k or "none"),
    ("errortype", "By error type", lambda k: k or "none"),
    ("reason", "By reason", lambda k: k or "none"),
    ("domain", "By recipient domain (top 20)", lambda k: k or "none"),
    ("step", "By step", lambda k: _step(k) or "none"),
)


def routes(db: Engine, gate: Gate) -> APIRouter:
    ui = APIRouter(route_class=UIRoute, include_in_schema=False,
                   dependencies=[Depends(gate.viewer)])

    @ui.get("/statistics")
    def statistics_page(request: Request) -> Response:
        p = Params(request.query_params)
        mailing = p.optional_number("mailing")
        now = utcnow()
        since, until = report_range(p.day("since"), p.day("until"), now.date())

        def work(conn: Connection) -> tuple[stats.Report, list[dict[str, Any]]]:
            return (stats.report(conn, since=since, until=until, mailing=mailing, now=now),
                    story.mailing_list(conn))

        report, mailings = reading(db, work)
        scope = "all mailings"
        for m in mailings:
            if m["id"] == mailing:
                scope = f"mailing {m['name'] or '(no name)'} (#{m['id']})"
        if mailing is not None and scope == "all mailings":
            scope = f"mailing #{mailing}"
        totals = [(k, report.totals[k]) for k in stats.OUTCOMES]
        sections = []
        for metric, heading, label in BREAKDOWNS:
            items = [(label(k), n) for k, n in report.breakdowns[metric]]
            rows = [{"key": k, "label": label(k), "count": n,
                     "note": ERRORTYPES.get(k, "") if metric == "errortype" else ""}
                    for k, n in report.breakdowns[metric]]
            sections.append({"id": metric, "heading": heading, "rows": rows,
                             "total": sum(n for _, n in items),
                             "chart": chart(charts.bars(items, title=f"{heading}, {scope}"))})
        daily = chart(charts.daily(report.days, [(k, report.daily[k]) for k in DAILY],
                                   title=f"Outcomes per day, {scope}"))
        return render(request, "statistics.html", {
            "title": "Statistics", "section": "statistics", "report": report,
            "mailings": mailings, "mailing": "" if mailing is None else str(mailing),
            "scope": scope, "since": since.isoformat(), "until": until.isoformat(),
            "totals": totals,
            "totals_chart": chart(charts.bars(totals, title=f"Totals, {scope}")),
            "sections": sections, "daily": daily, "daily_keys": DAILY})

    return ui
