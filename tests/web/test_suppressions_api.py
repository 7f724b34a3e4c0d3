"""``/api/v1/suppressions`` and ``/api/v1/selections``: every endpoint, bad input and auth,
on both databases."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from bounceloop.storage.engine import utcnow
from bounceloop.storage.tables import errors
from tests.web.conftest import bearer


def seed_errors(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(errors), [{
            "timestamp": now - timedelta(days=d), "recipient": rcpt, "domain": "x.test",
            "code": code, "extended": ext, "description": "", "errortype": "mailerror",
            "step": 4, "state": "rcptto", "severity": sev, "reason": reason,
            "hardbounce": False, "current": True}
            for d, rcpt, code, ext, sev, reason in [
                (1, "Ann@X.test", "550", "5.1.1", "hard", "userunknown"),
                (2, "ann@x.test", "550", "5.1.1", "hard", "userunknown"),
                (3, "bob@x.test", "452", "4.2.2", "soft", "mailboxfull"),
                (4, "cy@x.test", "554", "5.7.1", "hard", "blocked")]])


def test_auth(app: TestClient, engine: Engine) -> None:
    assert app.get("/api/v1/suppressions").status_code == 401
    assert app.post("/api/v1/selections", json={"mode": "errors", "addresses": []}
                    ).status_code == 401
    ro = bearer(engine, "read")
    assert app.get("/api/v1/suppressions", headers=ro).status_code == 200
    assert app.post("/api/v1/selections", json={"mode": "errors", "addresses": []},
                    headers=ro).status_code == 200
    for method, path in [("POST", "/api/v1/suppressions"),
                         ("POST", "/api/v1/suppressions/import"),
                         ("DELETE", "/api/v1/suppressions/address/a@b.test?note=x")]:
        r = app.request(method, path, headers=ro, json={"value": "a@b.test"})
        assert r.status_code == 403, (method, path)


def test_add_search_get_check_remove(app: TestClient, rw: dict[str, str]) -> None:
    r = app.post("/api/v1/suppressions", headers=rw,
                 json={"value": "Jo@Dest.test", "note": "asked", "days": 7})
    assert r.status_code == 201, r.text
    entry = r.json()
    assert (entry["type"], entry["value"], entry["reason"], entry["source"], entry["note"]) == (
        "address", "jo@dest.test", "manual", "manual", "asked")
    assert entry["expires_at"] is not None
    same = app.post("/api/v1/suppressions", headers=rw,
                    json={"value": "Jo@Dest.test", "note": "asked", "expires_at":
                          entry["expires_at"]})
    assert same.status_code == 200
    r = app.post("/api/v1/suppressions", headers=rw,
                 json={"value": "dest.test", "sender": "news@sender.test", "code": "554",
                       "extended": "5.7.1", "description": "complained in person"})
    assert r.status_code == 201 and r.json()["type"] == "domain"
    page = app.get("/api/v1/suppressions?limit=1", headers=rw).json()
    assert page["total"] == 2 and [e["value"] for e in page["items"]] == ["dest.test"]
    assert [e["value"] for e in app.get("/api/v1/suppressions?search=jo%40",
                                        headers=rw).json()["items"]] == ["jo@dest.test"]
    assert app.get("/api/v1/suppressions?search=%25", headers=rw).json()["total"] == 0
    check = app.get("/api/v1/suppressions/check?address=ann@dest.test&sender="
                    "news@sender.test", headers=rw).json()
    assert check["suppressed"] and check["entry"]["description"] == "complained in person"
    assert not app.get("/api/v1/suppressions/check?address=ann@dest.test",
                       headers=rw).json()["suppressed"]
    one = app.get("/api/v1/suppressions/address/jo@dest.test", headers=rw).json()
    assert [h["action"] for h in one["history"]] == ["add"]
    assert app.delete("/api/v1/suppressions/address/jo@dest.test", headers=rw
                      ).status_code == 422  # the note is required
    gone = app.delete("/api/v1/suppressions/address/jo@dest.test?note=customer+called",
                      headers=rw)
    assert gone.status_code == 200 and gone.json()["removed"]["value"] == "jo@dest.test"
    assert app.delete("/api/v1/suppressions/address/jo@dest.test?note=again",
                      headers=rw).status_code == 404
    assert app.get("/api/v1/suppressions/address/jo@dest.test", headers=rw
                   ).status_code == 404
    log = app.get("/api/v1/suppressions/history?value=jo@dest.test", headers=rw).json()
    assert [(h["action"], h["note"], h["actor"]) for h in log] == [
        ("remove", "customer called", "api"), ("add", "asked", "api")]


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"value": "not an address@x.test"}, 400, "invalid local part"),
    ({"value": "localhost"}, 400, "not a domain"),
    ({"value": "a@b.test", "code": "250"}, 422, "code"),
    ({"value": "a@b.test", "extended": "5.1"}, 422, "extended"),
    ({"value": "a@b.test", "days": 1, "expires_at": "2099-01-01T00:00:00"}, 422, "not both"),
    ({"value": "a@b.test", "expires_at": "2001-01-01T00:00:00"}, 400, "has passed"),
    ({"value": ""}, 422, "value"),
    ({}, 422, "value"),
])
def test_bad_additions(app: TestClient, rw: dict[str, str], body: dict[str, Any],
                       status: int, message: str) -> None:
    r = app.post("/api/v1/suppressions", headers=rw, json=body)
    assert r.status_code == status and message in r.text


def test_export_import_and_domains(app: TestClient, rw: dict[str, str],
                                   engine: Engine) -> None:
    for value in ("a@x.test", "b@x.test"):
        app.post("/api/v1/suppressions", headers=rw, json={"value": value})
    r = app.get("/api/v1/suppressions/export", headers=rw)
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0].startswith("type,value,sender,reason") and len(lines) == 3
    body = "email,note\r\nc@x.test,new\r\nnope,bad\r\na@x.test,\r\n"
    imported = app.post("/api/v1/suppressions/import?note=bulk", headers={
        **rw, "Content-Type": "text/csv"}, content=body).json()
    assert imported == {"added": 1, "changed": 1, "unchanged": 0,
                        "bad": [{"line": 3, "error": "not a domain: 'nope'"}]}
    assert app.post("/api/v1/suppressions/import", headers=rw, content=b"\xff\xfe,x"
                    ).status_code == 400
    assert app.post("/api/v1/suppressions/import", headers=rw, content="name\nx\n"
                    ).status_code == 400
    seed_errors(engine)
    report = app.get("/api/v1/suppressions/domains?days=10", headers=rw).json()
    assert [(d["domain"], d["reason"], d["count"]) for d in report] == [
        ("x.test", "blocked", 1)]
    assert app.get("/api/v1/suppressions/domains?days=0", headers=rw).status_code == 422


def test_export_neutralises_formulas_and_its_import_undoes_it(app: TestClient,
                                                               rw: dict[str, str]) -> None:
    # A formula in an address (atext allows = and -, RFC 5322 3.2.3), a sender or a note
    # gets a quote in the CSV (OWASP "CSV Injection"); the JSON keeps the value as it is,
    # and importing the export gives every value back (core.csvcell.restore).
    entries = [{"value": "=1+2@dest.test", "note": '=HYPERLINK("http://evil.test")',
                "description": "@SUM(A1)"},
               {"value": "-ann@dest.test", "sender": "+news@sender.test", "note": "'=x"}]
    for body in entries:
        assert app.post("/api/v1/suppressions", headers=rw, json=body).status_code == 201
    keys = ("value", "sender", "note", "description")

    def listed() -> list[tuple[str, ...]]:
        found = app.get("/api/v1/suppressions", headers=rw).json()["items"]
        return sorted(tuple(e[k] for k in keys) for e in found)

    assert listed() == sorted(tuple(e.get(k, "") for k in keys) for e in entries)
    exported = app.get("/api/v1/suppressions/export", headers=rw).text
    rows = list(csv.DictReader(io.StringIO(exported, newline="")))
    assert sorted(tuple(r[k] for k in keys) for r in rows) == [
        ("'-ann@dest.test", "'+news@sender.test", "''=x", ""),
        ("'=1+2@dest.test", "", '\'=HYPERLINK("http://evil.test")', "'@SUM(A1)")]
    before = listed()
    for e in entries:
        assert app.delete(f"/api/v1/suppressions/address/{e['value']}", headers=rw, params={
            "note": "round trip", "sender": e.get("sender", "")}).status_code == 200
    assert listed() == []
    imported = app.post("/api/v1/suppressions/import", headers={
        **rw, "Content-Type": "text/csv"}, content=exported.encode())
    assert imported.json() == {"added": 2, "changed": 0, "unchanged": 0, "bad": []}
    assert listed() == before


def test_selections(app: TestClient, rw: dict[str, str], engine: Engine) -> None:
    seed_errors(engine)
    app.post("/api/v1/suppressions", headers=rw, json={"value": "eve@x.test"})

    def select(**body: Any) -> dict[str, Any]:
        r = app.post("/api/v1/selections", headers=rw, json=body)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    people = ["ann@x.test", "BOB@x.test", "cy@x.test", "di@x.test", "eve@x.test", "oops"]
    got = select(mode="no-errors", addresses=people)
    assert got["addresses"] == ["di@x.test", "eve@x.test"]
    assert got["counts"] == {"read": 6, "kept": 2, "removed": 3, "suppressed": 0, "bad": 1}
    assert got["bad"] == [{"line": 6, "error": "not an address: 'oops'"}]
    assert select(mode="errors", addresses=people, count=">1")["addresses"] == ["ann@x.test"]
    assert select(mode="errors", addresses=people, severity="temporary")["addresses"] == [
        "BOB@x.test"]
    assert select(mode="errors", addresses=people, codes=["5.7.1"], days=10)["addresses"] == [
        "cy@x.test"]
    assert select(mode="errors", addresses=people, days=1.5)["addresses"] == ["ann@x.test"]
    assert select(mode="no-errors", addresses=people, not_suppressed=True)["counts"][
        "suppressed"] == 1
    csv_in = "Name;Email\r\nAnn;ann@x.test\r\nDi;di@x.test\r\nShort\r\n"
    got = select(mode="no-errors", csv=csv_in)
    assert got["csv"] == "Name;Email\r\nDi;di@x.test\r\n"
    assert got["bad"] == [{"line": 4, "error": "1 fields, the header has 2"}]


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"mode": "errors"}, 422, "addresses (a JSON list) or csv"),
    ({"mode": "errors", "addresses": [], "csv": "email\n"}, 422, "or csv"),
    ({"mode": "some", "addresses": []}, 422, "mode"),
    ({"mode": "errors", "addresses": [], "count": "lots"}, 400, "like '>2'"),
    ({"mode": "errors", "addresses": [], "codes": ["55"]}, 400, "reply code"),
    ({"mode": "errors", "addresses": [], "severity": "soft"}, 422, "severity"),
    ({"mode": "errors", "csv": "name,city\nx,y\n"}, 400, "--column"),
    ({"mode": "errors", "addresses": [], "since": "2026-01-02T00:00:00",
      "until": "2026-01-01T00:00:00"}, 400, "since must be before until"),
    ({"mode": "errors", "addresses": [], "since": "2026-01-01T00:00:00", "days": 3}, 422,
     "not both"),
])
def test_bad_selections(app: TestClient, rw: dict[str, str], body: dict[str, Any],
                        status: int, message: str) -> None:
    r = app.post("/api/v1/selections", headers=rw, json=body)
    assert r.status_code == status and message in r.text, r.text
    assert "detail" in r.json()
