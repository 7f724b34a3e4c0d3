"""The web UI over HTTP (FastAPI's TestClient), on both backends: login, sessions and CSRF,
every page on data written by the real writers, the Errors view's filters, sorting, paging
and export, error pages, escaping and the security headers.

``seed`` is shared with the browser tests (tests/web/browser/test_ui.py).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from bounceloop.config import Settings
from bounceloop.core import signed
from bounceloop.delivery.outcome import verdict
from bounceloop.delivery.result import StepResult
from bounceloop.inbound.process import Context, run_batch
from bounceloop.storage import errorlist, outbox, received, users
from bounceloop.storage import messages as store
from bounceloop.storage import webhooks as webhook_store
from bounceloop.storage.engine import utcnow
from bounceloop.storage.tables import errors, messages
from bounceloop.testing import Receiver, bounces
from tests.webhooks import support

DOMAIN = "bounces.sender.test"
FARM = Path(__file__).resolve().parents[1] / "data" / "dsnfarm" / "eml"
SECRET = "ui-secret"
WORKER = "ui-test"
MIME = (b"Message-ID: <spring@sender.test>\r\nFrom: news@sender.test\r\n"
        b"Subject: Spring\r\n\r\nHello.\r\n")
HOSTILE = "<script>alert(1)</script>"
HOSTILE_RCPT = f'"{HOSTILE}"@evil.test'
PASSWORD = "correct horse battery"

OK = StepResult.reply("data", 250, "2.0.0 queued as 1234", mx="mx.dest.test", ip="127.0.0.1")
UNKNOWN = StepResult.reply("rcptto", 550, "5.1.1 <ann@dest.test>: Recipient address "
                           "rejected: User unknown", mx="mx.dest.test", ip="127.0.0.1")
FULL_4XX = StepResult.reply("rcptto", 452, "4.2.2 Mailbox full, try later",
                            mx="mx.other.test", ip="127.0.0.2")
FULL_5XX = StepResult.reply("rcptto", 552, "5.2.2 Mailbox full, quota exceeded",
                            mx="mx.other.test", ip="127.0.0.2")
NXDOMAIN = StepResult("dns", "error", "", "5.1.2", "nowhere.test: domain does not exist")
BLOCKED = StepResult.reply("rcptto", 554, "5.7.1 Service unavailable; client host blocked")
EVIL = StepResult.reply("rcptto", 550, f"5.7.1 {HOSTILE} rejected")


@dataclass
class Seeded:
    """What ``seed`` wrote: message ids by recipient, mailing ids by name, the returned
    messages, and how many current error rows."""

    now: datetime
    messages: dict[str, str] = field(default_factory=dict)
    mailings: dict[str, int] = field(default_factory=dict)
    bounce: int = 0
    """The DSN about cy@dest.test (tied to its message)."""
    untied: int = 0
    """A reply no parser knows, tied to no message."""
    errors: int = 0


class _Writer:
    def __init__(self, db: Engine, now: datetime) -> None:
        self.db = db
        self.now = now
        self.policy = Settings(bounce_domain=DOMAIN, verp_secret=SECRET).suppression_policy()
        self.envelopes: dict[str, str] = {}

    def mailing(self, name: str, tags: list[str]) -> int:
        with self.db.begin() as conn:
            return store.create_mailing(conn, name=name, sender="news@sender.test", mime=MIME,
                                        tags=tags, retry_schedule=None,
                                        max_delivery_time=None, now=self.now)

    def queue(self, mailing: int, rcpt: str, tags: tuple[str, ...] = (),
              fields: dict[str, str] | None = None) -> str:
        with self.db.begin() as conn:
            [mid] = store.queue(conn, mailing, "news@sender.test",
                                [store.NewMessage(rcpt, tags, fields or {})],
                                bounce_domain=DOMAIN, verp_secret=SECRET,
                                max_delivery_time=86400, now=self.now)
        return mid

    def attempt(self, mid: str, result: StepResult, when: datetime) -> None:
        """One delivery attempt of ``mid`` at ``when``, recorded the engine's way."""
        [job] = outbox.claim(self.db, [store.DELIVER], WORKER, 10, 60, when, refs=[mid])
        with self.db.connect() as conn:
            [p] = store.pending(conn, [job])
        self.envelopes[p.recipient] = p.envelope
        v = verdict(result, p.recipient, p.attempts + 1, when, p.expires_at, [600])
        store.record(self.db, WORKER, [store.Outcome(p, result, v, when, 42)], when,
                     self.policy)

    def receive(self, raw: bytes, rcpt: str, when: datetime) -> int:
        [rid] = received.store_many(self.db, [received.Incoming(
            raw=raw, mail_from="", rcpts=(rcpt,), received_at=when)])
        ctx = replace(Context.of(Settings(bounce_domain=DOMAIN, verp_secret=SECRET)),
                      policy=self.policy)
        run_batch(self.db, ctx, [rid], clock=lambda: when)
        return rid


def seed(db: Engine, now: datetime | None = None) -> Seeded:
    """Two mailings, their attempts and a returned message, written by the real writers
    (storage.messages, the inbound pipeline; storage.stats keeps step), all in the last
    few hours so the default statistics see them:

    spring  ann@dest.test       550 5.1.1 at RCPT (hard, error, userunknown)
            bob@other.test      452 4.2.2, then 552 5.2.2 an hour later (two attempts)
            cy@dest.test        delivered, then a DSN (step 5, mailerror)
            di@nowhere.test     NXDOMAIN (step 1, nohost)
            "<script>..."       550 5.7.1 with <script> in its text too
    autumn  eve@dest.test       554 5.7.1 blocked
    and a reply no parser knows, to an address of no message (an untied returned message).
    """
    if now is None:
        now = utcnow() - timedelta(hours=3)
        if (now + timedelta(hours=3)).date() != now.date():
            # Run between 00:00 and 03:00 UTC, the seeded hours would straddle midnight and
            # the charts' daily bars split them (no one day with all five failures): seed
            # the day before, at noon, instead.
            now = now.replace(hour=12, minute=0, second=0, microsecond=0)
    w = _Writer(db, now)
    out = Seeded(now)
    spring = out.mailings["spring"] = w.mailing("spring", ["spring"])
    autumn = out.mailings["autumn"] = w.mailing("autumn", [])
    plan = [(spring, "ann@dest.test", UNKNOWN), (spring, "bob@other.test", FULL_4XX),
            (spring, "cy@dest.test", OK), (spring, "di@nowhere.test", NXDOMAIN),
            (spring, HOSTILE_RCPT, EVIL), (autumn, "eve@dest.test", BLOCKED)]
    for n, (mailing, rcpt, result) in enumerate(plan):
        mid = out.messages[rcpt] = w.queue(mailing, rcpt, ("spring", f"n{n}"),
                                           {"first_name": rcpt.split("@")[0][:10]})
        w.attempt(mid, result, now + timedelta(minutes=n))
    w.attempt(out.messages["bob@other.test"], FULL_5XX, now + timedelta(hours=1))
    copy = (f"X-Bounceloop-Id: {out.messages['cy@dest.test']}\r\nTo: cy@dest.test\r\n"
            .encode() + MIME)
    out.bounce = w.receive(bounces.dsn("cy@dest.test", copy), w.envelopes["cy@dest.test"],
                           now + timedelta(hours=2))
    out.untied = w.receive(bounces.unknown(b"Subject: something else\r\n\r\nHi.\r\n"),
                           "postmaster@sender.test", now + timedelta(hours=2, minutes=5))
    with db.connect() as conn:
        out.errors = len(conn.execute(select(errors.c.id).where(
            errors.c.current.is_(True))).all())
    return out


def add_user(db: Engine, name: str = "ann", password: str = PASSWORD) -> None:
    with db.begin() as conn:
        users.add(conn, name, password)


# ------------------------------------------------------------------------------------------
# Helpers: logging in, reading pages
# ------------------------------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def login(client: TestClient, name: str = "ann", password: str = PASSWORD,
          next_page: str = "") -> Any:
    form = client.get("/login", params={"next": next_page} if next_page else None)
    assert form.status_code == 200
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf": csrf_of(form.text), "next": next_page},
                       follow_redirects=False)


class _Table(HTMLParser):
    """The body rows (cell texts) of the first <table> with ``class``, and its headings."""

    def __init__(self, cls: str) -> None:
        super().__init__()
        self.cls = cls
        self.depth = 0
        self.inside = False
        self.section = ""
        self.rows: list[list[str]] = []
        self.heads: list[dict[str, str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table" and not self.inside and self.cls in a.get("class", "").split():
            self.inside = True
        if not self.inside:
            return
        if tag in ("thead", "tbody"):
            self.section = tag
        elif tag == "tr" and self.section == "tbody":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []
            if self.section == "thead":
                self.heads.append(a)

    def handle_endtag(self, tag: str) -> None:
        if not self.inside:
            return
        if tag in ("td", "th") and self.cell is not None:
            text = " ".join("".join(self.cell).split())
            if self.section == "tbody":
                self.rows[-1].append(text)
            else:
                self.heads[-1]["text"] = text
            self.cell = None
        elif tag == "table":
            self.inside = False
            self.cls = "\0done"

    def handle_data(self, data: str) -> None:
        if self.inside and self.cell is not None:
            self.cell.append(data)


def table(html: str, cls: str = "errors") -> _Table:
    parser = _Table(cls)
    parser.feed(html)
    return parser


def recipients(html: str) -> list[str]:
    return [row[1] for row in table(html).rows]


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    add_user(engine)
    return seed(engine)


@pytest.fixture
def client(app: TestClient, seeded: Seeded) -> TestClient:
    assert login(app).status_code == 303
    return app


# ------------------------------------------------------------------------------------------
# Login, sessions, CSRF
# ------------------------------------------------------------------------------------------

PAGES = ["/", "/errors", "/errors?severity=hard", "/errors/export.csv", "/messages/abc123",
         "/bounces/1", "/bounces/1/raw", "/statistics", "/suppressions",
         "/suppressions/history", "/suppressions/entry?value=a@b.test", "/webhooks",
         "/webhooks/1"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_a_session(app: TestClient, path: str) -> None:
    r = app.get(path, follow_redirects=False)
    assert r.status_code == 303
    location = urlsplit(r.headers["location"])
    assert location.path == "/login"
    expected = "" if path == "/" else path
    assert parse_qs(location.query).get("next", [""])[0] == expected
    assert r.headers["content-security-policy"].startswith("default-src 'self'")


def test_htmx_without_a_session_is_sent_to_the_login_page(app: TestClient) -> None:
    r = app.get("/errors?severity=hard", headers={
        "HX-Request": "true", "HX-Current-URL": "http://testserver/errors?severity=soft"})
    assert r.status_code == 401
    assert r.headers["hx-redirect"] == "/login?next=%2Ferrors%3Fseverity%3Dsoft"


def test_posts_without_a_session_go_to_the_login_page(app: TestClient) -> None:
    r = app.post("/suppressions", data={"value": "x@y.test"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_login_sets_the_session_cookie_and_goes_back(app: TestClient, engine: Engine) -> None:
    add_user(engine)
    page = app.get("/login?next=/statistics%3Fmailing%3D3")
    assert page.status_code == 200
    assert 'name="next" value="/statistics?mailing=3"' in page.text
    assert "<label for=\"login-name\">Name</label>" in page.text
    r = app.post("/login", data={"name": "ann", "password": PASSWORD,
                                 "csrf": csrf_of(page.text),
                                 "next": "/statistics?mailing=3"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/statistics?mailing=3"
    [cookie] = [c for c in r.headers.get_list("set-cookie")
                if c.startswith("bounceloop_session=")]
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attrs and "path=/" in attrs and "samesite=lax" in attrs
    assert "secure" not in attrs  # plain http here
    assert re.match(r"bounceloop_session=bls_[\w-]{40,};", cookie)
    home = app.get("/errors")
    assert home.status_code == 200
    assert "Log out" in home.text and ">ann<" in home.text
    # Logged in, the login page sends one on.
    again = app.get("/login?next=/webhooks", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/webhooks"


def test_the_cookie_is_secure_over_https(app: TestClient, engine: Engine) -> None:
    add_user(engine)
    with TestClient(app.app, base_url="https://testserver") as tls:
        r = login(tls)
        assert r.status_code == 303
        cookie = next(c for c in r.headers.get_list("set-cookie")
                      if c.startswith("bounceloop_session="))
        assert "secure" in [a.strip().lower() for a in cookie.split(";")]
        assert tls.get("/errors").status_code == 200


@pytest.mark.parametrize("name,password", [("ann", "wrong password"),
                                           ("nobody", PASSWORD), ("", "")])
def test_a_failed_login_is_401_and_does_not_say_why(app: TestClient, engine: Engine,
                                                     name: str, password: str) -> None:
    add_user(engine)
    r = login(app, name, password)
    assert r.status_code == 401
    assert "Wrong name or password." in r.text
    for hint in ("no such user", "unknown user", "does not exist", "locked"):
        assert hint not in r.text.lower()
    assert "bounceloop_session" not in r.headers.get("set-cookie", "")
    assert app.get("/errors", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("target", ["https://evil.test/x", "//evil.test/x", "/\\evil.test",
                                    "javascript:alert(1)", "/logout"])
def test_login_goes_only_to_pages_of_this_site(app: TestClient, engine: Engine,
                                                target: str) -> None:
    add_user(engine)
    r = login(app, next_page=target)
    assert r.status_code == 303 and r.headers["location"] == "/errors"


def test_a_login_post_without_the_form_token_is_403(app: TestClient, engine: Engine) -> None:
    add_user(engine)
    r = app.post("/login", data={"name": "ann", "password": PASSWORD, "csrf": "forged"})
    assert r.status_code == 403
    assert app.get("/errors", follow_redirects=False).status_code == 303


def test_logout_ends_the_session(client: TestClient) -> None:
    page = client.get("/errors")
    token = csrf_of(page.text)
    cookie = client.cookies["bounceloop_session"]
    assert client.post("/logout", data={"csrf": "wrong"}).status_code == 403
    r = client.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/errors", follow_redirects=False).status_code == 303
    # The old cookie is dead on the server too, not just forgotten by this browser.
    client.cookies.set("bounceloop_session", cookie)
    assert client.get("/errors", follow_redirects=False).status_code == 303


def test_a_post_without_the_csrf_token_is_403(client: TestClient) -> None:
    token = csrf_of(client.get("/suppressions").text)
    form = {"value": "x@y.test", "note": "n"}
    for bad in ({}, {"csrf": "forged"}, {"csrf": token[:-1]}):
        r = client.post("/suppressions", data={**form, **bad})
        assert r.status_code == 403, bad
        assert "security token" in r.text
        assert r.headers["content-type"].startswith("text/html")
    assert client.post("/webhooks/1/pause", data={}).status_code == 403
    assert client.post("/suppressions/remove", data={"type": "address", "value": "a@b.c",
                                                     "note": "x"}).status_code == 403
    # The form field and the header htmx sends both carry it.
    r = client.post("/suppressions", data={**form, "csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    r = client.post("/suppressions", data={"value": "z@y.test"},
                    headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert r.status_code == 303


def test_the_htmx_csrf_header_is_on_the_body(client: TestClient) -> None:
    html = client.get("/errors").text
    token = csrf_of(html)
    assert f"<body hx-headers='{{\"X-CSRF-Token\": \"{token}\"}}'>" in html


# ------------------------------------------------------------------------------------------
# Headers, escaping, the API left alone
# ------------------------------------------------------------------------------------------

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'")


def test_security_headers_on_every_kind_of_answer(client: TestClient, app: TestClient,
                                                  seeded: Seeded) -> None:
    answers = [client.get("/errors"), client.get("/errors?step=9"), client.get("/messages/ff"),
               client.get(f"/bounces/{seeded.bounce}/raw"), client.get("/errors/export.csv"),
               client.get("/login", follow_redirects=False)]
    for r in answers:
        assert r.headers["content-security-policy"] == CSP, r.url
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
    css = client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["x-content-type-options"] == "nosniff"
    for script in ("htmx.min.js", "history.js"):
        js = client.get(f"/static/{script}")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]


def test_pages_load_nothing_from_elsewhere_and_nothing_inline(client: TestClient,
                                                              seeded: Seeded) -> None:
    paths = ["/errors", f"/messages/{seeded.messages['cy@dest.test']}",
             f"/bounces/{seeded.bounce}", "/statistics", "/suppressions", "/webhooks"]
    for path in paths:
        html = client.get(path).text
        assert re.findall(r"<script\b[^>]*>", html) == [
            '<script src="/static/htmx.min.js" defer>',
            '<script src="/static/history.js" defer>'], path
        assert "<style" not in html and " style=" not in html, path
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), path
        assert '<meta name="htmx-config"' in html and "includeIndicatorStyles" in html


class _Structure(HTMLParser):
    """What the accessibility checks need: labels, form controls, tables, landmarks."""

    def __init__(self) -> None:
        super().__init__()
        self.label_for: set[str] = set()
        self.in_label = 0
        self.controls: list[dict[str, str]] = []
        self.tables = 0
        self.captions = 0
        self.heads: list[dict[str, str]] = []
        self.in_thead = False
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") not in (
                "hidden", "submit"):
            self.controls.append({**a, "wrapped": "yes" if self.in_label else ""})
        elif tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "thead":
            self.in_thead = True
        elif tag == "th" and self.in_thead:
            self.heads.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1
        elif tag == "thead":
            self.in_thead = False


def test_pages_are_accessible_in_structure(client: TestClient, seeded: Seeded,
                                           receiver: Receiver) -> None:
    """Every control labelled, every table captioned with column headers, landmarks and
    a skip link on every page."""
    token = csrf_of(client.get("/webhooks").text)
    assert client.post("/webhooks", data={"csrf": token, "url": receiver.url,
                                          "trigger": "failure"}).status_code == 201
    paths = ["/errors", f"/messages/{seeded.messages['cy@dest.test']}",
             f"/bounces/{seeded.bounce}", "/statistics", "/suppressions",
             "/suppressions/entry?value=ann@dest.test", "/suppressions/history",
             "/webhooks", "/webhooks/1"]
    for path in paths:
        html = client.get(path).text
        page = _Structure()
        page.feed(html)
        for c in page.controls:
            assert c.get("id") in page.label_for or c.get("aria-label") or c["wrapped"], (
                path, c)
        assert page.tables == page.captions, path
        assert all(h.get("scope") == "col" for h in page.heads), path
        assert len(page.heads) >= 2 * page.tables, path
        for landmark in ("header", "nav", "main", "footer"):
            assert landmark in page.tags, (path, landmark)
        assert '<a class="skip" href="#main">' in html
        assert '<html lang="en">' in html
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    login_page = _Structure()
    client.cookies.clear()
    login_page.feed(client.get("/login").text)
    assert all(c.get("id") in login_page.label_for for c in login_page.controls)


def test_hostile_text_is_escaped(client: TestClient, seeded: Seeded) -> None:
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for path in ["/errors", f"/messages/{seeded.messages[HOSTILE_RCPT]}",
                 "/errors?" + "recipient=" + HOSTILE_RCPT.replace('"', "%22")
                 .replace("<", "%3C").replace(">", "%3E")]:
        html = client.get(path).text
        assert HOSTILE not in html, path
        assert escaped in html, path
    # A hostile value in a filter comes back escaped in the 400 page as well.
    r = client.get("/errors", params={"errortype": HOSTILE})
    assert r.status_code == 400 and HOSTILE not in r.text and escaped in r.text


def test_the_api_and_health_are_left_alone(client: TestClient) -> None:
    r = client.get("/api/v1/errors")
    assert r.status_code == 401 and r.headers["content-type"] == "application/json"
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/metrics").status_code == 200
    paths = client.get("/api/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith("/api/")
                and p not in ("/health", "/ready", "/metrics")]


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------

def test_errors_lists_every_error_row(client: TestClient, seeded: Seeded) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/errors"
    r = client.get("/errors")
    assert r.status_code == 200
    t = table(r.text)
    assert len(t.rows) == seeded.errors == 7
    assert "1–7 of 7" in r.text
    assert [h["text"] for h in t.heads] == [
        "Time ▼", "Recipient", "Mailing", "Step", "State", "Code", "Extended", "Description",
        "Error type", "Soft/hard", "Reason"]
    for h in t.heads:
        assert h.get("scope") == "col"
    assert t.heads[0]["aria-sort"] == "descending"
    assert "<caption" in r.text
    by = {row[1]: row for row in t.rows}
    ann = by["ann@dest.test"]
    assert ann[2] == f"spring #{seeded.mailings['spring']}"
    assert ann[3:7] == ["4 · reply", "rcptto", "550", "5.1.1"]
    assert "User unknown" in ann[7]
    assert ann[8] == "error Refused by receiving mail server"
    # The reason, then on a line of its own the rule that decided it and what it matched.
    assert ann[9:] == ["Hard", "userunknown" + "by status:5.1.1: “5.1.1”"]
    di = by["di@nowhere.test"]
    assert di[3] == "1 · DNS" and di[8] == "nohost Map domain name to IP address"
    cy = by["cy@dest.test"]
    assert cy[3] == "5 · bounce" and cy[4] == "bounce" and cy[8].startswith("mailerror")
    # The rows link to their messages, and the untied returned message to itself.
    mid = seeded.messages["ann@dest.test"]
    assert f'<a href="/messages/{mid}">ann@dest.test</a>' in r.text
    assert f'href="/bounces/{seeded.untied}"' in r.text
    # The filter form: every input labelled.
    for name in ("mailing", "errortype", "step", "state", "severity", "reason", "code",
                 "domain", "recipient", "since", "until"):
        assert f'<label for="f-{name}">' in r.text and f'id="f-{name}" name="{name}"' in r.text
    assert 'hx-get="/errors" hx-target="#results" hx-push-url="true"' in r.text


FILTERS = [
    ({"severity": "hard"}, {"ann@dest.test", "bob@other.test", "di@nowhere.test",
                            "cy@dest.test", HOSTILE_RCPT, "eve@dest.test"}),
    ({"errortype": "nohost"}, {"di@nowhere.test"}),
    ({"step": "1"}, {"di@nowhere.test"}),
    ({"step": "5"}, {"cy@dest.test", "returned message {untied} untied"}),
    ({"tied": "no"}, {"returned message {untied} untied"}),
    ({"tied": "yes", "step": "5"}, {"cy@dest.test"}),
    ({"state": "rcptto"}, {"ann@dest.test", "bob@other.test", HOSTILE_RCPT,
                           "eve@dest.test"}),
    ({"mailing": "{autumn}"}, {"eve@dest.test"}),
    ({"reason": "userunknown"}, {"ann@dest.test", "cy@dest.test"}),
    ({"code": "5.1.1"}, {"ann@dest.test", "cy@dest.test"}),
    ({"code": "554"}, {"eve@dest.test"}),
    ({"code": "552,5.1.2"}, {"bob@other.test", "di@nowhere.test"}),
    ({"domain": "other.test"}, {"bob@other.test"}),
    ({"recipient": "ANN@dest.test"}, {"ann@dest.test"}),
    ({"errortype": "error", "mailing": "{spring}"}, {"ann@dest.test", "bob@other.test",
                                                     HOSTILE_RCPT}),
    ({"since": "{tomorrow}"}, set()),
    ({"until": "{yesterday}"}, set()),
    ({"since": "{day}", "until": "{late}"}, "all"),
]


@pytest.mark.parametrize("given,expected", FILTERS)
def test_filters_narrow_the_errors(client: TestClient, seeded: Seeded,
                                   given: dict[str, str], expected: set[str] | str) -> None:
    values = {"autumn": seeded.mailings["autumn"], "spring": seeded.mailings["spring"],
              "untied": seeded.untied, "day": seeded.now.date().isoformat(),
              "late": (seeded.now + timedelta(hours=3)).date().isoformat(),
              "tomorrow": (utcnow() + timedelta(days=1)).date().isoformat(),
              "yesterday": (seeded.now - timedelta(days=1)).date().isoformat()}
    params = {k: v.format(**values) for k, v in given.items()}
    r = client.get("/errors", params=params)
    assert r.status_code == 200, r.text
    found = set(recipients(r.text))
    if expected == "all":
        assert len(found) == seeded.errors
    else:
        assert found == {e.format(**values) for e in expected}
    assert f"of {len(table(r.text).rows)}" in r.text
    # The form shows what was asked.
    for k, v in params.items():
        if k in ("code", "domain", "recipient"):
            assert f'name="{k}" value="{v}"' in r.text
        elif k in ("since", "until"):
            assert f'name="{k}" type="date" value="{v}"' in r.text


def test_htmx_gets_the_results_region_only(client: TestClient) -> None:
    r = client.get("/errors", params={"severity": "hard", "sort": "recipient"},
                   headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert "<html" not in r.text and "<form id=\"filters\"" not in r.text
    assert len(table(r.text).rows) == 6
    assert 'id="f-sort" name="sort" value="recipient" hx-swap-oob="true"' in r.text
    assert r.headers["vary"] == "HX-Request"
    assert r.headers["hx-push-url"] == "/errors?severity=hard&sort=recipient"
    # A history restore wants the whole page.
    full = client.get("/errors", headers={"HX-Request": "true",
                                          "HX-History-Restore-Request": "true"})
    assert "<html" in full.text


def test_sorting_by_a_column_and_back(client: TestClient, seeded: Seeded) -> None:
    r = client.get("/errors", params={"sort": "recipient", "order": "asc"})
    names = recipients(r.text)
    # The untied returned message has no recipient: first, shown by its number.
    assert names[0] == f"returned message {seeded.untied} untied"
    assert names[1:] == sorted(names[1:]) and names[1] == HOSTILE_RCPT
    t = table(r.text)
    sorted_heads = [h for h in t.heads if "aria-sort" in h]
    assert [(h["text"], h["aria-sort"]) for h in sorted_heads] == [("Recipient ▲",
                                                                    "ascending")]
    # Its heading's link turns the order around; another column starts ascending.
    assert 'href="/errors?sort=recipient&amp;order=desc"' not in r.text
    assert 'href="/errors?sort=recipient"' in r.text
    assert 'href="/errors?sort=code&amp;order=asc"' in r.text
    down = client.get("/errors", params={"sort": "recipient"})
    assert recipients(down.text) == list(reversed(recipients(r.text)))
    assert 'aria-sort="descending"' in down.text
    by_time = recipients(client.get("/errors", params={"sort": "timestamp",
                                                       "order": "asc"}).text)
    assert by_time[0] == "ann@dest.test"  # the first attempt of the seed
    assert by_time[-1] == f"returned message {seeded.untied} untied"


def test_every_sort_renders(client: TestClient, seeded: Seeded) -> None:
    for sort in errorlist.SORTS:
        for order in ("asc", "desc"):
            r = client.get("/errors", params={"sort": sort, "order": order})
            assert r.status_code == 200, (sort, order)
            assert len(table(r.text).rows) == seeded.errors
            assert ("ascending" if order == "asc" else "descending") in r.text


def test_paging_through_the_errors(client: TestClient, seeded: Seeded) -> None:
    seen: list[str] = []
    url = "/errors?sort=id&order=asc&limit=3"
    pages = 0
    while url:
        r = client.get(url)
        assert r.status_code == 200
        rows = recipients(r.text)
        first = len(seen) + 1
        assert f"{first}–{len(seen) + len(rows)} of 7" in r.text
        seen += rows
        pages += 1
        m = re.search(r'href="(/errors\?[^"]*)" hx-get="[^"]*" rel="next"', r.text)
        url = m.group(1).replace("&amp;", "&") if m else ""
    assert pages == 3 and len(seen) == 7 and len(set(seen)) == 7
    last = client.get("/errors?sort=id&order=asc&limit=3&start=6")
    assert 'rel="prev"' in last.text and 'rel="next"' not in last.text
    beyond = client.get("/errors?start=100")
    assert "No rows on this page" in beyond.text and "0–0 of 7" in beyond.text


def test_csv_export_has_the_filtered_rows(client: TestClient, seeded: Seeded) -> None:
    page = client.get("/errors", params={"severity": "hard", "domain": "dest.test"})
    link = re.search(r'href="(/errors/export\.csv[^"]*)"', page.text)
    assert link
    r = client.get(link.group(1).replace("&amp;", "&"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="errors.csv"'
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(rows[0].keys()) == errorlist.FIELDS
    assert {row["recipient"] for row in rows} == {"ann@dest.test", "cy@dest.test",
                                                  "eve@dest.test"}
    assert all(row["severity"] == "hard" for row in rows)
    everything = list(csv.DictReader(io.StringIO(client.get("/errors/export.csv").text)))
    assert len(everything) == seeded.errors
    assert HOSTILE_RCPT in {row["recipient"] for row in everything}


def test_csv_export_neutralises_formulas(client: TestClient, engine: Engine) -> None:
    # Addresses a signup form let in (= + - are atext, RFC 5322 3.2.3) must not run as
    # formulas in the spreadsheet that opens the export (OWASP "CSV Injection"); the page
    # shows them as they are.
    hostile = ["=1+2@dest.test", "-ann@dest.test", "+bob@dest.test"]
    w = _Writer(engine, utcnow() - timedelta(hours=1))
    mailing = w.mailing("evil", [])
    for n, rcpt in enumerate(hostile):
        w.attempt(w.queue(mailing, rcpt), UNKNOWN, w.now + timedelta(minutes=n))
    rows = list(csv.DictReader(io.StringIO(
        client.get("/errors/export.csv?mailing=" + str(mailing)).text, newline="")))
    assert sorted(row["recipient"] for row in rows) == sorted("'" + r for r in hostile)
    assert {row["description"] for row in rows} == {UNKNOWN.description}
    assert set(hostile) <= set(recipients(client.get(f"/errors?mailing={mailing}").text))


BAD = [
    ("step=9", "step is 0 to 5, not 9"),
    ("step=x", "step is a number from 0 to 5, not 'x'"),
    ("mailing=abc", "mailing is a whole number"),
    ("mailing=99999999999", "mailing is a whole number from 0 to 2147483647"),
    ("since=yesterday", "since is a date (YYYY-MM-DD), not 'yesterday'"),
    ("until=2026-02-30", "until is a date (YYYY-MM-DD)"),
    ("since=2026-03-02&until=2026-03-01", "since (2026-03-02) is after until (2026-03-01)"),
    ("sort=password", "sort is one of timestamp"),
    ("order=sideways", "order is one of asc, desc, not 'sideways'"),
    ("start=-1", "start is a whole number from 0"),
    ("limit=0", "limit is a whole number from 1 to 1000, not '0'"),
    ("limit=5000", "limit is a whole number from 1 to 1000"),
    ("errortype=bogus", "errortype is one of nocontent"),
    ("state=sleeping", "state is one of process"),
    ("severity=medium", "severity is soft or hard, not 'medium'"),
    ("reason=Bad%20Reason", "not a reason: 'Bad Reason'"),
    ("code=abc", "a code is a reply code (550) or an enhanced status (5.1.1), not 'abc'"),
    ("recipient=" + "x" * 400, "recipient has at most 320 characters"),
]


def test_a_bad_filter_is_a_400_page_that_says_what(client: TestClient) -> None:
    for query, message in BAD:
        for path in ("/errors", "/errors/export.csv"):
            if path.endswith(".csv") and query.startswith(("start", "limit")):
                continue  # the export has every row: no paging
            r = client.get(f"{path}?{query}")
            assert r.status_code == 400, (path, query, r.text)
            assert r.headers["content-type"].startswith("text/html")
            assert message.replace("'", "&#39;") in r.text, (query, r.text)
            assert "<h1>Bad request</h1>" in r.text
        fragment = client.get(f"/errors?{query}", headers={"HX-Request": "true"})
        assert fragment.status_code == 400 and 'role="alert"' in fragment.text
        assert "<html" not in fragment.text


def test_odd_values_never_make_a_500(client: TestClient, seeded: Seeded) -> None:
    odd = ["\x00", "a\x00b", "x" * 5000, "-1", "1e9", "٣", "9" * 30, "%", "_", "'", "é@ü.test",
           "2026-02-30", "0", "9999-12-31", "0001-01-01", "20261122"]
    names = {"/errors": ["mailing", "errortype", "step", "state", "severity", "reason",
                         "code", "domain", "recipient", "since", "until", "sort", "order",
                         "start", "limit"],
             "/errors/export.csv": ["mailing", "recipient", "domain", "code"],
             "/statistics": ["mailing", "since", "until"],
             "/suppressions": ["search", "type", "reason", "source", "start", "limit"],
             "/suppressions/entry": ["value", "done"],
             "/suppressions/history": ["start"],
             "/login": ["next"]}
    for path, params in names.items():
        for name in params:
            for value in odd:
                r = client.get(path, params={name: value}, follow_redirects=False)
                assert r.status_code in (200, 303, 400), (path, name, value, r.text[-300:])
    token = csrf_of(client.get("/suppressions").text)
    for value in odd:
        for form in ({"value": value}, {"value": "a@b.test", "note": value},
                     {"value": "a@b.test", "reason": value}, {"value": "a@b.test",
                                                              "sender": value},
                     {"value": "a@b.test", "days": value}):
            r = client.post("/suppressions", data={"csrf": token, **form},
                            follow_redirects=False)
            assert r.status_code in (303, 400), (form, r.text[-300:])
        r = client.post("/suppressions/remove", data={"csrf": token, "type": "address",
                                                      "value": value, "note": value})
        assert r.status_code in (400, 404), (value, r.text[-300:])
        r = client.post("/webhooks", data={"csrf": token, "url": value, "trigger": "failure",
                                           "tags": value, "description": value})
        assert r.status_code == 400, (value, r.text[-300:])


# ------------------------------------------------------------------------------------------
# Message, returned messages
# ------------------------------------------------------------------------------------------

def test_the_message_page_tells_its_story(client: TestClient, seeded: Seeded) -> None:
    mid = seeded.messages["bob@other.test"]
    r = client.get(f"/messages/{mid}")
    assert r.status_code == 200
    html = r.text
    assert "<h1>Message to bob@other.test</h1>" in html
    assert "news@sender.test" in html and f"#{seeded.mailings['spring']}" in html
    assert '<span class="status status-failed">failed</span>' in html
    assert "<li>spring</li>" in html and "<li>n1</li>" in html
    assert "first_name" in html
    # The timeline: two attempts and their events (retry, then failure), in time order.
    heads = re.findall(r'<p class="tl-head">.*?<strong>([^<]+)</strong>', html)
    assert heads == ["Attempt 0", "Event: retry", "Attempt 1", "Event: failure"]
    for text in ("452", "4.2.2", "552", "5.2.2", "mx.other.test", "127.0.0.2", "42 ms",
                 "4 · reply", "rcptto", "Mailbox full, try later"):
        assert text in html, text
    # Its error row.
    assert 'aria-labelledby="errors-caption"' in html and "mailboxfull" in html


def test_a_bounced_message_links_its_returned_mail(client: TestClient,
                                                    seeded: Seeded) -> None:
    mid = seeded.messages["cy@dest.test"]
    html = client.get(f"/messages/{mid}").text
    heads = re.findall(r'<p class="tl-head">.*?<strong>([^<]+)</strong>', html)
    assert heads == ["Attempt 0", "Event: delivery", "Event: bounce", "Event: failure"]
    assert f'<a href="/bounces/{seeded.bounce}">returned message {seeded.bounce}</a>' in html
    assert f'href="/bounces/{seeded.bounce}/raw" download' in html
    page = client.get(f"/bounces/{seeded.bounce}")
    assert page.status_code == 200
    assert "Undelivered Mail Returned to Sender" in page.text
    assert '<pre class="raw"' in page.text
    assert "&lt;cy@dest.test&gt;: host mx.dest.test said" in page.text
    assert f'href="/messages/{mid}"' in page.text
    raw = client.get(f"/bounces/{seeded.bounce}/raw")
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "message/rfc822"
    assert raw.headers["content-disposition"] == \
        f'attachment; filename="bounce-{seeded.bounce}.eml"'
    assert raw.content.startswith(b"Return-Path: <>\r\n")


def test_the_bounce_and_errors_pages_say_why(client: TestClient, seeded: Seeded,
                                             engine: Engine) -> None:
    """A real MTA's report (Exim gave up after greylisting, from the DSN farm): its row
    shows the rule that decided the reason, the text it matched, the detector and that the
    MTA gave up after retrying (issue 18), on the bounce page and the Errors list."""
    raw = (FARM / "exim-expire-postgrey.eml").read_bytes()
    rid = _Writer(engine, seeded.now).receive(raw, "postmaster@sender.test",
                                              seeded.now + timedelta(hours=2, minutes=9))
    why = ("(gave up after retrying)", "by <code>phrase:blocked/greylist</code>: "
           "“greylist”, read by exim")
    page = client.get(f"/bounces/{rid}").text
    for text in why:
        assert text in page, text
    listing = client.get("/errors?reason=blocked&tied=no").text
    for text in why:
        assert text in listing, text


def test_an_untied_returned_message_has_its_page(client: TestClient, seeded: Seeded) -> None:
    page = client.get(f"/bounces/{seeded.untied}")
    assert page.status_code == 200
    assert "<strong class=\"untied\">Untied</strong>" in page.text
    assert "changes nothing about any address" in page.text
    assert "Please take me off this list" in page.text
    assert "mailmessage" in page.text


def test_a_forwarded_bounce_shows_the_address_it_named(client: TestClient, seeded: Seeded,
                                                       engine: Engine) -> None:
    """A forward (Original-Recipient ours, Final-Recipient where it was sent on): the row
    is cy's, the address the DSN named is shown beside it, on the list and its page."""
    mid = seeded.messages["cy@dest.test"]
    _, head = signed.stamp(secret=SECRET, recipients=[(mid, "cy@dest.test")], mailing_id=1)
    raw = bounces.dsn("someone@nx2.test", head + MIME).replace(
        b"Original-Recipient: rfc822;someone@nx2.test", b"Original-Recipient: rfc822;"
        b"cy@dest.test")
    with engine.connect() as conn:
        envelope = conn.execute(select(messages.c.envelope).where(
            messages.c.id == mid)).scalar_one()
    w = _Writer(engine, seeded.now)
    rid = w.receive(raw, envelope, seeded.now + timedelta(hours=2, minutes=10))
    r = client.get("/errors", params={"recipient": "cy@dest.test", "sort": "id"})
    cells = [c for c in recipients(r.text) if "someone" in c]
    assert cells == ["cy@dest.test named: someone@nx2.test"]
    page = client.get(f"/bounces/{rid}")
    assert "<dt>Address it named</dt><dd>someone@nx2.test</dd>" in page.text
    assert f'href="/messages/{mid}"' in page.text
    # The untied one: its page says so, and offers its hint as no more than that.
    untied = client.get(f"/bounces/{seeded.untied}").text
    assert '<strong class="untied">Untied</strong>' in untied


def test_unknown_ids_are_404_pages(client: TestClient) -> None:
    for path in ["/messages/0123456789abcdef", "/messages/NOT-AN-ID", "/messages/" + "a" * 41,
                 "/bounces/999999", "/bounces/abc", "/bounces/999999/raw", "/bounces/-1/raw",
                 "/webhooks/999", "/webhooks/x", "/webhooks/99999999999999",
                 "/bounces/99999999999999", "/bounces/" + "9" * 5000,
                 "/webhooks/" + "9" * 5000]:
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
        assert "<h1>Not found</h1>" in r.text and "There is no" in r.text


# ------------------------------------------------------------------------------------------
# Statistics
# ------------------------------------------------------------------------------------------

def test_statistics_default_to_the_last_30_days(client: TestClient, seeded: Seeded) -> None:
    r = client.get("/statistics")
    assert r.status_code == 200
    html = r.text
    today = utcnow().date()
    assert f'name="until" type="date" value="{today.isoformat()}"' in html
    assert f'value="{(today - timedelta(days=29)).isoformat()}"' in html
    # Seven charts: totals, daily, and five breakdowns; each bar has its tooltip.
    assert html.count("<svg ") == 7
    assert html.count('role="img"') == 7
    assert "<title>userunknown: 2 (" in html
    totals = dict(row[:2] for row in (r for r in table(html, "small-table").rows))
    assert totals["sent"] == "6" and totals["delivered"] == "1"
    assert totals["deferred"] == "1" and totals["failed"] == "5"
    # The untied reply counts nowhere (issue 16): returned 0.
    assert totals["bounced"] == "1" and totals["returned"] == "0"
    for heading in ("Soft and hard", "By error type", "By reason",
                    "By recipient domain (top 20)", "By step", "Per day",
                    "Suppression list"):
        assert f">{heading}</h2>" in html, heading
    assert "dest.test" in html and "Refused by receiving mail server" in html
    # The rules suppressed the hard failures (ann, bob, di's domain, ...).
    suppressed = re.search(r"<dt>On the list now</dt><dd>(\d+)</dd>", html)
    assert suppressed and int(suppressed.group(1)) >= 2


def test_statistics_of_one_mailing(client: TestClient, seeded: Seeded) -> None:
    autumn = seeded.mailings["autumn"]
    html = client.get(f"/statistics?mailing={autumn}").text
    assert f"Mailing autumn (#{autumn})" in html
    totals = dict(row[:2] for row in table(html, "small-table").rows)
    assert totals["sent"] == "1" and totals["failed"] == "1" and totals["delivered"] == "0"


def test_statistics_bad_values_are_400(client: TestClient) -> None:
    for query, message in [
            ("since=2026-13-01", "since is a date (YYYY-MM-DD), not '2026-13-01'"),
            ("until=soon", "until is a date (YYYY-MM-DD), not 'soon'"),
            ("since=2026-03-02&until=2026-03-01", "since is after until"),
            ("since=2000-01-01&until=2026-01-01", "a report covers at most"),
            ("mailing=all", "mailing is a whole number")]:
        r = client.get(f"/statistics?{query}")
        assert r.status_code == 400, query
        assert message.replace("'", "&#39;") in r.text, query


# ------------------------------------------------------------------------------------------
# Suppressions
# ------------------------------------------------------------------------------------------

def test_suppressions_add_search_remove_and_history(client: TestClient,
                                                     seeded: Seeded) -> None:
    page = client.get("/suppressions")
    assert page.status_code == 200
    # The rules' entries from the seed are listed.
    assert "ann@dest.test" in page.text and "userunknown" in page.text
    token = csrf_of(page.text)
    r = client.post("/suppressions", data={
        "csrf": token, "value": "Zed@Example.TEST", "reason": "manual",
        "note": "asked to be left alone", "days": "30"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/suppressions/entry?value=zed%40example.test&done=added"
    entry = client.get(r.headers["location"])
    assert "Added to the list." in entry.text
    assert "asked to be left alone" in entry.text and "ui:ann" in entry.text
    found = client.get("/suppressions", params={"search": "zed@", "source": "manual"})
    assert [row[0] for row in table(found.text, "").rows] == [] or "zed@example.test" in \
        found.text
    assert "1–1 of 1" in found.text
    # Removing needs a note.
    form = {"csrf": token, "type": "address", "value": "zed@example.test", "sender": ""}
    assert client.post("/suppressions/remove", data=form).status_code == 400
    r = client.post("/suppressions/remove", data={**form, "note": "was a mistake"},
                    follow_redirects=False)
    assert r.status_code == 303
    entry = client.get(r.headers["location"])
    assert "Taken off the list." in entry.text
    assert "zed@example.test is not on the suppression list." in entry.text
    assert entry.text.count("ui:ann") == 2
    assert "was a mistake" in entry.text and "asked to be left alone" in entry.text
    history = client.get("/suppressions/history")
    assert "was a mistake" in history.text and "change-remove" in history.text
    assert client.post("/suppressions/remove",
                       data={**form, "note": "again"}).status_code == 404


def test_suppression_bad_input_is_400(client: TestClient) -> None:
    token = csrf_of(client.get("/suppressions").text)
    for form, message in [
            ({"value": "not an address@"}, "value:"),
            ({"value": "nodots"}, "not a domain"),
            ({"value": "a@b.test", "days": "-1"}, "days is a number above 0"),
            ({"value": "a@b.test", "days": "soon"}, "days is a number above 0"),
            ({"value": "a@b.test", "sender": "not an address"}, "sender:"),
            ({"value": "a@b.test", "type": "planet"}, "type is one of address, domain")]:
        r = client.post("/suppressions", data={"csrf": token, **form})
        assert r.status_code == 400, form
        assert message in r.text, form


def test_suppression_search_bad_values_are_400(client: TestClient) -> None:
    assert client.get("/suppressions?type=planet").status_code == 400
    assert client.get("/suppressions?start=x").status_code == 400
    assert client.get("/suppressions/entry").status_code == 400


# ------------------------------------------------------------------------------------------
# Webhooks
# ------------------------------------------------------------------------------------------

def test_webhooks_add_test_pause_resume(client: TestClient, receiver: Receiver,
                                        seeded: Seeded) -> None:
    page = client.get("/webhooks")
    assert page.status_code == 200 and "No webhooks yet." in page.text
    token = csrf_of(page.text)
    r = client.post("/webhooks", data={
        "csrf": token, "url": receiver.url, "trigger": ["failure", "bounce"],
        "format": "json", "mailing": str(seeded.mailings["spring"]), "tags": "a, b",
        "description": "our CRM"})
    assert r.status_code == 201, r.text
    secret = re.search(r'id="secret" class="secret" value="(whsec_[^"]+)"', r.text)
    assert secret
    listing = client.get("/webhooks").text
    assert receiver.url in listing and "failure, bounce" in listing and "our CRM" in listing
    assert secret.group(1) not in listing
    link = re.search(r'href="/webhooks/(\d+)"', listing)
    assert link
    hook_id = int(link.group(1))
    # Test with htmx: the result alone; without: the webhook's page with it.
    r = client.post(f"/webhooks/{hook_id}/test", data={"csrf": token},
                    headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert "<html" not in r.text and "Test call succeeded" in r.text and "HTTP 200" in r.text
    assert len(receiver.requests) == 1
    r = client.post(f"/webhooks/{hook_id}/test", data={"csrf": token})
    assert r.status_code == 200 and "<html" in r.text and "Test call succeeded" in r.text
    assert f"<h1>Webhook {hook_id}</h1>" in r.text
    # Pause and resume.
    r = client.post(f"/webhooks/{hook_id}/pause", data={"csrf": token, "reason": "moving"})
    assert r.status_code == 200 and "Paused:" in r.text and "moving" in r.text
    assert '<span class="status status-paused">paused</span>' in r.text
    assert client.post(f"/webhooks/{hook_id}/pause", data={"csrf": token}).status_code == 200
    r = client.post(f"/webhooks/{hook_id}/resume", data={"csrf": token})
    assert r.status_code == 200 and "Resumed:" in r.text
    assert client.post(f"/webhooks/{hook_id}/resume", data={"csrf": token}).status_code == 409
    # Replay: nothing chosen is a 400; all of none is fine.
    assert client.post(f"/webhooks/{hook_id}/replay", data={"csrf": token}).status_code == 400
    r = client.post(f"/webhooks/{hook_id}/replay", data={"csrf": token, "all": "1"})
    assert r.status_code == 200 and "0 dead deliveries queued again." in r.text


def test_a_failing_webhook_test_says_why(client: TestClient, receiver: Receiver) -> None:
    receiver.status = 500
    token = csrf_of(client.get("/webhooks").text)
    assert client.post("/webhooks", data={"csrf": token, "url": receiver.url,
                                          "trigger": "failure"}).status_code == 201
    r = client.post("/webhooks/1/test", data={"csrf": token}, headers={"HX-Request": "true"})
    assert "Test call failed" in r.text and "HTTP 500" in r.text


def test_webhook_bad_input_is_400(client: TestClient) -> None:
    token = csrf_of(client.get("/webhooks").text)
    for form, message in [
            ({"url": "http://10.1.2.3/x", "trigger": "failure"}, "may not be called"),
            ({"url": "ftp://example.test/x", "trigger": "failure"}, "may not be called"),
            ({"url": "", "trigger": "failure"}, "url:"),
            ({"url": "http://127.0.0.1:9/x"}, "trigger: choose at least one"),
            ({"url": "http://127.0.0.1:9/x", "trigger": "opened"}, "trigger is one of"),
            ({"url": "http://127.0.0.1:9/x", "trigger": "failure", "format": "xml"},
             "format is one of form, json"),
            ({"url": "http://127.0.0.1:9/x", "trigger": "failure", "mailing": "x"},
             "mailing is a whole number")]:
        r = client.post("/webhooks", data={"csrf": token, **form})
        assert r.status_code == 400, (form, r.text)
        assert message in r.text, form
    assert client.get("/webhooks").text.count('href="/webhooks/') == 0


def test_dead_deliveries_and_failed_calls(client: TestClient, engine: Engine,
                                          receiver: Receiver) -> None:
    """A webhook's failed calls and dead deliveries, written as the dispatcher writes them
    (storage.webhooks.log_failures, outbox.fail), shown and replayed."""
    hook = support.hook(engine, receiver.url)
    support.write(engine, [support.failure(f"m{n}") for n in range(3)])
    jobs = outbox.claim(engine, [webhook_store.KIND], "dispatch-test", 10, 60)
    assert len(jobs) == 3
    now = utcnow()
    with engine.begin() as conn:
        for job in jobs:
            outbox.fail(conn, job.id, "dispatch-test", "HTTP 500 after 9 tries")
        webhook_store.log_failures(conn, [{
            "time": now, "webhook_id": hook.id, "event_id": None, "attempt": 9,
            "url": receiver.url, "ip": "127.0.0.1", "status": 500, "error": "http",
            "description": "HTTP 500", "duration_ms": 3, "headers": "[]",
            "body": f"went wrong {HOSTILE}"}])
    page = client.get(f"/webhooks/{hook.id}")
    assert page.status_code == 200
    dead = table(page.text, "dead").rows
    assert len(dead) == 3 and all("HTTP 500 after 9 tries" in row[-1] for row in dead)
    failed = table(page.text, "failures").rows
    assert len(failed) == 1 and failed[0][3] == "500"
    assert "went wrong &lt;script&gt;" in page.text
    token = csrf_of(page.text)
    r = client.post(f"/webhooks/{hook.id}/replay",
                    data={"csrf": token, "job": [str(jobs[0].id)]})
    assert r.status_code == 200 and "1 dead deliveries queued again." in r.text
    assert len(table(r.text, "dead").rows) == 2
    r = client.post(f"/webhooks/{hook.id}/replay", data={"csrf": token, "all": "1"})
    assert "2 dead deliveries queued again." in r.text and "No dead deliveries." in r.text
    assert client.post(f"/webhooks/{hook.id}/replay",
                       data={"csrf": token, "job": "x"}).status_code == 400
