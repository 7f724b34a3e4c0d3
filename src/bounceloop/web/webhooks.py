"""REST API: ``/api/v1/webhooks`` - the same operations as ``bounceloop webhook``.

    GET    /api/v1/webhooks                     list
    POST   /api/v1/webhooks                     add (201; the secret is in this answer only)
    GET    /api/v1/webhooks/{id}                one, with its queue by status
    PATCH  /api/v1/webhooks/{id}                change
    DELETE /api/v1/webhooks/{id}                remove (204)
    POST   /api/v1/webhooks/{id}/pause|resume   {"reason": "..."} for pause
    POST   /api/v1/webhooks/{id}/test           a sample event now: what came back
    POST   /api/v1/webhooks/{id}/verify         the ownership check
    POST   /api/v1/webhooks/{id}/rotate-secret  {"overlap": seconds}: the new secret
    GET    /api/v1/webhooks/{id}/failures       the failed-call log (?since=&limit=)
    GET    /api/v1/webhook-failures             the same, every webhook
    GET    /api/v1/webhooks/{id}/dead           dead-lettered deliveries
    POST   /api/v1/webhooks/{id}/replay         {"jobs": [..]} or {"all": true}
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import Field, model_validator
from sqlalchemy import Connection, Engine

from bounceloop.config import Settings
from bounceloop.storage import webhooks as store
from bounceloop.web.common import MAX_BIGINT, MAX_ID, Body, no_nul, problems, utc
from bounceloop.webhooks import guard, manage

Trigger = Literal["failure", "bounce", "delivery", "complaint"]
WebhookId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: A webhook's tag filter, bounded as the UI's form bounds it (web.ui.webhooks) and as a
#: message's tags are (web.messages: 50 of 200 characters, so a longer one matches nothing);
#: unbounded, one request stored megabytes of them.
Tags = Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=50)]


class WebhookIn(Body):
    url: str = Field(max_length=2000)
    triggers: list[Trigger] = Field(min_length=1)
    mailing: int | None = Field(default=None, ge=1, le=MAX_ID)
    tags: Tags = Field(default_factory=list)
    format: Literal["form", "json"] = "form"
    extras: bool = True
    concurrency: int | None = Field(default=None, ge=1, le=100)
    timeout: int | None = Field(default=None, ge=1, le=300)
    verify: bool = False
    description: str = Field(default="", max_length=2000)


class WebhookChange(Body):
    url: str | None = Field(default=None, max_length=2000)
    triggers: list[Trigger] | None = Field(default=None, min_length=1)
    mailing: int | None = Field(default=None, ge=1, le=MAX_ID)
    tags: Tags | None = None
    format: Literal["form", "json"] | None = None
    extras: bool | None = None
    concurrency: int | None = Field(default=None, ge=1, le=100)
    timeout: int | None = Field(default=None, ge=1, le=300)
    description: str | None = Field(default=None, max_length=2000)


class PauseIn(Body):
    reason: str = Field(default="paused by the user", max_length=2000)


class RotateIn(Body):
    overlap: float = Field(default=86400.0, ge=0, le=366 * 86400,
                           description="Seconds the old secret still signs (at most a year)")


class ReplayIn(Body):
    jobs: list[Annotated[int, Field(ge=1, le=MAX_BIGINT)]] | None = None
    all: bool = False

    @model_validator(mode="after")
    def _one(self) -> ReplayIn:
        if bool(self.jobs) == self.all:
            raise ValueError("say which: jobs (a list of ids) or all: true")
        return self


def router(db: Engine, settings: Settings, need: Callable[[str], Callable[..., None]]
           ) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["webhooks"], responses=problems(401))
    read = [Depends(need("read")), Depends(no_nul)]
    write = [Depends(need("write")), Depends(no_nul)]

    def run(work: Callable[[Connection], Any]) -> Any:
        with db.begin() as conn:
            return work(conn)

    def one(webhook_id: int) -> store.Webhook:
        hook = run(lambda conn: store.get(conn, webhook_id))
        if hook is None:
            raise HTTPException(404, f"no webhook {webhook_id}")
        assert isinstance(hook, store.Webhook)
        return hook

    @api.get("/webhooks", dependencies=read)
    def list_webhooks() -> list[dict[str, Any]]:
        return [h.public() for h in run(store.listing)]

    @api.post("/webhooks", dependencies=write, status_code=201, responses=problems(400, 403))
    async def add_webhook(body: WebhookIn) -> dict[str, Any]:
        spec = manage.Spec(url=body.url, triggers=body.triggers, mailing_id=body.mailing,
                           tags=body.tags, format=body.format, extras=body.extras,
                           concurrency=body.concurrency, timeout=body.timeout,
                           verify=body.verify, description=body.description)
        try:
            made = await manage.add(settings, db, spec)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        if isinstance(made, guard.Refused):
            raise HTTPException(400, f"refused {body.url}: {made.reason}")
        out = {**made.public(), "secret": made.secret}
        if body.verify:
            called = await manage.verify(settings, db, made)
            out["verification"] = called.describe()
            out["status"] = one(made.id).status
        return out

    @api.get("/webhooks/{webhook_id}", dependencies=read, responses=problems(404))
    def get_webhook(webhook_id: WebhookId) -> dict[str, Any]:
        hook = one(webhook_id)
        return {**hook.public(), "queue": run(lambda conn: store.queue(conn, webhook_id))}

    @api.patch("/webhooks/{webhook_id}", dependencies=write,
               responses=problems(400, 403, 404))
    async def change_webhook(webhook_id: WebhookId, body: WebhookChange) -> dict[str, Any]:
        one(webhook_id)
        values = body.model_dump(exclude_unset=True)
        if "mailing" in values:
            values["mailing_id"] = values.pop("mailing")
        if values.get("url") is not None:
            vetted = await manage.vet(settings, values["url"])
            if isinstance(vetted, guard.Refused):
                raise HTTPException(400, f"refused {values['url']}: {vetted.reason}")
        for name in ("url", "triggers", "tags", "format", "extras", "concurrency",
                     "timeout", "description"):
            if name in values and values[name] is None:
                raise HTTPException(400, f"{name} cannot be null")
        if not values:
            raise HTTPException(400, "nothing to change")
        try:
            hook = run(lambda conn: store.change(conn, webhook_id, values))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return dict(hook.public())

    @api.delete("/webhooks/{webhook_id}", dependencies=write, status_code=204,
                responses=problems(403, 404))
    def delete_webhook(webhook_id: WebhookId) -> Response:
        if not run(lambda conn: store.remove(conn, webhook_id)):
            raise HTTPException(404, f"no webhook {webhook_id}")
        return Response(status_code=204)

    @api.post("/webhooks/{webhook_id}/pause", dependencies=write,
              responses=problems(400, 403, 404))
    def pause_webhook(webhook_id: WebhookId, body: PauseIn | None = None) -> dict[str, Any]:
        one(webhook_id)
        run(lambda conn: store.pause(conn, webhook_id, (body or PauseIn()).reason))
        return dict(one(webhook_id).public())

    @api.post("/webhooks/{webhook_id}/resume", dependencies=write,
              responses=problems(403, 404, 409))
    def resume_webhook(webhook_id: WebhookId) -> dict[str, Any]:
        hook = one(webhook_id)
        if not run(lambda conn: store.resume(conn, webhook_id)):
            raise HTTPException(409, f"webhook {webhook_id} is {hook.status}, not paused")
        return dict(one(webhook_id).public())

    @api.post("/webhooks/{webhook_id}/test", dependencies=write,
              responses=problems(403, 404))
    async def test_webhook(webhook_id: WebhookId) -> dict[str, Any]:
        return (await manage.test(settings, one(webhook_id))).describe()

    @api.post("/webhooks/{webhook_id}/verify", dependencies=write,
              responses=problems(403, 404, 409))
    async def verify_webhook(webhook_id: WebhookId) -> dict[str, Any]:
        hook = one(webhook_id)
        if hook.status != store.UNVERIFIED:
            raise HTTPException(409, f"webhook {webhook_id} is {hook.status}: nothing to "
                                "verify")
        return (await manage.verify(settings, db, hook)).describe()

    @api.post("/webhooks/{webhook_id}/rotate-secret", dependencies=write,
              responses=problems(400, 403, 404))
    def rotate_secret(webhook_id: WebhookId, body: RotateIn | None = None) -> dict[str, Any]:
        overlap = (body or RotateIn()).overlap
        secret = run(lambda conn: store.rotate(conn, webhook_id, overlap))
        if secret is None:
            raise HTTPException(404, f"no webhook {webhook_id}")
        return {"id": webhook_id, "secret": secret, "overlap": overlap}

    @api.get("/webhooks/{webhook_id}/failures", dependencies=read,
             responses=problems(400, 404))
    def webhook_failures(webhook_id: WebhookId, since: datetime | None = None,
                         limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        one(webhook_id)
        return list(run(lambda conn: store.failures(conn, webhook_id, utc(since), limit)))

    @api.get("/webhook-failures", dependencies=read, responses=problems(400))
    def all_failures(since: datetime | None = None,
                     limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        return list(run(lambda conn: store.failures(conn, None, utc(since), limit)))

    @api.get("/webhooks/{webhook_id}/dead", dependencies=read, responses=problems(404))
    def dead_letters(webhook_id: WebhookId, limit: int = Query(100, ge=1, le=1000)
                     ) -> list[dict[str, Any]]:
        one(webhook_id)
        return list(run(lambda conn: store.dead(conn, webhook_id, limit)))

    @api.post("/webhooks/{webhook_id}/replay", dependencies=write,
              responses=problems(400, 403, 404))
    def replay(webhook_id: WebhookId, body: ReplayIn) -> dict[str, int]:
        one(webhook_id)
        ids = None if body.all else set(body.jobs or [])
        return {"replayed": run(lambda conn: store.replay(conn, webhook_id, ids))}

    return api
