"""The Webhooks pages: the list and the add form, and per webhook its state, a test call,
pause and resume, its failed-call log and its dead-lettered deliveries to replay
(storage.webhooks and webhooks.manage, as ``/api/v1/webhooks``).

    GET  /webhooks                 the list, the add form
    POST /webhooks                 add: url, trigger (repeated), format, mailing, tags,
                                   description; the answer shows the signing secret, once
    GET  /webhooks/{id}            one webhook, its queue, failed calls and dead deliveries
    POST /webhooks/{id}/test       a sample event now: for htmx the result alone, else the
                                   webhook's page with it
    POST /webhooks/{id}/pause      reason
    POST /webhooks/{id}/resume
    POST /webhooks/{id}/replay     job (repeated) or all=1
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection, Engine

from bounceloop.config import Settings
from bounceloop.storage import story
from bounceloop.storage import webhooks as store
from bounceloop.web.common import reading
from bounceloop.web.ui.params import Params
from bounceloop.web.ui.render import UIRoute, htmx, query, render
from bounceloop.web.ui.session import Gate, posted
from bounceloop.webhooks import guard, manage

LOG_ROWS = 100
MAX_TAGS = 50
#: Webhook ids are an INTEGER column: a larger number is no webhook (not a database error).
MAX_ID = 2**31 - 1


def _id(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 12 or int(value) > MAX_ID:
        raise HTTPException(404, f"There is no webhook {value!r}.")
    return int(value)


def _details(conn: Connection, webhook_id: int) -> dict[str, Any]:
    hook = store.get(conn, webhook_id)
    if hook is None:
        raise HTTPException(404, f"There is no webhook {webhook_id}.")
    return {"hook": hook, "queue": store.queue(conn, webhook_id),
            "failures": store.failures(conn, webhook_id, limit=LOG_ROWS),
            "dead": store.dead(conn, webhook_id, LOG_ROWS)}


def routes(db: Engine, settings: Settings, gate: Gate) -> APIRouter:
    ui = APIRouter(route_class=UIRoute, include_in_schema=False,
                   dependencies=[Depends(gate.viewer)])
    post = [Depends(gate.poster)]

    def webhook_page(request: Request, webhook_id: int, status: int = 200,
                     **extra: Any) -> Response:
        p = Params(request.query_params)
        done = p.choice("done", ("paused", "resumed", "replayed"))
        replayed = p.number("n", 0)
        found = reading(db, lambda conn: _details(conn, webhook_id))
        hook = found["hook"]
        return render(request, "webhook.html", {
            "title": f"Webhook {hook.id}", "section": "webhooks", **found, "done": done,
            "replayed": replayed, "test": None, **extra}, status=status)

    @ui.get("/webhooks")
    def webhooks_page(request: Request) -> Response:
        def work(conn: Connection) -> tuple[list[store.Webhook], list[dict[str, Any]]]:
            return store.listing(conn), story.mailing_list(conn)

        hooks, mailings = reading(db, work)
        return render(request, "webhooks.html", {
            "title": "Webhooks", "section": "webhooks", "hooks": hooks,
            "mailings": mailings, "triggers": store.TRIGGERS, "formats": store.FORMATS})

    @ui.post("/webhooks", dependencies=post)
    async def add(request: Request) -> Response:
        p = posted(request).form
        url = p.text("url", longest=2000)
        if not url:
            raise HTTPException(400, "url: the address to call is missing")
        triggers = list(p.many("trigger", longest=20))
        for t in triggers:
            if t not in store.TRIGGERS:
                raise HTTPException(400, f"trigger is one of {', '.join(store.TRIGGERS)}, "
                                         f"not {t!r}")
        if not triggers:
            raise HTTPException(400, "trigger: choose at least one of "
                                     + ", ".join(store.TRIGGERS))
        tags = list(p.many("tags", longest=200))
        if len(tags) > MAX_TAGS:
            raise HTTPException(400, f"tags: at most {MAX_TAGS}")
        spec = manage.Spec(url=url, triggers=triggers,
                           mailing_id=p.optional_number("mailing"), tags=tags,
                           format=p.choice("format", store.FORMATS, "form"),
                           description=p.text("description", longest=2000))
        try:
            made = await manage.add(settings, db, spec)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        if isinstance(made, guard.Refused):
            raise HTTPException(400, f"The URL {url} may not be called: {made.reason}")
        return render(request, "webhook_created.html", {
            "title": f"Webhook {made.id} added", "section": "webhooks", "hook": made},
            status=201)

    @ui.get("/webhooks/{webhook_id}")
    def one(request: Request, webhook_id: str) -> Response:
        return webhook_page(request, _id(webhook_id))

    @ui.post("/webhooks/{webhook_id}/test", dependencies=post)
    async def test(request: Request, webhook_id: str) -> Response:
        hook = reading(db, lambda conn: store.get(conn, _id(webhook_id)))
        if hook is None:
            raise HTTPException(404, f"There is no webhook {webhook_id!r}.")
        result = (await manage.test(settings, hook)).describe()
        if htmx(request):
            return render(request, "_webhook_test.html", {"hook": hook, "test": result})
        return webhook_page(request, hook.id, test=result)

    @ui.post("/webhooks/{webhook_id}/pause", dependencies=post)
    def pause(request: Request, webhook_id: str) -> Response:
        hid = _id(webhook_id)
        sent = posted(request)
        reason = sent.form.text("reason", longest=2000) or f"paused by {sent.actor}"
        with db.begin() as conn:
            if not store.pause(conn, hid, reason):
                raise HTTPException(404, f"There is no webhook {hid}.")
        return RedirectResponse(f"/webhooks/{hid}" + query({"done": "paused"}),
                                status_code=303)

    @ui.post("/webhooks/{webhook_id}/resume", dependencies=post)
    def resume(request: Request, webhook_id: str) -> Response:
        hid = _id(webhook_id)
        with db.begin() as conn:
            hook = store.get(conn, hid)
            if hook is None:
                raise HTTPException(404, f"There is no webhook {hid}.")
            if not store.resume(conn, hid):
                raise HTTPException(409, f"Webhook {hid} is {hook.status}, not paused.")
        return RedirectResponse(f"/webhooks/{hid}" + query({"done": "resumed"}),
                                status_code=303)

    @ui.post("/webhooks/{webhook_id}/replay", dependencies=post)
    def replay(request: Request, webhook_id: str) -> Response:
        hid = _id(webhook_id)
        p = posted(request).form
        every = p.flag("all")
        jobs: set[int] = set()
        for raw in p.many("job", longest=20):
            if not (raw.isascii() and raw.isdigit()):
                raise HTTPException(400, f"job is a delivery's number, not {raw!r}")
            jobs.add(int(raw))
        if not every and not jobs:
            raise HTTPException(400, "Choose the deliveries to replay, or replay all.")
        with db.begin() as conn:
            if store.get(conn, hid) is None:
                raise HTTPException(404, f"There is no webhook {hid}.")
            n = store.replay(conn, hid, None if every else jobs)
        return RedirectResponse(f"/webhooks/{hid}" + query({"done": "replayed", "n": n}),
                                status_code=303)

    return ui
