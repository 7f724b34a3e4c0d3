"""``/api/docs`` of a real ``bounceloop serve --role web`` over loopback: Swagger UI from the
package, under the UI's Content-Security-Policy. Every file the page refers to is on this
site and served (200); the page has no inline script or style. (tests/web/browser/
test_api_docs.py: the same page in Chromium renders every operation, asks nothing of any
other host and breaks no rule of the policy.)"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bounceloop.web.ui.render import CSP, STATIC
from tests.web.served import Web, serve_fresh


class _Page(HTMLParser):
    """What a page refers to (href, src, and the OpenAPI document of #swagger-ui), and
    anything inline: script text, <style>, style and on* attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.refs += [values[k] for k in ("href", "src", "data-openapi-url") if k in values]
        self.inline += [f"<{tag} {k}>" for k in values if k == "style" or k.startswith("on")]
        if tag == "style":
            self.inline.append("<style>")
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"<script>{data.strip()[:40]}")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    yield from serve_fresh(tmp_path_factory.mktemp("docs"))


def test_the_docs_page_refers_only_to_files_here_and_inlines_nothing(web: Web) -> None:
    status, headers, body = web.fetch("/api/docs")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    page = _Page()
    page.feed(body.decode())
    assert page.inline == []
    assert len(page.refs) == 4, page.refs  # the stylesheet, two scripts, the document
    types = {".css": "text/css", ".js": "javascript", ".json": "application/json"}
    for ref in page.refs:
        parts = urlsplit(ref)
        assert not parts.scheme and not parts.netloc and ref.startswith("/"), ref
        status, headers, content = web.fetch(ref)
        assert status == 200, ref
        assert types[Path(parts.path).suffix] in headers["content-type"], (ref, headers)
        assert content, ref
        if ref.startswith("/static/"):
            assert content == (STATIC / ref.removeprefix("/static/")).read_bytes(), ref
            assert headers["content-security-policy"] == CSP, ref
