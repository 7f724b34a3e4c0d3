"""The web UI: server-rendered pages (Jinja2) that read without JavaScript, with htmx to
swap regions in place where it is there.

    /login /logout                 session.py
    / /errors /errors/export.csv   errors.py
    /messages/{id} /bounces/{id}   messages.py
    /statistics                    statistics.py
    /suppressions...               suppressions.py
    /webhooks...                   webhooks.py
    /static/...                    the stylesheet and the vendored htmx

Every page but /login needs a session (storage.users; ``bounceloop user add``); reads run
in deferred, lock-free transactions (web.common.reading), as the REST API's do, over the
same storage calls.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import Engine
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from bounceloop.config import Settings
from bounceloop.web.ui import errors, messages, session, statistics, suppressions, webhooks
from bounceloop.web.ui.render import HEADERS, STATIC

__all__ = ["router"]


class _Static(StaticFiles):
    """The static files, with the UI's security headers."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                headers += [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()
                            if k.lower().encode() not in have]
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_secured)


def router(db: Engine, settings: Settings) -> APIRouter:
    """Every route of the UI, bound to one database and the settings."""
    gate = session.Gate(db)
    ui = APIRouter(include_in_schema=False)
    ui.include_router(session.routes(db, settings, gate))
    ui.include_router(errors.routes(db, gate))
    ui.include_router(messages.routes(db, gate))
    ui.include_router(statistics.routes(db, gate))
    ui.include_router(suppressions.routes(db, gate))
    ui.include_router(webhooks.routes(db, settings, gate))
    ui.mount("/static", _Static(directory=STATIC), name="static")
    return ui
