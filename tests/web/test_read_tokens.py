"""What a read token may do, and that docs/api.md says so: every GET, and the one POST that
writes nothing (``/api/v1/selections``: its list comes in the body); on both backends."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from bounceloop.storage.tables import metadata
from tests.web.test_abuse import call, operations
from tests.web.test_suppressions_api import seed_errors

API = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _readme_allows() -> set[str]:
    """The operations other than GET docs/api.md lets a read token call."""
    text = " ".join(API.read_text().split())
    found = re.search(r"A read token may only read: every GET(.*?); anything else gets 403",
                      text)
    assert found, "docs/api.md no longer says what a read token may do"
    return set(re.findall(r"`((?:POST|PUT|PATCH|DELETE) /api/\S+)`", found.group(1)))


def test_the_readme_names_every_call_but_get_a_read_token_may_make(app: TestClient,
                                                                   ro: dict[str, str]
                                                                   ) -> None:
    allowed = {f"{method} {path}" for method, path in operations(app)
               if method != "GET" and call(app, method, path, ro).status_code != 403}
    assert allowed == _readme_allows()
    assert allowed  # the page names at least the selections, so the search is not empty


def _everything(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table, as text, in a stable order."""
    with engine.connect() as conn:
        return {t.name: sorted(repr(tuple(row)) for row in conn.execute(select(t)))
                for t in metadata.sorted_tables}


def test_a_selection_with_a_read_token_writes_nothing(app: TestClient, ro: dict[str, str],
                                                      rw: dict[str, str],
                                                      engine: Engine) -> None:
    seed_errors(engine)
    assert app.post("/api/v1/suppressions", headers=rw,
                    json={"value": "eve@x.test"}).status_code == 201
    before = _everything(engine)
    assert before["errors"] and before["suppressions"] and before["api_tokens"]
    people = ["ann@x.test", "BOB@x.test", "cy@x.test", "di@x.test", "eve@x.test", "oops"]
    bodies: list[dict[str, Any]] = [
        {"mode": "no-errors", "addresses": people, "not_suppressed": True},
        {"mode": "errors", "addresses": people, "count": ">1", "days": 10},
        {"mode": "no-errors", "csv": "Name;Email\r\nAnn;ann@x.test\r\nEve;eve@x.test\r\n",
         "not_suppressed": True, "sender": "news@x.test"},
    ]
    for body in bodies:
        r = app.post("/api/v1/selections", headers=ro, json=body)
        assert r.status_code == 200, r.text
    assert _everything(engine) == before
