"""The browser test kit itself: Chromium opens a page served on loopback, screenshots land
on disk, requests beyond loopback are blocked and reported, and asyncio still runs between
browser tests."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.web.browser.conftest import local

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>infra</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>bounceloop &amp; Chromium</h1>
<p id="agent"></p>
<script>document.getElementById("agent").textContent = navigator.userAgent;</script>
</body></html>
"""

LEAKY = """<!doctype html><title>leaky</title><h1>leaky</h1>
<img src="http://example.invalid/pixel.png">
<script>
fetch("https://example.invalid/api").catch(() => { document.body.dataset.refused = "yes"; });
new WebSocket("wss://example.invalid/live").onclose = () => {
  document.body.dataset.closed = "yes";
};
</script>
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # no access log on stderr
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """A few static pages on 127.0.0.1, served by a thread; the base URL."""
    (tmp_path / "index.html").write_text(PAGE)
    (tmp_path / "leaky.html").write_text(LEAKY)
    (tmp_path / "favicon.ico").write_bytes(b"")
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_page_heading_and_screenshot(page: Page, site: str,
                                     shot: Callable[[Page, str], Path]) -> None:
    page.goto(f"{site}/index.html")
    assert page.locator("h1").inner_text() == "bounceloop & Chromium"
    assert "HeadlessChrome" in page.locator("#agent").inner_text()
    assert page.viewport_size == {"width": 1280, "height": 900}
    path = shot(page, "home")
    assert path.name == "test_page_heading_and_screenshot-home.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_phone_page(phone_page: Page, site: str, shot: Callable[[Page, str], Path]) -> None:
    phone_page.goto(f"{site}/index.html")
    assert phone_page.evaluate("window.innerWidth") == 390
    assert phone_page.evaluate("navigator.maxTouchPoints") > 0
    assert shot(phone_page, "home").stat().st_size > 0


def test_external_requests_are_blocked(page: Page, site: str,
                                       no_external_requests: list[str]) -> None:
    page.goto(f"{site}/leaky.html")
    # fetch() rejected and the socket closed: both went through the routes
    page.wait_for_selector("body[data-refused=yes][data-closed=yes]", state="attached")
    assert sorted(no_external_requests) == ["http://example.invalid/pixel.png",
                                            "https://example.invalid/api",
                                            "wss://example.invalid/live"]
    no_external_requests.clear()  # seen and expected: do not fail this test at teardown


# Both run after the browser tests above (file order), with the session's Playwright alive.
async def test_async_test_after_browser_tests() -> None:
    await asyncio.sleep(0)


def test_asyncio_run_after_browser_tests() -> None:
    assert asyncio.run(asyncio.sleep(0, result="ran")) == "ran"


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:8000/x", True),
    ("http://127.5.6.7/", True),
    ("http://localhost:5000/", True),
    ("ws://[::1]:9000/socket", True),
    ("http://example.invalid/", False),
    ("https://10.0.0.1/", False),
    ("http://127.0.0.1.example.com/", False),
    ("data:text/plain,hi", False),
])
def test_local(url: str, expected: bool) -> None:
    assert local(url) is expected
