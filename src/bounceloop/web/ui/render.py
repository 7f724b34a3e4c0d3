"""Pages: the Jinja2 templates, the headers every UI answer carries, and the HTML error
pages that replace FastAPI's JSON ones under the UI's routes.

Every page is rendered twice over, so to speak: as a whole document (a browser without
JavaScript, a link, a reload) and, for an htmx request that swaps one region, as that
region alone (``fragment``). The answer varies on ``HX-Request`` for caches.

Errors under the UI are pages, never JSON and never a 500 for a bad value: an
``HTTPException`` (400 bad filter, 403 bad CSRF token, 404 unknown id) becomes the error
page with its message; a request without a session goes to the login form (for htmx, an
``HX-Redirect`` to it, since htmx would otherwise swap the login page into a region).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from bounceloop.core.errortypes import ERRORTYPES

WEB = Path(__file__).resolve().parent.parent
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"

#: No inline script or style anywhere (htmx is told not to inject its indicator styles),
#: nothing from another origin, no framing, forms post only here.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
#: What htmx is configured with (a <meta> in the layout): no injected <style> and no
#: copying of style attributes when it settles a swap (the CSP forbids both; the pages
#: have none), no eval, no copy of pages in localStorage (they hold mail data), and error
#: answers swapped like any other so their message is seen where the user looked.
#: Back and Forward fetch the page from the server; static/history.js keeps only the
#: latest of those fetches.
HTMX_CONFIG = {
    "includeIndicatorStyles": False,
    "attributesToSettle": ["class", "width", "height"],
    "allowEval": False,
    "historyCacheSize": 0,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "[45]..", "swap": True, "error": True},
    ],
}
STEPS = {0: "composition", 1: "DNS", 2: "connect", 3: "greeting", 4: "reply", 5: "bounce"}
NAV = (("errors", "/errors", "Errors"), ("statistics", "/statistics", "Statistics"),
       ("suppressions", "/suppressions", "Suppressions"), ("webhooks", "/webhooks", "Webhooks"))


class LoginNeeded(Exception):
    """No valid session: the request goes to the login form."""


def when(value: Any) -> str:
    """A time as the pages show it: UTC, to the second."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def iso(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return "" if value is None else str(value)


def count(value: Any) -> str:
    return f"{int(value or 0):,}"


def plain(value: Any) -> str:
    """A value of an event's data as one line of text."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return "" if value is None else str(value)


def step_label(step: Any) -> str:
    try:
        n = int(step)
    except (TypeError, ValueError):
        return "" if step is None else str(step)
    return f"{n} · {STEPS[n]}" if n in STEPS else str(n)


def query(items: Mapping[str, Any] | list[tuple[str, Any]], **changes: Any) -> str:
    """``?a=1&b=2`` from pairs (empty values left out), with ``changes`` applied."""
    pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
    pairs = [(k, v) for k, v in pairs if k not in changes]
    pairs += list(changes.items())
    flat: list[tuple[str, str]] = []
    for k, v in pairs:
        for one in v if isinstance(v, list | tuple) else [v]:
            if one is not None and one != "":
                flat.append((k, str(one)))
    return "?" + urlencode(flat) if flat else ""


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=when, iso=iso, count=count, plain=plain, step=step_label)
    env.globals.update(query=query, errortypes=ERRORTYPES, steps=STEPS, nav=NAV,
                       htmx_config=json.dumps(HTMX_CONFIG, separators=(",", ":")))
    return env


ENV = _environment()


def htmx(request: Request) -> bool:
    """An htmx request for a region (a history restore wants the whole page)."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def render(request: Request, template: str, context: Mapping[str, Any] | None = None,
           status: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """``template`` with the page's context: the user and CSRF token of the session (when
    there is one), the section of the nav bar, and ``context``."""
    session = getattr(request.state, "session", None)
    values: dict[str, Any] = {"user": session.name if session else "",
                              "csrf": session.csrf if session else "", "section": "",
                              "title": "", "path": request.url.path}
    values.update(context or {})
    html = ENV.get_template(template).render(values)
    return HTMLResponse(html, status_code=status, headers=dict(headers or {}))


def chart(svg: str) -> Markup:
    """An SVG chart of web.charts (its text already escaped there) for a template."""
    # charts.py escapes every label, title and description it writes.
    return Markup(svg)


def problem(request: Request, status: int, message: str,
            headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """The error page (or, for htmx, the error box alone) with a plain message."""
    titles = {400: "Bad request", 401: "Not logged in", 403: "Forbidden", 404: "Not found",
              405: "Method not allowed", 409: "Conflict", 413: "Too large"}
    context = {"status": status, "title": titles.get(status, "Error"), "message": message}
    template = "_problem.html" if htmx(request) else "problem.html"
    return render(request, template, context, status=status, headers=headers)


def login_target(request: Request) -> str:
    """Where to go back to after logging in: this page, or the page an htmx request or a
    form was sent from (a POST's own URL cannot be opened)."""
    if request.method == "GET" and not request.headers.get("HX-Request"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return target
    source = request.headers.get("HX-Current-URL") or request.headers.get("Referer") or ""
    parts = urlsplit(source)
    if parts.netloc and parts.netloc != request.url.netloc:
        return ""
    return parts.path + (f"?{parts.query}" if parts.query else "") if parts.path else ""


def to_login(request: Request) -> Response:
    target = login_target(request)
    url = "/login" + query({"next": target if target not in ("", "/") else ""})
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors():
        where = ".".join(str(x) for x in e.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {e.get('msg', 'not valid')}")
    return "; ".join(parts) or "the request is not valid"


def secure(response: Response) -> Response:
    """The headers every UI answer carries (see the module doc)."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Vary", "HX-Request")
    return response


class UIRoute(APIRoute):
    """A route of the UI: its errors are pages, and its answers carry the UI's headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                response = await handle(request)
            except LoginNeeded:
                response = to_login(request)
            except HTTPException as exc:
                detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
                response = problem(request, exc.status_code, detail,
                                   {k: v for k, v in (exc.headers or {}).items()
                                    if k.lower() == "allow"})
            except RequestValidationError as exc:
                response = problem(request, 400, _describe(exc))
            return secure(response)

        return page
