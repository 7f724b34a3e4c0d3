"""The OpenAPI document says what the API does: schemathesis drives every operation of the
real app, served by uvicorn on 127.0.0.1, with requests generated from the document.

For every operation, with a write token and with a read token, over a database seeded by
the real writers (test_reports_api.World) and on both backends:

- no answer is a 5xx;
- every status is documented for the operation (``responses=``, web.common.problems);
- every content type is documented, and every JSON body conforms to its schema;
- a request without a token, or with a bad one, is a 401; a read token that writes, 403.

Cases come from the document (schemathesis's positive and negative modes), plus positive
cases whose path names things that exist (a message, a bounce, a webhook, a suppression),
so the 200s are exercised as well as the 404s. Deterministic (``derandomize``) and bounded:
a few hundred cases, some seconds per backend. Webhook URLs the generator makes up are
resolved by a FakeDNS on loopback (it knows no name), never by the system's resolver.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from bounceloop.observability.metrics import Metrics
from bounceloop.testing import FakeDNS, closed_port, free_port
from bounceloop.web.app import create_app
from tests.web.conftest import bearer
from tests.web.test_reports_api import World
from tests.web.test_reports_api import settings as app_settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
#: Cases per operation: generated from the document, positive and negative, and positive
#: ones about things that exist.
POSITIVE, NEGATIVE, KNOWN = 6, 4, 4
#: OPENAPI_FUZZ=N in the environment: N times as many cases, random ones (to explore; the
#: default run is fixed and quick).
FUZZ = int(os.environ.get("OPENAPI_FUZZ", "0"))
#: Operations that change nothing, whatever their method.
READ_ONLY_POSTS = {"POST /api/v1/selections"}


@dataclass
class Live:
    """The app served by uvicorn in a thread of its own (with a FakeDNS in its loop)."""

    base: str
    server: uvicorn.Server
    thread: threading.Thread
    known: dict[str, Any] = field(default_factory=dict)
    """Path parameters naming things that exist."""


def serve(engine: Engine, tmp_path: Path) -> Iterator[Live]:
    port = free_port()
    ready = threading.Event()
    servers: list[uvicorn.Server] = []
    failed: list[BaseException] = []

    async def main() -> None:
        async with FakeDNS({}) as dns:
            s = app_settings(tmp_path, dns_servers=[f"{dns.host}:{dns.port}"],
                             dns_timeout=1.0)
            server = uvicorn.Server(uvicorn.Config(
                create_app(engine, Metrics(), s), host="127.0.0.1", port=port,
                lifespan="off", log_level="warning", access_log=False))
            servers.append(server)
            task = asyncio.create_task(server.serve())
            while not server.started and not task.done():
                await asyncio.sleep(0.01)
            ready.set()
            await task

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by the fixture
            failed.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="uvicorn", daemon=True)
    thread.start()
    assert ready.wait(30), "uvicorn did not start"
    if failed or not servers or not servers[0].started:
        raise AssertionError(f"uvicorn did not start: {failed}")
    live = Live(f"http://127.0.0.1:{port}", servers[0], thread)
    try:
        yield live
    finally:
        live.server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "uvicorn did not stop"
        assert not failed, failed


@pytest.fixture
def live(engine: Engine, tmp_path: Path) -> Iterator[Live]:
    rw = bearer(engine, "write")
    with TestClient(create_app(engine, Metrics(), app_settings(tmp_path))) as client:
        world = World(engine, client, rw).seed()
        hook = client.post("/api/v1/webhooks", headers=rw, json={
            "url": f"http://127.0.0.1:{closed_port()}/hook", "triggers": ["failure"]})
        assert hook.status_code == 201, hook.text
    for live in serve(engine, tmp_path):
        live.known = {"message_id": world.id["fay@dest.test"],
                      "received_id": world.received["dsn"], "webhook_id": hook.json()["id"],
                      "type": "address", "value": "bob@dest.test",
                      "day": world.now.date().isoformat()}
        yield live


def fetch(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200
        assert r.headers["content-type"] == "application/json"
        return json.loads(r.read())


def test_the_document_describes_the_app(live: Live, engine: Engine) -> None:
    document = fetch(live.base + "/api/openapi.json")
    assert document["openapi"].startswith("3.")
    schema = schemathesis.openapi.from_dict(document)
    schema.validate()
    tokens = {"write": bearer(engine, "write"), "read": bearer(engine, "read")}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 35
    # Removals last: what they remove, the other operations still find.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    failures: dict[str, str] = {}
    cases = 0
    for op in operations:
        raw = document["paths"][op.path][op.method.lower()]
        secured = bool(raw.get("security"))
        assert secured == op.path.startswith("/api/"), op.label
        writes = op.method.upper() != "GET" and op.label not in READ_ONLY_POSTS
        check = Exercise(live.base, tokens, secured, writes)
        runs: list[tuple[GenerationMode, int, dict[str, Any] | None]] = [
            (GenerationMode.POSITIVE, POSITIVE, None)]
        known = {p.name: live.known[p.name] for p in op.path_parameters
                 if p.name in live.known}
        if known:
            runs.append((GenerationMode.POSITIVE, KNOWN, known))
        if raw.get("parameters") or raw.get("requestBody"):
            runs.append((GenerationMode.NEGATIVE, NEGATIVE, None))
        for mode, n, path in runs:
            try:
                run(op.as_strategy(generation_mode=mode, path_parameters=path), n, check)
            except (Exception, BaseExceptionGroup) as exc:
                failures.setdefault(op.label, f"{mode.value}: {exc}")
        cases += check.cases
    assert not failures, "\n\n".join(f"== {label}\n{text}" for label, text in
                                     failures.items())
    assert cases >= 300


@dataclass
class Exercise:
    """What one generated case must satisfy, asked of the live server."""

    base: str
    tokens: dict[str, dict[str, str]]
    secured: bool
    writes: bool
    cases: int = 0

    def __call__(self, case: schemathesis.Case) -> None:
        self.cases += 1
        positive = case.meta is None or case.meta.generation.mode.is_positive
        if self.secured:
            self.unauthenticated(case, positive)
        for scope in ("read", "write"):
            headers = self.tokens[scope]
            response = case.call(base_url=self.base, headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)
            if scope == "read" and positive:
                if self.writes:
                    assert response.status_code == 403, (case.operation.label,
                                                         response.status_code)
                else:
                    assert response.status_code != 403, case.operation.label
            if response.status_code >= 400:
                assert "detail" in response.json(), response.text

    def unauthenticated(self, case: schemathesis.Case, positive: bool) -> None:
        """No token, or not a valid one: 401, before anything else is looked at (but a
        body that cannot be read at all, which is refused first)."""
        headers = {k: v for k, v in (case.headers or {}).items()
                   if k.lower() != "authorization"}
        tries: list[dict[str, str]] = [{}]
        if positive:
            tries.append({"Authorization": "Bearer blt_not-a-token"})
        for extra in tries:
            case.headers = {**headers, **extra}
            response = case.call(base_url=self.base)
            case.validate_response(response, checks=CHECKS)
            allowed = {401} if positive else {400, 401, 422}
            assert response.status_code in allowed, (case.operation.label, extra,
                                                     response.status_code, response.text)
            assert "detail" in response.json()
        case.headers = headers


def run(strategy: Any, examples: int, check: Callable[[schemathesis.Case], None]) -> None:
    @settings(max_examples=examples * max(FUZZ, 1), deadline=None, database=None,
              derandomize=not FUZZ,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def exercise(case: schemathesis.Case) -> None:
        check(case)

    exercise()


BIG = 2**63
#: Requests whose values no database column takes - NUL, lone surrogates, numbers past the
#: column, times past the calendar - with the answer each gets, one router after the
#: other: (method, path, the path's template, JSON body or raw bytes, status).
UNSTORABLE: list[tuple[str, str, str, Any, int]] = [
    ("GET", "/api/v1/errors?recipient=a%00@b.test", "/api/v1/errors", None, 422),
    ("GET", f"/api/v1/errors?after={2**31}", "/api/v1/errors", None, 422),
    ("GET", "/api/v1/errors/export?until=9999-12-31T23:00:00-02:00", "/api/v1/errors/export",
     None, 400),
    ("GET", "/api/v1/statistics?until=9999-12-31", "/api/v1/statistics", None, 400),
    ("GET", "/api/v1/logs/errors/9999-12-31", "/api/v1/logs/{kind}/{day}", None, 400),
    ("GET", f"/api/v1/bounces/{BIG}/raw", "/api/v1/bounces/{received_id}/raw", None, 422),
    ("POST", "/api/v1/messages", "/api/v1/messages",
     b'{"from": "a@b.test", "recipients": [{"email": "c@d.test"}], "subject": "s", '
     b'"text": "\\ud800"}', 422),
    ("GET", "/api/v1/suppressions?search=a%00", "/api/v1/suppressions", None, 422),
    ("GET", f"/api/v1/suppressions?start={BIG}", "/api/v1/suppressions", None, 422),
    ("GET", "/api/v1/suppressions/history?value=%00", "/api/v1/suppressions/history", None,
     422),
    ("GET", f"/api/v1/suppressions/history?start={BIG}", "/api/v1/suppressions/history",
     None, 422),
    ("GET", "/api/v1/suppressions/address/a%00@b.test", "/api/v1/suppressions/{type}/{value}",
     None, 422),
    ("DELETE", "/api/v1/suppressions/address/a%00@b.test?note=x",
     "/api/v1/suppressions/{type}/{value}", None, 422),
    ("POST", "/api/v1/suppressions", "/api/v1/suppressions",
     {"value": "a@b.test", "note": "\x00"}, 422),
    ("POST", "/api/v1/suppressions", "/api/v1/suppressions", {"value": "a@b.test", "days": 1e300},
     422),
    ("POST", "/api/v1/suppressions", "/api/v1/suppressions",
     {"value": "a@b.test", "expires_at": "9999-12-31T23:00:00-02:00"}, 400),
    ("POST", "/api/v1/suppressions", "/api/v1/suppressions", b'{"value": "\\ud800@b.test"}',
     422),
    ("POST", "/api/v1/suppressions/import", "/api/v1/suppressions/import",
     b"email\r\na\x00@b.test\r\n", 400),
    ("POST", "/api/v1/selections", "/api/v1/selections",
     {"mode": "errors", "addresses": [], "days": 1e300}, 422),
    ("POST", "/api/v1/selections", "/api/v1/selections",
     {"mode": "errors", "addresses": ["a\x00@b.test"]}, 422),
    ("POST", "/api/v1/selections", "/api/v1/selections",
     {"mode": "errors", "addresses": [], "mailing": 2**31}, 422),
    ("POST", "/api/v1/selections", "/api/v1/selections",
     {"mode": "errors", "addresses": [], "until": "9999-12-31T23:00:00-02:00"}, 400),
    ("GET", f"/api/v1/webhooks/{2**31}", "/api/v1/webhooks/{webhook_id}", None, 422),
    ("PATCH", f"/api/v1/webhooks/{2**31}", "/api/v1/webhooks/{webhook_id}",
     {"description": "x"}, 422),
    ("POST", "/api/v1/webhooks", "/api/v1/webhooks",
     {"url": "http://127.0.0.1/", "triggers": ["failure"], "description": "\x00"}, 422),
    ("POST", "/api/v1/webhooks", "/api/v1/webhooks",
     {"url": "http://127.0.0.1/", "triggers": ["failure"], "mailing": 2**31}, 422),
    ("POST", "/api/v1/webhooks/1/rotate-secret", "/api/v1/webhooks/{webhook_id}/rotate-secret",
     {"overlap": 1e300}, 422),
    ("POST", "/api/v1/webhooks/1/replay", "/api/v1/webhooks/{webhook_id}/replay",
     {"jobs": [BIG]}, 422),
    ("GET", "/api/v1/webhook-failures?since=0001-01-01T00:00:00%2B01:00",
     "/api/v1/webhook-failures", None, 400),
]


def test_what_no_column_takes_is_a_documented_4xx(engine: Engine, tmp_path: Path) -> None:
    """Each of these was a 500 (the driver, the database or the mail library failing) -
    on PostgreSQL only for NUL, where SQLite stores it."""
    rw = bearer(engine, "write")
    app = create_app(engine, Metrics(), app_settings(tmp_path))
    document = app.openapi()
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path, template, body, status in UNSTORABLE:
            if isinstance(body, bytes):
                r = client.request(method, path, content=body, headers={
                    **rw, "Content-Type": "application/json"})
            else:
                r = client.request(method, path, json=body, headers=rw)
            assert r.status_code == status, (method, path, r.text)
            assert str(status) in document["paths"][template][method.lower()]["responses"]
            assert r.headers["content-type"] == "application/json"
            assert r.content.isascii() and "detail" in r.json()
