"""The Suppressions pages: search the list, add an entry by hand, take one off with a
note, and read the audit history (storage.suppressions, as ``/api/v1/suppressions``).

    GET  /suppressions                 search (search, type, reason, source), paged; the
                                       add form
    POST /suppressions                 add: value, sender, reason, note, days
    GET  /suppressions/entry?value=    one address or domain: its entries and history
    POST /suppressions/remove          type, value, sender, note (required)
    GET  /suppressions/history         every change, newest first, paged

Changes are logged with the actor ``ui:<user name>``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection, Engine

from bounceloop.core.address import AddressError, normalize
from bounceloop.storage import suppressions as store
from bounceloop.storage.engine import utcnow
from bounceloop.web.common import reading
from bounceloop.web.ui.params import Params
from bounceloop.web.ui.render import UIRoute, query, render
from bounceloop.web.ui.session import Gate, posted

PAGE = 50
HISTORY_PAGE = 100
MAX_NOTE = 2000
MAX_DAYS = 36_500.0


def _sender(p: Params) -> str:
    sender = p.text("sender")
    if not sender:
        return ""
    try:
        return normalize(sender).lower()
    except AddressError as exc:
        raise HTTPException(400, f"sender: {exc}") from None


def _entry_url(value: str, done: str = "") -> str:
    return "/suppressions/entry" + query({"value": value, "done": done})


def routes(db: Engine, gate: Gate) -> APIRouter:
    ui = APIRouter(route_class=UIRoute, include_in_schema=False,
                   dependencies=[Depends(gate.viewer)])
    post = [Depends(gate.poster)]

    @ui.get("/suppressions")
    def suppressions_page(request: Request) -> Response:
        p = Params(request.query_params)
        given = {"search": p.text("search"), "type": p.choice("type", store.TYPES),
                 "reason": p.text("reason", longest=32),
                 "source": p.choice("source", store.SOURCES)}
        start = p.number("start", 0)
        limit = p.number("limit", PAGE, lowest=1, highest=1000)
        q = store.Query(search=given["search"], type=given["type"], reason=given["reason"],
                        source=given["source"], start=start, limit=limit)
        entries, total = reading(db, lambda conn: store.listing(conn, q, utcnow()))
        pairs = {**given, "limit": limit if limit != PAGE else ""}
        return render(request, "suppressions.html", {
            "title": "Suppressions", "section": "suppressions", "given": given,
            "entries": entries, "total": total, "first": start + 1 if entries else 0,
            "last": start + len(entries),
            "previous": query(pairs, start=max(0, start - limit) or "")
            if start > 0 else None,
            "next": query(pairs, start=start + limit) if start + limit < total else None,
            "types": store.TYPES, "sources": store.SOURCES})

    @ui.post("/suppressions", dependencies=post)
    def add(request: Request) -> Response:
        sent = posted(request)
        p = sent.form
        try:
            kind, value = store.target(p.text("value"), p.choice("type", store.TYPES))
        except ValueError as exc:
            raise HTTPException(400, f"value: {exc}") from None
        reason = p.text("reason", longest=32) or "manual"
        note = p.text("note", longest=MAX_NOTE)
        days = p.decimal("days", highest=MAX_DAYS)
        sender = _sender(p)
        now = utcnow()
        d = store.manual(kind, value, sender=sender, reason=reason,
                         expires_at=now + timedelta(days=days) if days else None)
        with db.begin() as conn:
            entry = store.put(conn, d, source="manual", actor=sent.actor, now=now,
                              note=note)
        return RedirectResponse(_entry_url(value, "added" if entry else "unchanged"),
                                status_code=303)

    @ui.post("/suppressions/remove", dependencies=post)
    def remove(request: Request) -> Response:
        sent = posted(request)
        p = sent.form
        kind = p.choice("type", store.TYPES)
        value = p.text("value")
        if not kind or not value:
            raise HTTPException(400, "say which entry: type and value")
        note = p.text("note", longest=MAX_NOTE)
        if not note:
            raise HTTPException(400, "note: say why the entry comes off the list")
        sender = p.text("sender").lower()
        with db.begin() as conn:
            old = store.remove(conn, kind, value, sender, note=note, actor=sent.actor,
                               now=utcnow())
        if old is None:
            raise HTTPException(404, f"{kind} {value} is not on the list")
        return RedirectResponse(_entry_url(value, "removed"), status_code=303)

    @ui.get("/suppressions/entry")
    def entry_page(request: Request) -> Response:
        p = Params(request.query_params)
        value = p.text("value")
        if not value:
            raise HTTPException(400, "value: which address or domain?")
        done = p.choice("done", ("added", "removed", "unchanged"))

        def work(conn: Connection) -> tuple[list[store.Entry], list[dict[str, Any]]]:
            return (store.entries_of(conn, value),
                    store.history(conn, value, limit=HISTORY_PAGE))

        entries, history = reading(db, work)
        now = utcnow()
        return render(request, "suppression_entry.html", {
            "title": f"Suppression of {value}", "section": "suppressions",
            "value": value.lower(), "entries": entries, "history": history, "done": done,
            "live": {e.id: e.live(now) for e in entries}})

    @ui.get("/suppressions/history")
    def history_page(request: Request) -> Response:
        p = Params(request.query_params)
        start = p.number("start", 0)
        rows = reading(db, lambda conn: store.history(conn, start=start,
                                                      limit=HISTORY_PAGE + 1))
        more = len(rows) > HISTORY_PAGE
        return render(request, "suppression_history.html", {
            "title": "Suppression history", "section": "suppressions",
            "history": rows[:HISTORY_PAGE], "start": start,
            "previous": query({}, start=max(0, start - HISTORY_PAGE) or "")
            if start > 0 else None,
            "next": query({}, start=start + HISTORY_PAGE) if more else None})

    return ui
