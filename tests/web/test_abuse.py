"""The REST API and the UI under abuse, through the real app: bad tokens on every operation,
bodies too large or too deep, and SQL or HTML in every filter.

On both backends, over data written by the real writers (test_ui.seed, and recipients
whose addresses hold the payloads themselves). What is asked:

- a bad token of any shape is a 401, a read token that writes a 403, with a JSON problem
  body; never a 5xx;
- a body too large is a 413 before it is read (served by uvicorn on loopback: the process
  holds a bounded part of a body of any size), a body too deep or not JSON a 400/422;
- a payload in a filter finds exactly the rows whose value is the payload (the Errors
  filters compare whole values, case-insensitively; the suppression search is a substring
  match, where ``%`` and ``_`` are literal), the tables are all there afterwards, and in
  HTML it never comes back as markup.

test_openapi (schemathesis) and test_ui.test_odd_values_never_make_a_500 cover the
generated and the odd values for 5xx; this file checks the results as well.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
import re
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, inspect, select

from bounceloop.config import Settings
from bounceloop.observability.metrics import Metrics
from bounceloop.storage import tokens
from bounceloop.storage.tables import errors, messages, suppressions, webhooks
from bounceloop.testing import free_port
from bounceloop.web.app import create_app
from bounceloop.web.limits import largest_body
from tests.web.conftest import bearer
from tests.web.test_ui import HOSTILE, UNKNOWN, _Writer, add_user, login, recipients, seed

IMG = '"><img src=x onerror=alert(1)>'
#: Recipients whose addresses hold the payloads (each refused 550 5.1.1 at RCPT, so each
#: has an error row and, by the rules, a suppression entry).
LITERAL = ["a%b@dest.test", "a_b@dest.test", "axb@dest.test", '"%"@dest.test',
           '"_"@dest.test', '"\\\\"@dest.test', "\"' OR 1=1 --\"@dest.test",
           '"\\"; DROP TABLE errors; --"@dest.test', '"\\"><img src=x onerror=alert(1)>"@evil.test']
INJECTIONS = ["' OR 1=1 --", '"; DROP TABLE errors; --', "' UNION SELECT recipient FROM "
              "errors --", "%", "_", "\\", "%' --", HOSTILE, IMG]
#: For the filters that take any text: the injections, their stored neighbours, other case,
#: unicode, and too long.
PAYLOADS = [*INJECTIONS, *LITERAL, "A%B@DEST.TEST", "A_B@Dest.Test", "%@dest.test",
            "_@dest.test", "a_b@%", "dest.test", "DEST.test", "_est.test", "%.test",
            "Ünïcödé ☃ 𝔘 \u202e", "x" * 5000]


@dataclass
class World:
    client: TestClient
    ro: dict[str, str]
    rw: dict[str, str]


@pytest.fixture
def world(app: TestClient, engine: Engine) -> World:
    add_user(engine)
    seeded = seed(engine)
    w = _Writer(engine, seeded.now)
    mailing = w.mailing("payloads", ["payloads"])
    for n, rcpt in enumerate(LITERAL):
        w.attempt(w.queue(mailing, rcpt), UNKNOWN, seeded.now + timedelta(minutes=30 + n))
    return World(app, bearer(engine, "read"), bearer(engine, "write"))


def problem(r: Any, *statuses: int) -> Any:
    assert r.status_code in statuses, (r.status_code, r.text[:300])
    assert r.headers["content-type"] == "application/json", r.headers
    body = r.json()
    assert body.get("detail"), body
    return body["detail"]


def counts(engine: Engine) -> dict[str, int]:
    """The tables there are, and the rows of those an injection would aim at."""
    with engine.connect() as conn:
        rows = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (errors, messages, suppressions, webhooks)}
    return {**rows, "tables": len(inspect(engine).get_table_names())}


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------

PATH_VALUES = {"message_id": "abc123", "received_id": "1", "webhook_id": "1",
               "type": "address", "value": "a@b.test", "kind": "errors", "day": "2026-01-01"}


def operations(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every API operation, path parameters filled in."""
    out = []
    for template, item in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        if not template.startswith("/api/"):
            continue
        path = template.format(**PATH_VALUES)
        out += [(method.upper(), path) for method in item]
    return out


def call(client: TestClient, method: str, path: str, headers: dict[str, Any]) -> Any:
    if path.endswith("/import"):
        return client.request(method, path, headers={**headers, "Content-Type": "text/csv"},
                              content=b"email\r\nx@y.test\r\n")
    body = {} if method in ("POST", "PATCH", "PUT") else None
    return client.request(method, path, headers=headers, json=body)


def test_bad_tokens_are_401_and_a_read_token_that_writes_403(app: TestClient,
                                                             engine: Engine) -> None:
    ro = bearer(engine, "read")
    with engine.begin() as conn:
        revoked_id, revoked = tokens.create(conn, "write", "revoked")
        assert tokens.revoke(conn, revoked_id)
    valid = ro["Authorization"].split()[1]
    bad: dict[str, dict[str, Any]] = {
        "missing": {},
        "empty header": {"Authorization": ""},
        "scheme alone": {"Authorization": "Bearer"},
        "empty token": {"Authorization": "Bearer "},
        "another scheme": {"Authorization": "Basic dXNlcjpwdw=="},
        "the token without a scheme": {"Authorization": valid},
        "unknown token": {"Authorization": "Bearer blt_" + "A" * 43},
        "not our prefix": {"Authorization": "Bearer " + "x" * 47},
        "token and more": {"Authorization": f"Bearer {valid} {valid}"},
        "token, one character off": {"Authorization": f"Bearer {valid[:-1]}"
                                     + ("B" if valid[-1] != "B" else "C")},
        "SQL": {"Authorization": "Bearer blt_' OR '1'='1"},
        "100 kB": {"Authorization": "Bearer blt_" + "a" * 100_000},
        "bytes that are not UTF-8": {"Authorization": b"Bearer blt_\xe9\xff\xfe"},
        "revoked": {"Authorization": f"Bearer {revoked}"},
    }
    ops = operations(app)
    assert len(ops) >= 30
    before = counts(engine)
    for method, path in ops:
        for name, headers in bad.items():
            r = call(app, method, path, headers)
            problem(r, 401)
            assert r.headers["www-authenticate"] == "Bearer", (method, path, name)
        writes = method != "GET" and path != "/api/v1/selections"
        if writes:
            assert "may only read" in problem(call(app, method, path, ro), 403), (method, path)
    assert counts(engine) == before


# ---------------------------------------------------------------------------------------------
# Bodies: too large, too deep, not JSON
# ---------------------------------------------------------------------------------------------

MB = 1024 * 1024


def test_large_bodies_are_413_or_422(app: TestClient, engine: Engine,
                                     rw: dict[str, str]) -> None:
    limit = largest_body(Settings())
    hook = app.post("/api/v1/webhooks", headers=rw, json={
        "url": "http://127.0.0.1:9/hook", "triggers": ["failure"]})
    assert hook.status_code == 201, hook.text
    before = counts(engine)
    send = {"from": "news@sender.test", "recipients": [{"email": "a@dest.test"}]}
    cases: list[tuple[str, str, dict[str, Any] | bytes, int]] = [
        # Within the body limit: the operation's own limits.
        ("POST", "/api/v1/messages", {**send, "mime": "Subject: x\r\n\r\n" + "x" * 30 * MB},
         413),
        ("POST", "/api/v1/messages", {**send, "recipients": [
            {"email": f"r{n}@dest.test"} for n in range(10_001)], "subject": "s",
            "text": "t"}, 422),
        ("POST", "/api/v1/messages", {**send, "subject": "s", "text": "t", "recipients": [
            {"email": "a@dest.test", "fields": {"f": "v" * 5 * MB}}]}, 422),
        ("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/x", "triggers": ["failure"],
                                      "tags": ["t" * 5 * MB]}, 422),
        ("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/x", "triggers": ["failure"],
                                      "tags": [f"t{n}" for n in range(500_000)]}, 422),
        ("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/" + "x" * 5 * MB,
                                      "triggers": ["failure"]}, 422),
        ("PATCH", f"/api/v1/webhooks/{hook.json()['id']}", {"tags": ["t" * 201] * 10}, 422),
        ("PATCH", f"/api/v1/webhooks/{hook.json()['id']}", {"description": "d" * 5 * MB}, 422),
        ("POST", "/api/v1/suppressions", {"value": "a" * 5 * MB + "@dest.test"}, 422),
        ("POST", "/api/v1/suppressions", {"value": "a@dest.test", "note": "n" * 5 * MB}, 422),
        ("POST", "/api/v1/suppressions/import", b"email\r\n" + b"a@dest.test\r\n" * (2 * MB),
         413),
        ("POST", "/api/v1/selections", {"mode": "errors", "addresses": [
            f"r{n}@dest.test" for n in range(100_001)]}, 422),
        # Over the body limit: refused before a byte of it is read, whatever the route.
        ("POST", "/api/v1/messages", b"{" + b" " * limit + b"}", 413),
        ("POST", "/api/v1/suppressions/import", b"email\r\n" + b" " * limit, 413),
        ("POST", "/api/v1/webhooks", b"[" * (limit + 1), 413),
    ]
    for method, path, body, status in cases:
        if isinstance(body, bytes):
            r = app.request(method, path, content=body, headers={
                **rw, "Content-Type": "text/csv" if path.endswith("import")
                else "application/json"})
        else:
            r = app.request(method, path, json=body, headers=rw)
        problem(r, status)
        assert len(r.content) < 20 * MB, (path, "the answer quotes the whole body")
    # Nothing of it was kept.
    assert counts(engine) == before
    [kept] = app.get("/api/v1/webhooks", headers=rw).json()
    assert kept["tags"] == [] and kept["description"] == ""


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


#: (method, path, JSON text with DEEP where a deep value goes)
DEEP_TARGETS = [
    ("POST", "/api/v1/messages",
     '{"from": "a@b.test", "subject": "s", "text": "t", "recipients": DEEP}'),
    ("POST", "/api/v1/messages", '{"from": "a@b.test", "subject": "s", "text": "t", '
     '"recipients": [{"email": "c@d.test", "fields": {"x": DEEP}}]}'),
    ("POST", "/api/v1/webhooks", '{"url": "http://127.0.0.1:9/x", "triggers": ["failure"], '
     '"tags": DEEP}'),
    ("PATCH", "/api/v1/webhooks/1", '{"tags": DEEP}'),
    ("POST", "/api/v1/webhooks/1/replay", '{"jobs": DEEP}'),
    ("POST", "/api/v1/suppressions", '{"value": DEEP}'),
    ("POST", "/api/v1/selections", '{"mode": "errors", "addresses": DEEP}'),
]
#: Numbers JSON has not, which Python's reader takes (NUMBER): each was a 500, the 422 that
#: quotes it could not be written.
NOT_FINITE = [
    ("POST", "/api/v1/webhooks", '{"url": "http://127.0.0.1:9/x", "triggers": ["failure"], '
     '"timeout": NUMBER}'),
    ("POST", "/api/v1/suppressions", '{"value": "a@b.test", "days": NUMBER}'),
    ("POST", "/api/v1/selections", '{"mode": "errors", "addresses": [], "days": NUMBER}'),
    ("POST", "/api/v1/webhooks/1/rotate-secret", '{"overlap": NUMBER}'),
    ("POST", "/api/v1/messages", '{"from": "a@b.test", "subject": "s", "text": "t", '
     '"recipients": [{"email": "c@d.test"}], "max_delivery_time": NUMBER}'),
]


def test_deep_odd_and_broken_json_is_400_or_422(app: TestClient, engine: Engine,
                                                rw: dict[str, str]) -> None:
    before = counts(engine)
    headers = {**rw, "Content-Type": "application/json"}
    for method, path, template in DEEP_TARGETS:
        # Around the reader's recursion limit (about 1000), and far past it.
        for depth in (2, 50, 500, 900, 950, 980, 1000, 5000, 100_000):
            body = template.replace("DEEP", nested(depth))
            r = app.request(method, path, content=body.encode(), headers=headers)
            problem(r, 400, 422, 404)
    for method, path, template in NOT_FINITE:
        for number in ("NaN", "Infinity", "-Infinity", "1e999", "-1e999"):
            r = app.request(method, path, content=template.replace("NUMBER", number).encode(),
                            headers=headers)
            detail = problem(r, 422, 404)
            assert r.status_code == 404 or any(str(d["input"]) in ("nan", "inf", "-inf")
                                               for d in detail), (path, number, detail)
    for raw in (b"\xff\xfe\x00{", b"{" * 10, b'{"from": "a@b.test"', b"\x00" * 100,
                b'{"a": ' + b"9" * 5000 + b"}", b'"\\ud800"', b"[]", b"null", b"1"):
        problem(app.post("/api/v1/messages", content=raw, headers=headers), 400, 422)
    assert counts(engine) == before


# ---------------------------------------------------------------------------------------------
# Bodies over a real socket: uvicorn on loopback
# ---------------------------------------------------------------------------------------------

@dataclass
class Live:
    port: int
    server: uvicorn.Server

    def exchange(self, request: bytes, timeout: float = 10) -> bytes:
        """Send ``request`` (whole), read until the server closes or stops talking."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(request)
            return read_answer(s)


def read_answer(s: socket.socket) -> bytes:
    out = b""
    try:
        while chunk := s.recv(65536):
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), None)
                if length is not None and len(body) >= length:
                    break
    except (ConnectionError, TimeoutError):
        pass
    return out


@pytest.fixture
def live(engine: Engine, tmp_path: Path) -> Iterator[Live]:
    """The app served by uvicorn in a thread, with a 1 MiB message size (the body limit is
    then that of the CSV import, 21 MiB)."""
    settings = Settings(database_url="sqlite://", smtp_max_size=MB, spool_dir=tmp_path)
    server = uvicorn.Server(uvicorn.Config(
        create_app(engine, Metrics(), settings), host="127.0.0.1", port=free_port(),
        lifespan="off", log_level="critical", access_log=False))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield Live(server.config.port, server)
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive()


def test_a_body_too_large_is_refused_before_it_is_read(live: Live, engine: Engine) -> None:
    limit = largest_body(Settings(smtp_max_size=MB))
    assert limit == 21 * MB
    # A gigabyte announced, not a byte sent: the 413 comes at once, without a token.
    began = time.monotonic()
    answer = live.exchange(b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 1000000000\r\n"
                           b"\r\n")
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"detail":"the request body is larger than' in answer
    assert time.monotonic() - began < 5
    # 64 MiB streamed without a length (chunked): refused past the limit, and the process
    # holds no more than about the limit of it meanwhile (the whole body was read, parsed
    # and only then answered 401: about 3 times its size).
    chunk = b" " * MB
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        with socket.create_connection(("127.0.0.1", live.port), timeout=10) as s:
            s.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            sent = 0
            try:
                for _ in range(64):
                    s.sendall(b"100000\r\n")
                    s.sendall(chunk)
                    s.sendall(b"\r\n")
                    sent += len(chunk)
                s.sendall(b"0\r\n\r\n")
            except ConnectionError:
                pass
            answer = read_answer(s)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    # The answer is a 413 - or the connection was reset under the sender's feet, which
    # may swallow it; either way the server stopped taking the body.
    assert answer.startswith(b"HTTP/1.1 413 ") or answer == b"", answer[:200]
    assert peak < 2 * limit, (peak, sent)
    # A 100 kB header is the HTTP server's to refuse; and the server goes on.
    answer = live.exchange(b"GET /api/v1/errors HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                           + b"a" * 100_000 + b"\r\n\r\n")
    assert answer == b"" or answer[9:10] == b"4", answer[:200]
    # JSON nested about as deep as the reader goes, in the server's own threads: a 4xx.
    auth = bearer(engine, "write")["Authorization"].encode()
    for depth in range(900, 1001, 5):
        body = b'{"value": ' + b"[" * depth + b"]" * depth + b"}"
        answer = live.exchange(b"POST /api/v1/suppressions HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Type: application/json\r\nConnection: close\r\n"
                               b"Authorization: " + auth + b"\r\n"
                               + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        assert answer[:13] in (b"HTTP/1.1 400 ", b"HTTP/1.1 422 "), (depth, answer[:200])
    health = live.exchange(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert health.startswith(b"HTTP/1.1 200 "), health[:200]


# ---------------------------------------------------------------------------------------------
# Injection in the filters
# ---------------------------------------------------------------------------------------------

def every_error(w: World) -> list[dict[str, Any]]:
    r = w.client.get("/api/v1/errors?limit=1000", headers=w.ro)
    assert r.status_code == 200
    rows: list[dict[str, Any]] = r.json()["errors"]
    assert len(rows) >= 6 + len(LITERAL)
    return rows


def matching(rows: list[dict[str, Any]], name: str, value: str) -> set[int]:
    """The rows the Errors filter ``name`` should find for ``value``: the recipient or its
    domain equal to it, case aside (storage.errorlist)."""
    value = value.strip().lower()
    if name == "recipient":
        return {r["id"] for r in rows if r["recipient"].lower() == value}
    return {r["id"] for r in rows if (r["domain"] or "") == value}


#: The Errors filters that take any text (up to a length), and those that take one of a set.
#: The scripts the layout loads; any other <script> in a page is a payload come to life.
OUR_SCRIPTS = ("/static/htmx.min.js", "/static/history.js")
TEXT_FILTERS = {"recipient": 320, "domain": 255}
CHOICE_FILTERS = ["mailing", "errortype", "step", "state", "severity", "reason", "code",
                  "since", "until", "sort", "order"]
API_ONLY = ["after", "start", "limit", "history"]


def test_the_api_filters_match_payloads_literally(world: World, engine: Engine) -> None:
    before = counts(engine)
    rows = every_error(world)
    client, ro = world.client, world.ro
    found_some = 0
    for name, longest in TEXT_FILTERS.items():
        for payload in PAYLOADS:
            for path in ("/api/v1/errors", "/api/v1/errors/export"):
                r = client.get(path, params={name: payload, "limit": 1000,
                                             "format": "json"}, headers=ro)
                if len(payload.strip()) > longest:
                    problem(r, 422)
                    continue
                assert r.status_code == 200, (path, name, payload, r.text[:300])
                got = r.json()["errors"] if path.endswith("errors") else r.json()
                want = matching(rows, name, payload)
                assert {e["id"] for e in got} == want, (path, name, payload)
                found_some += bool(want)
    # The payloads stored as addresses are found (each exactly once, case aside), and the
    # wildcards among them match only themselves.
    assert found_some >= 2 * (len(LITERAL) + 2)
    for name in CHOICE_FILTERS + API_ONLY:
        for payload in INJECTIONS:
            for path in ("/api/v1/errors", "/api/v1/errors/export"):
                if path.endswith("export") and name in API_ONLY:
                    continue
                r = client.get(path, params={name: payload, "format": "json"}, headers=ro)
                if r.status_code == 200:  # a well-formed value (reason=_) that no row has
                    got = r.json()["errors"] if path.endswith("errors") else r.json()
                    assert got == [], (path, name, payload)
                else:
                    problem(r, 400, 422)
    assert counts(engine) == before


class Markup(HTMLParser):
    """What a page would run or load: script elements, event handler attributes, images."""

    def __init__(self) -> None:
        super().__init__()
        self.active: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith(
                    "javascript:"):
                self.active.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and dict(attrs).get("src") not in OUR_SCRIPTS:
            self.active.append(f"<script {attrs}>")
        if tag in ("img", "iframe", "object", "embed"):
            self.active.append(f"<{tag} {attrs}>")


def assert_inert(html: str, where: Any) -> None:
    """No payload came back as markup: none of its tags or handlers parse as such."""
    lowered = html.lower()
    for raw in ("<script>alert(1)", "<img src=x", "onerror=alert(1)>"):
        assert raw not in lowered, (where, raw)
    parser = Markup()
    parser.feed(html)
    assert not parser.active, (where, parser.active)


def test_the_ui_filters_match_payloads_literally_and_escape_them(world: World,
                                                                engine: Engine) -> None:
    before = counts(engine)
    rows = every_error(world)
    by_id = {r["id"]: r["recipient"] for r in rows}
    client = world.client
    assert login(client).status_code == 303
    for name, longest in TEXT_FILTERS.items():
        for payload in PAYLOADS:
            want = sorted(by_id[i] for i in matching(rows, name, payload))
            page = client.get("/errors", params={name: payload, "limit": 500})
            export = client.get("/errors/export.csv", params={name: payload})
            if len(payload.strip()) > longest:
                assert (page.status_code, export.status_code) == (400, 400), payload
                assert_inert(page.text, (name, payload))
                continue
            assert page.status_code == 200, (name, payload, page.text[-300:])
            assert_inert(page.text, (name, payload))
            assert sorted(recipients(page.text)) == want, (name, payload)
            assert export.status_code == 200
            assert sorted(row["recipient"] for row in csv.DictReader(
                io.StringIO(export.text))) == want, (name, payload)
    for payload in [*INJECTIONS, "x" * 5000]:
        for path, names in [("/errors", [*CHOICE_FILTERS, "start", "limit"]),
                            ("/errors/export.csv", CHOICE_FILTERS),
                            ("/statistics", ["mailing", "since", "until"]),
                            ("/suppressions", ["type", "source", "start", "limit"])]:
            for name in names:
                r = client.get(path, params={name: payload})
                assert r.status_code in (200, 400), (path, name, payload, r.status_code)
                assert_inert(r.text, (path, name, payload))
                if r.status_code == 200:  # a well-formed value (reason=_) that no row has
                    found: list[Any] = recipients(r.text) if path == "/errors" else \
                        list(csv.DictReader(io.StringIO(r.text)))
                    assert path.startswith("/errors") and found == [], (path, name, payload)
        for path in (f"/messages/{quote(payload, safe='')}",
                     f"/bounces/{quote(payload, safe='')}",
                     f"/webhooks/{quote(payload, safe='')}"):
            r = client.get(path)
            assert r.status_code in (400, 404, 422), (path, r.status_code)
            assert_inert(r.text, path)
    assert counts(engine) == before


def every_suppression(w: World) -> list[dict[str, Any]]:
    r = w.client.get("/api/v1/suppressions?limit=1000", headers=w.ro)
    assert r.status_code == 200
    items: list[dict[str, Any]] = r.json()["items"]
    assert len(items) >= len(LITERAL)
    return items


_LISTED = re.compile(r'<td class="recipient"><a href="[^"]*">([^<]*)</a></td>')


def listed(page: str) -> list[str]:
    """The values the UI's suppression list shows."""
    return [html.unescape(v) for v in _LISTED.findall(page)]


def test_the_suppression_search_is_a_literal_substring(world: World, engine: Engine) -> None:
    before = counts(engine)
    entries = every_suppression(world)
    client, ro = world.client, world.ro
    assert login(client).status_code == 303
    found_some = 0
    for payload in PAYLOADS:
        r = client.get("/api/v1/suppressions", params={"search": payload, "limit": 1000},
                       headers=ro)
        page = client.get("/suppressions", params={"search": payload, "limit": 1000})
        if len(payload.strip()) > 320:
            problem(r, 422)
            assert page.status_code == 400
            assert_inert(page.text, payload)
            continue
        # A substring of the value, case aside; % _ and \ are characters like any other.
        want = {e["value"] for e in entries if payload.lower() in e["value"]}
        assert r.status_code == 200, (payload, r.text[:300])
        assert {e["value"] for e in r.json()["items"]} == want, payload
        assert r.json()["total"] == len(want)
        found_some += bool(want)
        assert page.status_code == 200
        assert_inert(page.text, payload)
        assert set(listed(page.text)) == want, payload
        # The equality filters and the lookups by value: nothing but the value itself.
        for params in ({"reason": payload[:32]}, {"sender": payload[:320]}):
            r = client.get("/api/v1/suppressions", params=params, headers=ro)
            assert r.status_code == 200, (params, r.text[:300])
            key, value = next(iter(params.items()))
            assert {e["value"] for e in r.json()["items"]} == {
                e["value"] for e in entries if e[key] == (value.strip() if key == "reason"
                                                          else value.lower())}, params
        history = client.get("/api/v1/suppressions/history", params={"value": payload},
                             headers=ro)
        assert history.status_code == 200
        assert {h["value"] for h in history.json()} <= {payload.lower()}
        one = client.get(f"/api/v1/suppressions/address/{quote(payload, safe='')}",
                         headers=ro)
        assert one.status_code in (200, 404, 422), (payload, one.status_code)
        if one.status_code == 200:
            assert one.json()["value"] == payload.lower()
        check = client.get("/api/v1/suppressions/check", params={"address": payload},
                           headers=ro)
        assert check.status_code in (200, 400), (payload, check.status_code)
        entry = client.get("/suppressions/entry", params={"value": payload})
        assert entry.status_code in (200, 400), (payload, entry.status_code)
        assert_inert(entry.text, payload)
    assert found_some >= len(LITERAL)
    assert counts(engine) == before


def test_logs_ids_and_formats_refuse_payloads(world: World, engine: Engine) -> None:
    before = counts(engine)
    client, ro = world.client, world.ro
    for payload in [*INJECTIONS, "x" * 5000]:
        p = quote(payload, safe="")
        for path in (f"/api/v1/logs/{p}/2026-01-01", f"/api/v1/logs/errors/{p}",
                     f"/api/v1/logs/errors/2026-01-01?format={p}",
                     f"/api/v1/errors/export?format={p}", f"/api/v1/messages/{p}",
                     f"/api/v1/bounces/{p}", f"/api/v1/bounces/{p}/raw",
                     f"/api/v1/webhooks/{p}", f"/api/v1/statistics?since={p}",
                     f"/api/v1/statistics?mailing={p}", f"/api/v1/mailings?limit={p}"):
            problem(client.get(path, headers=ro), 404, 422)
    assert counts(engine) == before
    # The tables are all there, and answer.
    for path in ("/api/v1/errors", "/api/v1/suppressions", "/api/v1/mailings",
                 "/api/v1/webhooks", "/api/v1/statistics"):
        assert client.get(path, headers=ro).status_code == 200, path
    assert json.loads(client.get("/health").text)["status"] == "ok"
