"""``bounceloop webhook ...`` against a SQLite file and a real receiver on loopback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bounceloop.cli import cli
from bounceloop.storage.engine import create_engine
from bounceloop.testing import Receiver
from bounceloop.webhooks import verify
from tests.webhooks.support import failure, write

pytestmark = pytest.mark.usefixtures("clean_environment")


def invoke(tmp_path: Path, *args: str, allowed: str = "127.0.0.0/8") -> Result:
    env = {"BOUNCELOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
           "BOUNCELOOP_ALLOWED_TARGET_NETWORKS": allowed}
    return CliRunner().invoke(cli, list(args), env=env)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def add(tmp_path: Path, url: str, *more: str) -> tuple[int, str]:
    out = ok(invoke(tmp_path, "webhook", "add", url, *more)).splitlines()
    assert out[-1].startswith("secret: whsec_")
    return int(out[0].split()[1]), out[-1].removeprefix("secret: ")


@pytest.mark.parametrize("url", ["http://127.0.0.1/x", "http://10.1.2.3/x",
                                 "http://169.254.169.254/latest/meta-data",
                                 "http://[::1]:8080/x", "ftp://example.com/x", "not a url",
                                 # IPv6 carrying those (compatible, NAT64, 6to4)
                                 "http://[::127.0.0.1]/x", "http://[64:ff9b::7f00:1]/x",
                                 "http://[2002:7f00:1::1]/x", "http://[::a9fe:a9fe]/x",
                                 "http://[64:ff9b::a9fe:a9fe]/latest/meta-data"])
def test_add_refuses_internal_and_non_http_urls(tmp_path: Path, url: str) -> None:
    result = invoke(tmp_path, "webhook", "add", url, "--trigger", "failure", allowed="")
    assert result.exit_code == 1
    assert "refused" in result.stderr
    assert ok(invoke(tmp_path, "webhook", "list", "--json")) == ""


def test_add_list_show_change_pause_resume_rm(tmp_path: Path, receiver: Receiver) -> None:
    hook_id, secret = add(tmp_path, receiver.url, "--trigger", "failure", "--trigger",
                          "bounce", "--tag", "vip", "--mailing", "3", "--format", "json",
                          "--concurrency", "2", "--timeout", "5")
    listed = [json.loads(line) for line in ok(invoke(tmp_path, "webhook", "list", "--json"))
              .splitlines()]
    assert len(listed) == 1
    h = listed[0]
    assert (h["id"], h["url"], h["triggers"], h["tags"], h["mailing"], h["format"],
            h["concurrency"], h["timeout"], h["status"]) == (
        hook_id, receiver.url, ["failure", "bounce"], ["vip"], 3, "json", 2, 5, "active")
    assert "secret" not in json.dumps(h) and secret not in json.dumps(h)

    ok(invoke(tmp_path, "webhook", "change", str(hook_id), "--any-tag", "--any-mailing",
              "--format", "form", "--no-extras", "--trigger", "delivery"))
    shown = json.loads(ok(invoke(tmp_path, "webhook", "show", str(hook_id), "--json")))
    assert (shown["tags"], shown["mailing"], shown["format"], shown["extras"],
            shown["triggers"]) == ([], None, "form", False, ["delivery"])
    assert shown["queue"]["pending"] == 0

    ok(invoke(tmp_path, "webhook", "pause", str(hook_id), "--reason", "maintenance"))
    shown = json.loads(ok(invoke(tmp_path, "webhook", "show", str(hook_id), "--json")))
    assert shown["status"] == "paused" and shown["paused_reason"] == "maintenance"
    ok(invoke(tmp_path, "webhook", "resume", str(hook_id)))
    assert invoke(tmp_path, "webhook", "resume", str(hook_id)).exit_code == 1
    ok(invoke(tmp_path, "webhook", "rm", str(hook_id)))
    assert invoke(tmp_path, "webhook", "rm", str(hook_id)).exit_code == 1
    assert invoke(tmp_path, "webhook", "show", str(hook_id)).exit_code == 1


def test_change_refuses_bad_values(tmp_path: Path, receiver: Receiver) -> None:
    hook_id, _ = add(tmp_path, receiver.url, "--trigger", "failure")
    assert invoke(tmp_path, "webhook", "change", str(hook_id)).exit_code == 1
    bad = invoke(tmp_path, "webhook", "change", str(hook_id), "--url", "http://10.0.0.1/",
                 allowed="")
    assert bad.exit_code == 1 and "refused" in bad.stderr
    assert invoke(tmp_path, "webhook", "add", receiver.url).exit_code == 2  # no --trigger
    assert invoke(tmp_path, "webhook", "add", receiver.url, "--trigger", "nope").exit_code == 2


def test_test_call_is_signed_and_reports_the_answer(tmp_path: Path,
                                                     receiver: Receiver) -> None:
    hook_id, secret = add(tmp_path, receiver.url, "--trigger", "failure")
    out = ok(invoke(tmp_path, "webhook", "test", str(hook_id)))
    assert "ok, HTTP 200 from 127.0.0.1" in out
    r = receiver.requests[-1]
    assert r.event.startswith("test-") and r.form["type"] == ["failure"]
    assert verify(r.headers["x-bounceloop-signature"], r.body, secret, int(time.time()))
    receiver.status = 500
    receiver.body = b"nope"
    bad = invoke(tmp_path, "webhook", "test", str(hook_id))
    assert bad.exit_code == 1 and "HTTP 500" in bad.stderr and "nope" in bad.stderr


def test_rotation_signs_with_both_secrets_during_the_overlap(tmp_path: Path,
                                                             receiver: Receiver) -> None:
    hook_id, old = add(tmp_path, receiver.url, "--trigger", "failure")
    new = ok(invoke(tmp_path, "webhook", "rotate-secret", str(hook_id), "--overlap", "3600")
             ).splitlines()[-1].removeprefix("secret: ")
    ok(invoke(tmp_path, "webhook", "test", str(hook_id)))
    r = receiver.requests[-1]
    header = r.headers["x-bounceloop-signature"]
    assert header.count("v1=") == 2
    now = int(time.time())
    assert verify(header, r.body, old, now) and verify(header, r.body, new, now)
    ok(invoke(tmp_path, "webhook", "rotate-secret", str(hook_id), "--overlap", "0"))
    ok(invoke(tmp_path, "webhook", "test", str(hook_id)))
    header = receiver.requests[-1].headers["x-bounceloop-signature"]
    assert header.count("v1=") == 1
    assert not verify(header, receiver.requests[-1].body, new, now)


def test_verification_holds_events_until_the_token_is_echoed(tmp_path: Path,
                                                             receiver: Receiver) -> None:
    out = ok(invoke(tmp_path, "webhook", "add", receiver.url, "--trigger", "failure",
                    "--verify"))
    assert "not confirmed" in out
    hook_id = int(out.split()[1])
    token = receiver.requests[-1].form["token"][0]
    assert token.startswith("whverify_") and receiver.requests[-1].form["type"] == [
        "verification"]
    db = create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        write(db, [failure("m1")])
        shown = json.loads(ok(invoke(tmp_path, "webhook", "show", str(hook_id), "--json")))
        assert shown["status"] == "unverified" and shown["queue"]["held"] == 1
        bad = invoke(tmp_path, "webhook", "verify", str(hook_id))
        assert bad.exit_code == 1 and "HTTP 200" in bad.stderr
        receiver.echo = True
        ok(invoke(tmp_path, "webhook", "verify", str(hook_id)))
        shown = json.loads(ok(invoke(tmp_path, "webhook", "show", str(hook_id), "--json")))
        assert shown["status"] == "active" and shown["queue"]["pending"] == 1
        assert shown["verified_at"]
        assert invoke(tmp_path, "webhook", "verify", str(hook_id)).exit_code == 1
    finally:
        db.dispose()


def test_failures_dead_and_replay_commands(tmp_path: Path) -> None:
    from bounceloop.storage import webhooks as store

    db = create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        ok(invoke(tmp_path, "webhook", "list"))  # creates the schema
        with db.begin() as conn:
            h = store.create(conn, url="http://127.0.0.1:9/x", triggers=["failure"],
                             concurrency=1, timeout=1)
        write(db, [failure("m1"), failure("m2")])
        with db.begin() as conn:
            conn.exec_driver_sql("UPDATE jobs SET status='dead', last_error='HTTP 500'")
            store.log_failures(conn, [{
                "time": store.utcnow(), "webhook_id": h.id, "event_id": 1, "job_id": 1,
                "attempt": 3, "url": h.url, "ip": "127.0.0.1", "status": 500,
                "error": "http", "description": "HTTP 500", "headers": '[["a","b"]]',
                "body": "boom"}])
        log = [json.loads(x) for x in ok(invoke(tmp_path, "webhook", "failures", str(h.id),
                                                "--json")).splitlines()]
        assert [(f["status"], f["ip"], f["body"], f["headers"]) for f in log] == [
            (500, "127.0.0.1", "boom", [["a", "b"]])]
        dead = [json.loads(x) for x in ok(invoke(tmp_path, "webhook", "dead", str(h.id),
                                                 "--json")).splitlines()]
        assert sorted(d["event"] for d in dead) == [1, 2]
        assert invoke(tmp_path, "webhook", "replay", str(h.id)).exit_code == 1
        out = ok(invoke(tmp_path, "webhook", "replay", str(h.id), "--job",
                        str(dead[0]["job"])))
        assert out.strip() == "1 replayed"
        assert ok(invoke(tmp_path, "webhook", "replay", str(h.id), "--all")).strip() == (
            "1 replayed")
        assert ok(invoke(tmp_path, "webhook", "dead", str(h.id), "--json")) == ""
    finally:
        db.dispose()
