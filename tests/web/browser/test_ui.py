"""The web UI in headless Chromium: the real app under uvicorn on 127.0.0.1, over a SQLite
database seeded by the real writers (tests/web/test_ui.py: seed), with a user made by the
real CLI (``bounceloop user add NAME --password-stdin``).

Each step saves a screenshot (test-output/screenshots/<test>-<step>.png).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect
from playwright.sync_api import Error as PlaywrightError

from bounceloop.config import Settings
from bounceloop.observability.metrics import Metrics
from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine
from bounceloop.testing import Receiver
from bounceloop.web.app import create_app
from tests.web.browser.conftest import _open
from tests.web.test_ui import HOSTILE_RCPT, PASSWORD, Seeded, seed

Shot = Callable[[Page, str], Path]
USER = "ann"


@dataclass
class Site:
    url: str
    seeded: Seeded


def _cli_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("BOUNCELOOP_")}
    env["BOUNCELOOP_DATABASE_URL"] = database_url
    return env


def _bounceloop() -> list[str]:
    script = Path(sys.executable).with_name("bounceloop")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bounceloop"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The app on a free port of 127.0.0.1, in a thread of its own."""
    folder = tmp_path_factory.mktemp("ui")
    url = f"sqlite:///{folder / 'ui.db'}"
    db = create_engine(url)
    migrate.upgrade(db)
    seeded = seed(db)
    made = subprocess.run([*_bounceloop(), "user", "add", USER, "--password-stdin"],
                          input=PASSWORD + "\n", capture_output=True, text=True,
                          env=_cli_env(url), cwd=folder, timeout=60, check=False)
    assert made.returncode == 0, made.stderr
    settings = Settings(database_url=url, allowed_target_networks=["127.0.0.0/8"],
                        spool_dir=folder)
    server = uvicorn.Server(uvicorn.Config(create_app(db, Metrics(), settings),
                                           log_level="warning", lifespan="off"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="uvicorn")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Site(f"http://127.0.0.1:{port}", seeded)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        db.dispose()


#: How Chromium logs a page answered 4xx, which the tests ask for on purpose (a failed
#: login, a bad date): not a problem of the page.
EXPECTED = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")


@pytest.fixture
def problems(page: Page) -> Iterator[list[str]]:
    """Console errors (a CSP violation is one) and uncaught script errors of the page."""
    seen: list[str] = []

    def console(msg: ConsoleMessage) -> None:
        if msg.type == "error" and not EXPECTED.match(msg.text):
            seen.append(msg.text)

    page.on("console", console)
    page.on("pageerror", lambda exc: seen.append(str(exc)))
    yield seen
    assert seen == []


def log_in(page: Page, site: Site, path: str = "/errors") -> None:
    page.goto(site.url + path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Name").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(site.url + path)
    page.wait_for_load_state()  # the stylesheet too, before anything is measured


def rows(page: Page) -> int:
    return page.locator("table.errors tbody tr").count()


def test_log_in_and_filter_the_errors(page: Page, site: Site, shot: Shot,
                                      problems: list[str]) -> None:
    page.goto(site.url + "/errors")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Name").fill(USER)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong name or password.")
    shot(page, "1-login-failed")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(site.url + "/errors")
    expect(page.locator("table.errors tbody tr")).to_have_count(site.seeded.errors)
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_contain_text(USER)
    page.wait_for_load_state()  # htmx is in place: the filters below stay on the page
    shot(page, "2-errors")

    # Filters swap the results region only (htmx): the page itself stays, the URL follows.
    page.evaluate("window.stayed = true")
    page.get_by_label("Soft or hard").select_option("hard")
    page.get_by_label("Recipient domain").fill("dest.test")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(site.url + "/errors?severity=hard&domain=dest.test")
    expect(page.locator("table.errors tbody tr")).to_have_count(3)
    expect(page.locator(".pager .count").first).to_have_text("1–3 of 3")
    assert page.evaluate("window.stayed") is True
    shot(page, "3-filtered")
    page.get_by_label("Error type").select_option("mailerror")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.errors tbody tr")).to_have_count(1)
    expect(page.locator("table.errors tbody tr td.recipient")).to_have_text("cy@dest.test")

    # Sorting by a heading, then filtering again, keeps the sort.
    page.get_by_label("Error type").select_option("")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.errors tbody tr")).to_have_count(3)
    page.get_by_role("link", name="Recipient", exact=True).click()
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("table.errors tbody tr td.recipient")).to_have_text(
        ["ann@dest.test", "cy@dest.test", "eve@dest.test"])
    page.get_by_role("link", name=re.compile("^Recipient")).click()
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "descending")
    expect(page.locator("table.errors tbody tr td.recipient").first).to_have_text(
        "eve@dest.test")
    page.get_by_label("Rows per page").select_option("25")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(site.url + "/errors?severity=hard&domain=dest.test"
                             "&sort=recipient&limit=25")
    expect(page.locator("table.errors tbody tr td.recipient").first).to_have_text(
        "eve@dest.test")
    assert page.evaluate("window.stayed") is True
    shot(page, "4-sorted")

    # Back in the browser's history: the earlier results (from the server: htmx keeps no
    # copy of pages). Twice, with the answer for the page in between held back until the
    # second has been shown: a late answer must not replace the page the browser is on
    # (htmx does not cancel a restore when the next begins; static/history.js does).
    between = site.url + "/errors?severity=hard&domain=dest.test&sort=recipient"
    held: list[Route] = []
    settled: list[str] = []

    def hold(route: Route) -> None:
        if route.request.headers.get("hx-history-restore-request") == "true":
            held.append(route)
        else:
            route.continue_()

    page.route(between, hold)
    page.on("requestfinished", lambda r: settled.append(r.url))
    page.on("requestfailed", lambda r: settled.append(r.url))
    page.go_back()
    # The first restore's request must be out (and held) before the second back begins: a
    # quick second back can leave htmx no time to send it, and then nothing is tested.
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    page.go_back()
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("table.errors tbody tr td.recipient").first).to_have_text(
        "ann@dest.test")
    assert len(held) == 1
    # If the page has already given the request up (the outcome wanted), this may raise.
    with contextlib.suppress(PlaywrightError):
        held[0].continue_()
    deadline = time.monotonic() + 5
    while between not in settled and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert between in settled
    page.wait_for_timeout(300)  # time for a late answer to be swapped in, if it were
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("table.errors tbody tr td.recipient").first).to_have_text(
        "ann@dest.test")
    page.unroute(between)
    # The form says what the results are: not the 25 rows chosen two pages on.
    expect(page.get_by_label("Rows per page")).to_have_value("50")
    expect(page.get_by_label("Soft or hard")).to_have_value("hard")


def test_a_message_and_its_timeline(page: Page, site: Site, shot: Shot,
                                    problems: list[str]) -> None:
    log_in(page, site)
    page.get_by_role("link", name="bob@other.test").click()
    expect(page).to_have_url(site.url + f"/messages/{site.seeded.messages['bob@other.test']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Message to bob@other.test")
    items = page.locator("ol.timeline > li")
    expect(items).to_have_count(4)
    expect(items.locator(".tl-head strong")).to_have_text(
        ["Attempt 0", "Event: retry", "Attempt 1", "Event: failure"])
    expect(items.nth(0)).to_contain_text("4.2.2")
    expect(items.nth(2)).to_contain_text("5.2.2")
    expect(items.nth(2)).to_contain_text("mx.other.test")
    shot(page, "1-message")

    # A bounced message: its returned mail, as escaped text.
    page.goto(site.url + f"/messages/{site.seeded.messages['cy@dest.test']}")
    page.get_by_role("link", name=f"view returned message {site.seeded.bounce}").click()
    expect(page.locator("pre.raw")).to_contain_text("Undelivered Mail Returned to Sender")
    expect(page.locator("pre.raw")).to_contain_text("<cy@dest.test>: host mx.dest.test")
    shot(page, "2-returned-message")

    # The hostile recipient is text, not markup: no script ran.
    page.goto(site.url + f"/messages/{site.seeded.messages[HOSTILE_RCPT]}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Message to {HOSTILE_RCPT}")
    assert page.evaluate("document.querySelectorAll('main script').length") == 0


def test_statistics_charts(page: Page, site: Site, shot: Shot,
                           problems: list[str]) -> None:
    log_in(page, site, "/statistics")
    charts = page.locator(".chart svg[role=img]")
    expect(charts).to_have_count(7)
    titles = page.locator(".chart svg rect title").all_text_contents()
    # 2 of 6 error rows: the untied reply counts in no statistic (issue 16).
    assert "userunknown: 2 (33.3 %)" in titles, titles
    assert any(t.endswith(" · failed: 5") for t in titles), titles
    expect(page.locator("#totals-caption")).to_have_text("Messages by outcome")
    expect(page.locator("table.small-table").first.locator("tbody tr")).to_have_count(7)
    shot(page, "1-statistics")
    page.get_by_label("Mailing", exact=True).select_option(
        str(site.seeded.mailings["autumn"]))
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".scope")).to_contain_text("Mailing autumn")
    shot(page, "2-one-mailing")
    page.goto(site.url + "/statistics?since=not-a-day")
    expect(page.get_by_role("alert")).to_contain_text("since is a date (YYYY-MM-DD)")


def test_add_a_webhook_and_test_it(page: Page, site: Site, shot: Shot, receiver: Receiver,
                                   problems: list[str]) -> None:
    import time as _t
    page.route("**/static/htmx.min.js", lambda r: (_t.sleep(1.0), r.continue_()))
    log_in(page, site, "/webhooks")
    page.get_by_label("URL to call").fill(receiver.url)
    page.get_by_label("bounce").check()
    page.get_by_label("Description").fill("the CRM")
    page.get_by_role("button", name="Add the webhook").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Webhook \d+ added"))
    expect(page.get_by_label("Signing secret")).to_have_value(re.compile(r"^whsec_"))
    shot(page, "1-added")
    page.get_by_role("link", name=re.compile(r"^Go to webhook")).click()
    expect(page).to_have_url(re.compile(r"/webhooks/\d+$"))
    # htmx enhances the form once the page has loaded; a click before that is the plain
    # form post (which works too, on a page of its own), and this test is about the other.
    page.wait_for_load_state()
    url = page.url
    page.get_by_role("button", name="Send a test").click()
    result = page.locator(".test-result .test-outcome")
    expect(result).to_contain_text("Test call succeeded: HTTP 200")
    assert page.url == url  # shown in place
    assert len(receiver.requests) == 1
    shot(page, "2-tested")
    page.get_by_label("Why pause (optional)").fill("moving servers")
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status")).to_contain_text("Paused")
    expect(page.locator("dl.facts")).to_contain_text("moving servers")
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("status")).to_contain_text("Resumed")
    page.goto(site.url + "/webhooks")
    expect(page.locator("table tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Send a test").click()
    expect(page.locator(".test-result .test-outcome")).to_contain_text("Test call succeeded")
    shot(page, "3-list")


def test_add_and_remove_a_suppression(page: Page, site: Site, shot: Shot,
                                      problems: list[str]) -> None:
    log_in(page, site, "/suppressions")
    page.get_by_label("Address or domain", exact=True).fill("Zed@Example.test")
    page.get_by_label("Note").fill("asked to be left alone")
    page.get_by_label("Days (empty: for ever)").fill("30")
    page.get_by_role("button", name="Add to the list").click()
    expect(page.get_by_role("status")).to_have_text("Added to the list.")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Suppression of zed@example.test")
    shot(page, "1-added")
    page.get_by_label("Why it comes off the list (required)").fill("was a mistake")
    page.get_by_role("button", name="Remove from the list").click()
    expect(page.get_by_role("status")).to_have_text("Taken off the list.")
    history = page.locator("table tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("remove")
    expect(history.nth(0)).to_contain_text("was a mistake")
    expect(history.nth(1)).to_contain_text("add")
    expect(history.nth(1)).to_contain_text("asked to be left alone")
    expect(history.nth(0)).to_contain_text("ui:ann")
    shot(page, "2-removed")
    page.get_by_role("link", name="Suppressions").first.click()
    page.get_by_role("link", name="The history of every change").click()
    expect(page.locator("table tbody tr").first).to_contain_text("was a mistake")
    shot(page, "3-history")


def test_errors_on_a_phone(phone_page: Page, site: Site, shot: Shot) -> None:
    page = phone_page
    log_in(page, site)
    expect(page.locator("table.errors tbody tr")).to_have_count(site.seeded.errors)
    # The page itself never scrolls sideways (nor zooms out to fit): the table scrolls
    # inside its wrapper.
    assert page.evaluate("window.innerWidth") == 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("e => e.scrollWidth > e.clientWidth")
    # The nav bar wraps and every link in it is on screen.
    for name in ("Errors", "Statistics", "Suppressions", "Webhooks"):
        box = page.get_by_role("navigation", name="Main").get_by_role(
            "link", name=name).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, name
    shot(page, "1-errors")
    page.get_by_label("Error type").select_option("error")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.errors tbody tr")).to_have_count(4)
    shot(page, "2-filtered")
    page.goto(site.url + f"/messages/{site.seeded.messages['bob@other.test']}")
    assert page.evaluate("window.innerWidth") == 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "3-message")


def test_reading_without_javascript(chromium: Browser, no_external_requests: list[str],
                                    site: Site, shot: Shot) -> None:
    for page in _open(chromium, no_external_requests, java_script_enabled=False,
                      viewport={"width": 1280, "height": 900}):
        log_in(page, site)
        page.get_by_label("Error type").select_option("nohost")
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"errortype=nohost"))
        expect(page.locator("table.errors tbody tr td.recipient")).to_have_text(
            "di@nowhere.test")
        page.get_by_role("link", name="di@nowhere.test").click()
        expect(page.locator("ol.timeline > li")).to_have_count(2)
        page.goto(site.url + "/webhooks")
        shot(page, "1-no-javascript")
