"""Browser fixtures: the UI in headless Chromium, driven by Playwright's sync API.

    chromium              session: a Browser, Debian's /usr/bin/chromium launched headless
    no_external_requests  per test: the URLs of blocked requests (a page may only talk to
                          loopback); the test fails at teardown if any was attempted
    page                  per test: a page in a fresh context, viewport 1280x900
    phone_page            per test: the same as a phone: 390x844, mobile, touch
    shot                  per test: shot(page, name) saves a full-page PNG to
                          test-output/screenshots/<test>-<name>.png under the repo root
                          (BOUNCELOOP_TEST_OUTPUT names another folder) and returns its path

Playwright cannot download its own browsers here, so it launches the Debian package
(packages/debian-test.txt) by path. No --no-sandbox of ours: Playwright passes it unless
chromium_sandbox=True, and the sandbox cannot start as root (in CI and containers). Pages
may only talk to loopback: other requests are aborted and fail the test, and Chromium
resolves no other host name (ARGS).

Write browser tests as plain ``def`` tests, without async fixtures: the sync API refuses to
run inside a running asyncio loop, which is what an ``async def`` test is.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, WebSocketRoute, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[3]
TIMEOUT_MS = 10_000  # not Playwright's 30 s: everything is on loopback
# Chromium's own services (component updates: update.googleapis.com, sign-in:
# accounts.google.com) look names up by themselves, past any page route: no name resolves
# but loopback ones. IP literals pass the rules too, hence 127.* and ::1.
ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE *.localhost, "
        "EXCLUDE 127.*, EXCLUDE ::1"]


# Between two calls the sync API leaves its event loop marked as the thread's running loop
# (wait_for_future in playwright/_impl/_greenlets.py). A session-long Playwright would then
# fail every later async test and asyncio.run() of the session with "Cannot run the event
# loop while another loop is running". So the mark is lifted after each browser test and put
# back before the next one, and before the session's Playwright stops.
_loops: list[asyncio.AbstractEventLoop] = []


def _resume() -> None:
    if _loops and asyncio._get_running_loop() is None:
        asyncio._set_running_loop(_loops[0])


def _pause() -> None:
    if _loops and asyncio._get_running_loop() is _loops[0]:
        asyncio._set_running_loop(None)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: browser tests need the Debian package chromium "
                    "(packages/debian-test.txt, installed by scripts/setup test)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS,
                                     chromium_sandbox=False)
        loop = asyncio._get_running_loop()
        assert loop is not None, "Playwright's sync API no longer marks its loop running"
        _loops.append(loop)
        try:
            yield browser
        finally:
            _resume()
            browser.close()
    _loops.clear()


@pytest.fixture(autouse=True)
def _playwright_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    # Session fixtures are set up first: on the first browser test the loop is marked already.
    if "chromium" in request.fixturenames:
        _resume()
    yield
    _pause()


def local(url: str) -> bool:
    """Is this URL's host on loopback (127.0.0.0/8, ::1, localhost)?"""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture
def no_external_requests() -> Iterator[list[str]]:
    """Filled by the pages' routes; a test that provokes a blocked request on purpose
    checks the list and clears it."""
    blocked: list[str] = []
    yield blocked
    if blocked:
        pytest.fail("the page tried to reach beyond loopback (aborted): " + ", ".join(blocked),
                    pytrace=False)


def _open(browser: Browser, blocked: list[str], **options: Any) -> Iterator[Page]:
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)

    def guard(route: Route) -> None:
        if local(route.request.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("blockedbyclient")

    def guard_socket(ws: WebSocketRoute) -> None:
        if local(ws.url):
            ws.connect_to_server()
        else:
            blocked.append(ws.url)
            ws.close()

    context.route("**/*", guard)
    context.route_web_socket(re.compile(".*"), guard_socket)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(chromium: Browser, no_external_requests: list[str]) -> Iterator[Page]:
    yield from _open(chromium, no_external_requests, viewport={"width": 1280, "height": 900})


@pytest.fixture
def phone_page(chromium: Browser, no_external_requests: list[str]) -> Iterator[Page]:
    yield from _open(chromium, no_external_requests, viewport={"width": 390, "height": 844},
                     is_mobile=True, has_touch=True)


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    folder = ROOT / os.environ.get("BOUNCELOOP_TEST_OUTPUT", "test-output") / "screenshots"
    test = _safe(request.node.name)

    def take(page: Page, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{test}-{_safe(name)}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take


def _safe(name: str) -> str:
    """A file name part: parametrized ids (``test_x[sqlite-a/b]``) keep letters, digits,
    dots and dashes."""
    return re.sub(r"[^\w.-]+", "_", name).strip("_")
