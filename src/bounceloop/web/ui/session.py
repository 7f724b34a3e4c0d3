"""Logging in and out, the session cookie, and CSRF tokens (storage.users).

    GET  /login     the form (?next= a page of this site to go back to)
    POST /login     name, password: a session and its cookie, or 401
    POST /logout    the session ends

The cookie ``bounceloop_session`` holds the session token (only its hash is stored): HttpOnly
(no script reads it), SameSite=Lax (not sent with another site's POST), Path=/, and Secure
when the request came over https. Every POST of the UI carries the session's CSRF token,
as the form field ``csrf`` or, from htmx, the header ``X-CSRF-Token`` (the layout puts it
in ``hx-headers`` on <body>); a POST without the matching token is refused with 403.

The login form has a token of its own before there is a session: a random value in a
short-lived cookie and the same in the form (double submit), so another site cannot log a
browser in to an account of its choosing. A failed login says only that the name or the
password is wrong: never which (storage.users spends the same scrypt on an unknown name).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bounceloop.storage import users
from bounceloop.storage.engine import utcnow
from bounceloop.web.common import reading
from bounceloop.web.ui.params import Params
from bounceloop.web.ui.render import LoginNeeded, UIRoute, render

COOKIE = "bounceloop_session"
LOGIN_COOKIE = "bounceloop_login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
HOME = "/errors"
LOGIN_TTL = 3600


@dataclass(frozen=True, slots=True)
class Posted:
    """A checked POST: whose session, and the form it sent."""

    session: users.Session
    form: Params

    @property
    def actor(self) -> str:
        """Who did it, in audit logs (whose column holds 64 characters)."""
        return f"ui:{self.session.name}"[:64]


def safe_next(value: str) -> str:
    """A page of this site to go to after logging in: a path, never another host (``//x``,
    ``/\\x``, ``https://x``), else the home page."""
    if (not value.startswith("/") or value.startswith(("//", "/\\")) or "\\" in value
            or not value.isprintable() or value.startswith(("/login", "/logout"))):
        return HOME
    return value


def _https(request: Request) -> bool:
    return request.url.scheme == "https"


class Gate:
    """Who is asking: the dependencies of every UI page (``viewer``, on each router) and
    form (``poster``)."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def current(self, request: Request) -> users.Session | None:
        token = request.cookies.get(COOKIE, "")
        if not token:
            return None
        # Read first, write only when the expiry is due to slide (once a minute at most):
        # a page view must not queue behind the delivery workers for SQLite's write lock.
        now = utcnow()
        found = reading(self.db, lambda conn: users.lookup(conn, token, now, slide=False))
        if found is not None and found.slide_due:
            with self.db.begin() as conn:
                found = users.lookup(conn, token, now)
        return found

    def viewer(self, request: Request) -> users.Session:
        """The session (also at ``request.state.session``), or off to the login form."""
        session = self.current(request)
        if session is None:
            raise LoginNeeded
        request.state.session = session
        return session

    async def poster(self, request: Request) -> Posted:
        session = getattr(request.state, "session", None)  # the router's viewer ran first
        if session is None:
            session = await run_in_threadpool(self.current, request)
        if session is None:
            raise LoginNeeded
        request.state.session = session
        form: FormData = await request.form()
        sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD) or ""
        if not isinstance(sent, str) or not sent or not session.csrf_ok(sent):
            raise HTTPException(403, "This form is out of date or was not sent from this "
                                     "site (its security token does not match). Reload "
                                     "the page and try again.")
        posted = Posted(session, Params(form))
        request.state.posted = posted
        return posted


def posted(request: Request) -> Posted:
    """The checked POST of a route with ``dependencies=[Depends(gate.poster)]`` (a
    dependency named in the route's signature would have to be a module-level name)."""
    found = getattr(request.state, "posted", None)
    assert isinstance(found, Posted), "the route does not depend on Gate.poster"
    return found


def _login_page(request: Request, next_page: str, *, status: int = 200, message: str = "",
                name: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {
        "title": "Log in", "next": next_page, "login_token": token, "message": message,
        "name": name}, status=status)
    response.set_cookie(LOGIN_COOKIE, token, max_age=LOGIN_TTL, path="/login",
                        httponly=True, samesite="lax", secure=_https(request))
    return response


def routes(db: Engine, gate: Gate) -> APIRouter:
    ui = APIRouter(route_class=UIRoute, include_in_schema=False)

    @ui.get("/login")
    def login_form(request: Request) -> Response:
        next_page = safe_next(Params(request.query_params).text("next", longest=2000))
        if gate.current(request) is not None:
            return RedirectResponse(next_page, status_code=303)
        return _login_page(request, next_page)

    @ui.post("/login")
    async def login(request: Request) -> Response:
        form = Params(await request.form())
        next_page = safe_next(form.text("next", longest=2000))
        name = form.text("name", longest=users.MAX_NAME + 10)
        password = form.all("password")[-1] if form.all("password") else ""
        expected = request.cookies.get(LOGIN_COOKIE, "")
        sent = form.text(CSRF_FIELD, longest=200)
        if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
            return _login_page(request, next_page, status=403, name=name, message=(
                "The login form had expired or was not sent from this site: "
                "please log in again."))

        def check() -> tuple[str, str] | None:
            now = utcnow()
            with db.begin() as conn:
                user = users.authenticate(conn, name, password, now)
                return None if user is None else users.start(conn, user.id, now)

        started = await run_in_threadpool(check) if name and password else None
        if started is None:
            return _login_page(request, next_page, status=401, name=name,
                               message="Wrong name or password.")
        token, _ = started
        response = RedirectResponse(next_page, status_code=303)
        response.set_cookie(COOKIE, token, path="/", httponly=True, samesite="lax",
                            secure=_https(request))
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @ui.post("/logout", dependencies=[Depends(gate.poster)])
    def logout(request: Request) -> Response:
        with db.begin() as conn:
            users.end(conn, request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                               secure=_https(request))
        return response

    return ui
