"""A message's page - what it was, its timeline of attempts and events, its errors and the
mail returned about it - and a returned message's page and bytes (storage.story).

    GET /messages/{id}       the message
    GET /bounces/{id}        a returned message: what it was read as, its errors, its text
    GET /bounces/{id}/raw    its bytes exactly as received, as a download
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy import Connection, Engine

from bounceloop.storage import story
from bounceloop.web.common import reading
from bounceloop.web.ui.render import UIRoute, render
from bounceloop.web.ui.session import Gate

MESSAGE_ID = re.compile(r"^[0-9a-f]{1,40}$")
#: Event data shown in the timeline, in this order (the rest is in the API's answer).
EVENT_KEYS = ("attempt", "state", "result", "action", "code", "extended", "description",
              "reason", "severity", "next_attempt_at", "kind", "detector", "tied_by",
              "feedback_type", "mx", "ip", "received")
#: A returned message larger than this is shown cut (the download has it whole).
SHOWN_BYTES = 512 * 1024
ATTEMPT = 0
EVENT = 1


def timeline(found: dict[str, Any]) -> list[dict[str, Any]]:
    """Every attempt and every event of a message, in time order (an attempt before the
    event it caused when both carry the same time)."""
    items: list[tuple[Any, int, int, dict[str, Any]]] = []
    for n, a in enumerate(found["attempts"]):
        items.append((a["started_at"], ATTEMPT, n, {"kind": "attempt", "time": a["started_at"],
                                                    **a}))
    for n, e in enumerate(found["events"]):
        data = e["data"] if isinstance(e["data"], dict) else {}
        shown = [(k, data[k]) for k in EVENT_KEYS if data.get(k) not in (None, "", [], {})]
        items.append((e["time"], EVENT, n, {"kind": "event", "time": e["time"],
                                            "type": e["type"], "data": shown,
                                            "received": data.get("received")}))
    items.sort(key=lambda item: (item[0], item[1], item[2]))
    return [item[3] for item in items]


def _number(value: str, what: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 20 or int(value) >= 2**63:
        raise HTTPException(404, f"There is no {what} {value!r}.")
    return int(value)


def routes(db: Engine, gate: Gate) -> APIRouter:
    ui = APIRouter(route_class=UIRoute, include_in_schema=False,
                   dependencies=[Depends(gate.viewer)])

    @ui.get("/messages/{message_id}")
    def message_page(request: Request, message_id: str) -> Response:
        if not MESSAGE_ID.match(message_id):
            raise HTTPException(404, f"There is no message {message_id!r}.")
        found = reading(db, lambda conn: story.message(conn, message_id))
        if found is None:
            raise HTTPException(404, f"There is no message {message_id!r}.")
        return render(request, "message.html", {
            "title": f"Message to {found['recipient']}", "section": "errors", "m": found,
            "timeline": timeline(found)})

    @ui.get("/bounces/{received_id}")
    def bounce_page(request: Request, received_id: str) -> Response:
        rid = _number(received_id, "returned message")

        def work(conn: Connection) -> tuple[dict[str, Any] | None, story.Raw | None]:
            return story.bounce(conn, rid), story.raw(conn, rid)

        found, raw = reading(db, work)
        if found is None or raw is None:
            raise HTTPException(404, f"There is no returned message {received_id!r}.")
        text = raw.raw[:SHOWN_BYTES].decode("utf-8", "replace")
        return render(request, "bounce.html", {
            "title": f"Returned message {rid}", "section": "errors", "b": found,
            "text": text, "size": len(raw.raw), "cut": len(raw.raw) > SHOWN_BYTES})

    @ui.get("/bounces/{received_id}/raw")
    def bounce_raw(request: Request, received_id: str) -> Response:
        rid = _number(received_id, "returned message")
        raw = reading(db, lambda conn: story.raw(conn, rid))
        if raw is None:
            raise HTTPException(404, f"There is no returned message {received_id!r}.")
        return Response(raw.raw, media_type="message/rfc822", headers={
            "Content-Disposition": f'attachment; filename="bounce-{rid}.eml"'})

    return ui
