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

Guessing is limited per name and per client (storage.users). The client is
``request.client.host``: the socket peer, which uvicorn replaces with the address in
``X-Forwarded-For`` only when the peer is a proxy it trusts (its ``FORWARDED_ALLOW_IPS``,
default 127.0.0.1 and ::1; docs/deployment.md), so a client cannot name itself by a header. A
client refused for its failures gets 429 with Retry-After, before any scrypt is spent.

Each login costs an scrypt of 16 MiB (storage.users). :class:`Hashing` runs at most
``BOUNCELOOP_LOGIN_CONCURRENCY`` of them at once, in threads of their own; a login that
finds no free thread within ``BOUNCELOOP_LOGIN_WAIT`` seconds gets 503 with Retry-After.
The threads are few and always the same because the C library (glibc) keeps what a thread
freed in that thread's arena for its next use: scrypts run one at a time, but each in
another thread, still add up (14 threads taking turns grew a process by 210 MiB). With the
default of 2, 40 logins at once grow the web process by 35-67 MiB; unbounded, by 470-530
MiB (tests/web/test_login_load.py).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import math
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bounceloop.config import Settings
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

T = TypeVar("T")


class Busy(Exception):
    """No thread for a password check came free in time."""


class Hashing:
    """Password checks, at most ``concurrency`` at once, each waiting at most ``wait``
    seconds for its turn (see the module doc)."""

    def __init__(self, concurrency: int, wait: float) -> None:
        self.wait = wait
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="bounceloop-login")

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in one of the threads; Busy if its turn did not come in time (then it
        does not run at all)."""
        deadline = time.monotonic() + self.wait

        def turn() -> T:
            if time.monotonic() > deadline:
                raise Busy
            return work()

        return await asyncio.wrap_future(self._pool.submit(turn))

    @property
    def retry_after(self) -> str:
        return str(max(1, math.ceil(self.wait)))


def client_of(request: Request) -> str:
    """The client whose failed logins are counted (see the module doc): its address, or for
    IPv6 its /64, the least a host is given (RFC 6177), so one host cannot go on from
    another of its addresses. "" when uvicorn does not know the peer (a Unix socket)."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


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
                name: str = "", retry_after: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {
        "title": "Log in", "next": next_page, "login_token": token, "message": message,
        "name": name}, status=status,
        headers={"Retry-After": retry_after} if retry_after else None)
    response.set_cookie(LOGIN_COOKIE, token, max_age=LOGIN_TTL, path="/login",
                        httponly=True, samesite="lax", secure=_https(request))
    return response


def routes(db: Engine, settings: Settings, gate: Gate) -> APIRouter:
    ui = APIRouter(route_class=UIRoute, include_in_schema=False)
    hashing = Hashing(settings.login_concurrency, settings.login_wait)

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

        client = client_of(request)
        # A client refused for its failures is told so before it queues for an scrypt.
        wait = await run_in_threadpool(
            reading, db, lambda conn: users.client_wait(conn, client, utcnow()))
        if wait is not None:
            minutes = math.ceil(wait.total_seconds() / 60)
            return _login_page(request, next_page, status=429, name=name, message=(
                f"Too many failed logins from your address: try again in {minutes} "
                f"minute{'s' if minutes > 1 else ''}."),
                retry_after=str(math.ceil(wait.total_seconds())))

        def check() -> tuple[str, str] | None:
            now = utcnow()
            with db.begin() as conn:
                user = users.authenticate(conn, name, password, now, client=client)
                return None if user is None else users.start(conn, user.id, now)

        try:
            started = await hashing.run(check) if name and password else None
        except Busy:
            return _login_page(request, next_page, status=503, name=name, message=(
                "Too many logins at once: please try again in a moment."),
                retry_after=hashing.retry_after)
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
