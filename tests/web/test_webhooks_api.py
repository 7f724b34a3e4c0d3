"""``/api/v1/webhooks``: every endpoint, bad input and auth, on both databases."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bounceloop.storage import tokens
from bounceloop.testing import Receiver
from bounceloop.webhooks import verify
from tests.web.conftest import bearer
from tests.webhooks.support import failure, write


def add(app: TestClient, rw: dict[str, str], url: str, **kw: Any) -> dict[str, Any]:
    r = app.post("/api/v1/webhooks", json={"url": url, "triggers": ["failure"], **kw},
                 headers=rw)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_auth_no_token_bad_token_revoked_and_read_scope(app: TestClient,
                                                        engine: Engine) -> None:
    assert app.get("/api/v1/webhooks").status_code == 401
    assert app.get("/api/v1/webhooks").headers["www-authenticate"] == "Bearer"
    assert app.get("/api/v1/webhooks", headers={"Authorization": "Bearer blt_nope"}
                   ).status_code == 401
    assert app.get("/api/v1/webhooks", headers={"Authorization": "Basic eDp5"}
                   ).status_code == 401
    ro = bearer(engine, "read")
    assert app.get("/api/v1/webhooks", headers=ro).json() == []
    r = app.post("/api/v1/webhooks", json={"url": "http://127.0.0.1/", "triggers": ["failure"]},
                 headers=ro)
    assert r.status_code == 403 and "read" in r.json()["detail"]
    with engine.begin() as conn:
        token_id = tokens.listing(conn)[-1]["id"]
        assert tokens.revoke(conn, token_id)
    assert app.get("/api/v1/webhooks", headers=ro).status_code == 401


def test_crud_and_queue(app: TestClient, rw: dict[str, str], engine: Engine,
                        receiver: Receiver) -> None:
    made = add(app, rw, receiver.url, tags=["vip", "ünï"], mailing=4, format="json",
               concurrency=3, timeout=7, description="crm")
    assert made["secret"].startswith("whsec_") and made["status"] == "active"
    hook_id = made["id"]
    listed = app.get("/api/v1/webhooks", headers=rw).json()
    assert [h["id"] for h in listed] == [hook_id] and "secret" not in listed[0]
    one = app.get(f"/api/v1/webhooks/{hook_id}", headers=rw).json()
    assert (one["tags"], one["mailing"], one["format"], one["concurrency"], one["timeout"]) == (
        ["vip", "ünï"], 4, "json", 3, 7)
    write(engine, [failure("m1", mailing=4, tags=["vip"])])
    assert app.get(f"/api/v1/webhooks/{hook_id}", headers=rw).json()["queue"]["pending"] == 1

    changed = app.patch(f"/api/v1/webhooks/{hook_id}", json={"tags": [], "mailing": None,
                                                            "triggers": ["bounce", "failure"]},
                        headers=rw).json()
    assert (changed["tags"], changed["mailing"], changed["triggers"]) == (
        [], None, ["bounce", "failure"])
    paused = app.post(f"/api/v1/webhooks/{hook_id}/pause", json={"reason": "deploy"},
                      headers=rw).json()
    assert paused["status"] == "paused" and paused["paused_reason"] == "deploy"
    assert app.get(f"/api/v1/webhooks/{hook_id}", headers=rw).json()["queue"]["held"] == 1
    assert app.post(f"/api/v1/webhooks/{hook_id}/resume", headers=rw).json()["status"] == (
        "active")
    assert app.post(f"/api/v1/webhooks/{hook_id}/resume", headers=rw).status_code == 409
    assert app.delete(f"/api/v1/webhooks/{hook_id}", headers=rw).status_code == 204
    assert app.delete(f"/api/v1/webhooks/{hook_id}", headers=rw).status_code == 404
    assert app.get(f"/api/v1/webhooks/{hook_id}", headers=rw).status_code == 404


@pytest.mark.parametrize(("body", "status"), [
    ({"url": "http://10.0.0.1/x", "triggers": ["failure"]}, 400),
    ({"url": "http://169.254.169.254/", "triggers": ["failure"]}, 400),
    ({"url": "http://[::1]/", "triggers": ["failure"]}, 400),
    # IPv6 carrying 169.254.169.254 (compatible, NAT64, 6to4): loopback is allowed here,
    # the metadata address is not.
    ({"url": "http://[::a9fe:a9fe]/", "triggers": ["failure"]}, 400),
    ({"url": "http://[64:ff9b::a9fe:a9fe]/latest/meta-data", "triggers": ["failure"]}, 400),
    ({"url": "http://[2002:a9fe:a9fe::1]/", "triggers": ["failure"]}, 400),
    ({"url": "file:///etc/passwd", "triggers": ["failure"]}, 400),
    # What would end the request line (urlsplit drops CR and LF unseen) or cannot go in it.
    ({"url": "http://127.0.0.1/a b", "triggers": ["failure"]}, 400),
    ({"url": "http://127.0.0.1/a\r\nX-Smuggled: 1", "triggers": ["failure"]}, 400),
    ({"url": "http://127.0.0.1/\u00e9", "triggers": ["failure"]}, 400),
    ({"url": "http://127.0.0.1/", "triggers": []}, 422),
    ({"url": "http://127.0.0.1/", "triggers": ["nope"]}, 422),
    ({"url": "http://127.0.0.1/", "triggers": ["failure"], "concurrency": 0}, 422),
    ({"url": "http://127.0.0.1/", "triggers": ["failure"], "format": "xml"}, 422),
    ({"triggers": ["failure"]}, 422),
    ("not json", 422),
])
def test_bad_input_is_a_clear_4xx(app: TestClient, rw: dict[str, str], body: Any,
                                  status: int) -> None:
    if isinstance(body, str):
        r = app.post("/api/v1/webhooks", content=body,
                     headers={**rw, "Content-Type": "application/json"})
    else:
        r = app.post("/api/v1/webhooks", json=body, headers=rw)
    assert r.status_code == status, r.text
    assert "detail" in r.json()
    assert app.get("/api/v1/webhooks", headers=rw).json() == []  # nothing was made


def test_changes_are_checked(app: TestClient, rw: dict[str, str], receiver: Receiver) -> None:
    hook_id = add(app, rw, receiver.url)["id"]
    assert app.patch(f"/api/v1/webhooks/{hook_id}", json={}, headers=rw).status_code == 400
    assert app.patch(f"/api/v1/webhooks/{hook_id}", json={"url": "http://10.1.1.1/"},
                     headers=rw).status_code == 400
    assert app.patch(f"/api/v1/webhooks/{hook_id}", json={"triggers": None},
                     headers=rw).status_code == 400
    assert app.patch("/api/v1/webhooks/999", json={"extras": False},
                     headers=rw).status_code == 404
    assert app.get("/api/v1/webhooks/abc", headers=rw).status_code == 422


def test_test_verify_rotate(app: TestClient, rw: dict[str, str], receiver: Receiver) -> None:
    made = add(app, rw, receiver.url, verify=True)
    assert made["status"] == "unverified" and made["verification"]["ok"] is False
    hook_id = made["id"]
    receiver.echo = True
    assert app.post(f"/api/v1/webhooks/{hook_id}/verify", headers=rw).json()["ok"] is True
    assert app.post(f"/api/v1/webhooks/{hook_id}/verify", headers=rw).status_code == 409
    receiver.echo = False
    got = app.post(f"/api/v1/webhooks/{hook_id}/test", headers=rw).json()
    assert got["ok"] is True and got["status"] == 200 and got["ip"] == "127.0.0.1"
    rotated = app.post(f"/api/v1/webhooks/{hook_id}/rotate-secret", json={"overlap": 60},
                       headers=rw).json()
    app.post(f"/api/v1/webhooks/{hook_id}/test", headers=rw)
    r = receiver.requests[-1]
    now = int(time.time())
    assert verify(r.headers["x-bounceloop-signature"], r.body, made["secret"], now)
    assert verify(r.headers["x-bounceloop-signature"], r.body, rotated["secret"], now)
    receiver.status = 503
    got = app.post(f"/api/v1/webhooks/{hook_id}/test", headers=rw).json()
    assert got["ok"] is False and got["status"] == 503


def test_failures_dead_and_replay(app: TestClient, rw: dict[str, str], engine: Engine) -> None:
    from bounceloop.storage import webhooks as store

    hook_id = add(app, rw, "http://127.0.0.1:9/x")["id"]
    write(engine, [failure("m1"), failure("m2")])
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE jobs SET status='dead', last_error='HTTP 500'")
        store.log_failures(conn, [{
            "time": store.utcnow(), "webhook_id": hook_id, "event_id": 1, "job_id": 1,
            "attempt": 1, "url": "http://127.0.0.1:9/x", "ip": "127.0.0.1", "status": None,
            "error": "refused", "description": "connection refused", "headers": "[]",
            "body": ""}])
    log = app.get(f"/api/v1/webhooks/{hook_id}/failures", headers=rw).json()
    assert [f["error"] for f in log] == ["refused"]
    assert app.get("/api/v1/webhook-failures?since=2000-01-01T00:00", headers=rw).json() == log
    assert app.get("/api/v1/webhook-failures?since=2999-01-01", headers=rw).json() == []
    assert app.get("/api/v1/webhook-failures?limit=0", headers=rw).status_code == 422
    dead = app.get(f"/api/v1/webhooks/{hook_id}/dead", headers=rw).json()
    assert len(dead) == 2
    assert app.post(f"/api/v1/webhooks/{hook_id}/replay", json={}, headers=rw
                    ).status_code == 422
    assert app.post(f"/api/v1/webhooks/{hook_id}/replay", json={"jobs": [dead[0]["job"]]},
                    headers=rw).json() == {"replayed": 1}
    assert app.post(f"/api/v1/webhooks/{hook_id}/replay", json={"all": True},
                    headers=rw).json() == {"replayed": 1}
    assert app.get(f"/api/v1/webhooks/{hook_id}/dead", headers=rw).json() == []
