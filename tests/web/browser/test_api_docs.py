"""``/api/docs`` in headless Chromium, against a real ``bounceloop serve --role web`` on
127.0.0.1: Swagger UI renders every operation of the OpenAPI document, no request leaves
the server (each is recorded; the page fixture aborts any to another host and fails the
test) and nothing breaks the Content-Security-Policy (violations are caught as events in
the page and as console errors)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.web.served import Web, serve_fresh

Shot = Callable[[Page, str], Path]
#: Installed before any script of the page runs: every CSP violation, in order.
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def until(page: Page, expression: str, timeout: float = 30.0) -> None:
    """Wait until ``expression`` is true in the page. Not ``page.wait_for_function``: after
    its first try it evaluates the expression from a timer in the page, where our
    Content-Security-Policy (no 'unsafe-eval') forbids it, so a condition that is not true
    at once fails with an EvalError. Each ``page.evaluate`` here runs from the driver."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(50)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    yield from serve_fresh(tmp_path_factory.mktemp("docs"))


def test_swagger_ui_renders_every_operation_from_here_alone(page: Page, web: Web,
                                                            shot: Shot) -> None:
    status, body = web.get("/api/openapi.json")
    assert status == 200
    operations = {(method.upper(), path) for path, item in json.loads(body)["paths"].items()
                  for method in item}
    assert len(operations) >= 30
    site = f"http://{web.host}:{web.port}"
    requests: list[str] = []
    errors: list[str] = []

    def console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(msg.text)

    page.on("request", lambda request: requests.append(request.url))
    page.on("console", console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.add_init_script(WATCH_CSP)
    page.goto(site + "/api/docs")
    # Every operation, under each of its tags (one of them has two).
    until(page, f"document.querySelectorAll('.opblock').length >= {len(operations)}")
    shown = page.evaluate("""() => [...document.querySelectorAll(".opblock")].map(b => [
        b.querySelector(".opblock-summary-method").textContent,
        b.querySelector("[data-path]").dataset.path])""")
    assert {(method, path) for method, path in shown} == operations
    # Open one: its parameters and request body render too (syntax highlighting included).
    selections = page.locator(".opblock-post", has=page.locator(
        '[data-path="/api/v1/selections"]')).first
    selections.locator(".opblock-summary").click()
    expect(selections.locator(".opblock-body")).to_be_visible()
    expect(selections.get_by_text("Request body")).to_be_visible()
    page.wait_for_load_state("networkidle")
    shot(page, "api-docs")
    assert page.evaluate("window.__violations") == []
    assert errors == []
    assert requests and all(urlsplit(url).netloc == urlsplit(site).netloc
                            for url in requests), requests
    assert site + "/static/swagger-ui/swagger-ui-bundle.js" in requests
    assert site + "/api/openapi.json" in requests


def test_a_violation_would_be_seen(page: Page, web: Web) -> None:
    """The watch above can fail: an inline script, which the policy forbids, is caught."""
    page.add_init_script(WATCH_CSP)
    page.goto(f"http://{web.host}:{web.port}/api/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    page.evaluate("""() => {
        const s = document.createElement("script");
        s.textContent = "window.__ran = true";
        document.body.appendChild(s);
    }""")
    until(page, "window.__violations.length > 0")
    assert page.evaluate("window.__ran === undefined")
    assert page.evaluate("window.__violations")[0].startswith("script-src")
