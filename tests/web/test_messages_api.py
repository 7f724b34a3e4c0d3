"""``POST /api/v1/messages``, ``GET /api/v1/messages/{id}``, ``GET /api/v1/bounces/{id}``
and ``/bounces/{id}/raw``: sending, one message's story and the mail that came back - every
endpoint, bad input and auth, on both databases.

Stories and bounces are those the engine's own writers leave (test_reports_api.World):
attempts recorded by storage.messages.record, returned mail processed by the inbound
pipeline.
"""

from __future__ import annotations

import email
import hashlib
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from bounceloop.core import verp
from bounceloop.observability.metrics import Metrics
from bounceloop.storage.tables import mailings, messages
from bounceloop.web.app import create_app
from tests.web.test_reports_api import DOMAIN, NEWS, SECRET, World, problem, settings


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(engine, Metrics(), settings(tmp_path))) as c:
        yield c


@pytest.fixture
def world(engine: Engine, app: TestClient, rw: dict[str, str]) -> World:
    return World(engine, app, rw).seed()


MIME = ("From: News <news@sender.test>\r\nSubject: Spring sale\r\n"
        "Message-ID: <spring-1@sender.test>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nHello, spring.\r\n")


def send(app: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return app.post("/api/v1/messages", headers=headers, json={"from": NEWS, **body})


def sent(app: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = send(app, headers, **body)
    assert r.status_code == 202, r.text
    out: dict[str, Any] = r.json()
    return out


def story(app: TestClient, headers: dict[str, str], message_id: str) -> dict[str, Any]:
    r = app.get(f"/api/v1/messages/{message_id}", headers=headers)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def stored_mime(engine: Engine, mailing: int) -> bytes:
    with engine.connect() as conn:
        return bytes(conn.execute(select(mailings.c.mime).where(mailings.c.id == mailing))
                     .scalar_one())


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


ENDPOINTS = [("POST", "/api/v1/messages"), ("GET", "/api/v1/messages/0123456789abcdef"),
             ("GET", "/api/v1/bounces/1"), ("GET", "/api/v1/bounces/1/raw")]


def test_auth(app: TestClient, ro: dict[str, str]) -> None:
    body = {"from": NEWS, "recipients": [{"email": "a@dest.test"}], "mime": MIME}
    for method, path in ENDPOINTS:
        assert "token is needed" in problem(app.request(method, path, json=body), 401)
        bad = app.request(method, path, json=body,
                          headers={"Authorization": "Bearer blt_not-a-token"})
        assert "not valid" in problem(bad, 401)
        got = app.request(method, path, json=body, headers=ro)
        if method == "POST":
            assert "may only read" in problem(got, 403)
        else:
            problem(got, 404)  # let in: there is no such thing
    assert app.get("/api/v1/mailings", headers=ro).json() == []  # nothing was sent


def test_send_a_mime_document(app: TestClient, rw: dict[str, str], engine: Engine) -> None:
    out = sent(app, rw, recipients=[{"email": "ann@dest.test"}, {"email": "Bob@Dest.Test"}],
               mime=MIME, mailing="spring", tags=["sale"], retry_schedule="600, 1800",
               max_delivery_time=3600)
    assert out["rejected"] == []
    assert [(m["recipient"], m["status"]) for m in out["messages"]] == [
        ("ann@dest.test", "queued"), ("Bob@dest.test", "queued")]
    for m in out["messages"]:  # VERP: each envelope names its message
        assert verp.decode(m["envelope"], DOMAIN, SECRET) == m["id"]
    # The document is kept byte for byte, with what it says about itself.
    assert stored_mime(engine, out["mailing"]) == MIME.encode()
    with engine.connect() as conn:
        row = conn.execute(select(mailings).where(mailings.c.id == out["mailing"])).one()
    assert (row.name, row.sender, row.tags, row.retry_schedule, row.max_delivery_time,
            row.header_message_id) == ("spring", NEWS, '["sale"]', "600,1800", 3600,
                                       "spring-1@sender.test")
    one = story(app, rw, out["messages"][0]["id"])
    assert (one["status"], one["sender"], one["envelope"], one["attempts_made"]) == (
        "queued", NEWS, out["messages"][0]["envelope"], 0)
    assert (when(one["expires_at"]) - when(one["created_at"])).total_seconds() == 3600
    assert one["mailing"]["name"] == "spring" and one["mailing"]["tags"] == ["sale"]
    assert (one["attempts"], one["events"], one["errors"], one["bounces"]) == ([], [], [], [])
    [listed] = app.get("/api/v1/mailings", headers=rw).json()
    assert (listed["id"], listed["messages"]) == (out["mailing"], 2)


def test_send_subject_text_and_html(app: TestClient, rw: dict[str, str],
                                    engine: Engine) -> None:
    out = sent(app, rw, recipients=[{"email": "ann@dest.test"}], subject="Grüße aus Köln",
               text="Hallo, Ann.", html="<p>Hallo, <b>Ann</b>.</p>")
    doc = email.message_from_bytes(stored_mime(engine, out["mailing"]), policy=default)
    assert isinstance(doc, EmailMessage)
    assert (doc["From"], doc["To"], doc["Subject"]) == (NEWS, "ann@dest.test",
                                                        "Grüße aus Köln")
    # No Message-ID in the document: the sender gives each copy a signed one of its own
    # (core.signed), which ties an auto-reply that answers it.
    assert doc["Message-ID"] is None and doc["Date"]
    assert doc.get_content_type() == "multipart/alternative"
    parts = list(doc.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content().strip() == "Hallo, Ann."
    assert parts[1].get_content().strip() == "<p>Hallo, <b>Ann</b>.</p>"
    body = doc.get_body(("html", "plain"))
    assert body is not None and body.get_content_type() == "text/html"
    # One kind of body: no alternatives. Several recipients: none named in To.
    for kind in ("text", "html"):
        out = sent(app, rw, recipients=[{"email": "ann@dest.test"}, {"email": "b@dest.test"}],
                   subject="One part", **{kind: "only this"})
        doc = email.message_from_bytes(stored_mime(engine, out["mailing"]), policy=default)
        assert isinstance(doc, EmailMessage)
        assert doc.get_content_type() == f"text/{'plain' if kind == 'text' else 'html'}"
        assert doc["To"] == "undisclosed-recipients:;"
        assert not doc.is_multipart() and doc.get_content().strip() == "only this"


def test_tags_and_fields_are_kept_per_recipient(app: TestClient, rw: dict[str, str]) -> None:
    out = sent(app, rw, mime=MIME, tags=["spring", "sale"], recipients=[
        {"email": "ann@dest.test", "tags": ["vip", "spring"],
         "fields": {"name": "Ann", "city": "Köln"}},
        {"email": "bob@dest.test", "fields": {"name": "Bob"}},
        {"email": "cy@dest.test"}])
    ann, bob, cy = (story(app, rw, m["id"]) for m in out["messages"])
    assert (ann["tags"], ann["fields"]) == (["spring", "sale", "vip"],
                                            {"name": "Ann", "city": "Köln"})
    assert (bob["tags"], bob["fields"]) == (["spring", "sale"], {"name": "Bob"})
    assert (cy["tags"], cy["fields"]) == (["spring", "sale"], {})
    assert ann["mailing"]["tags"] == ["spring", "sale"]


def test_bad_recipients_are_reported_by_index_and_the_rest_queued(
        app: TestClient, rw: dict[str, str], engine: Engine) -> None:
    out = sent(app, rw, mime=MIME, recipients=[
        {"email": "ann@dest.test"}, {"email": "not an address"}, {"email": "bob@dest.test"},
        {"email": "ANN@dest.test"}, {"email": "cy@"}, {"email": "di@dest.test"}])
    assert [m["recipient"] for m in out["messages"]] == ["ann@dest.test", "bob@dest.test",
                                                         "di@dest.test"]
    assert [(r["index"], r["email"]) for r in out["rejected"]] == [
        (1, "not an address"), (3, "ANN@dest.test"), (4, "cy@")]
    assert out["rejected"][1]["error"] == "already at index 0"
    assert all(r["error"] for r in out["rejected"])
    with engine.connect() as conn:
        assert sorted(conn.execute(select(messages.c.recipient)).scalars()) == [
            "ann@dest.test", "bob@dest.test", "di@dest.test"]


def test_no_good_recipient_is_a_400(app: TestClient, rw: dict[str, str]) -> None:
    detail = problem(send(app, rw, mime=MIME, recipients=[{"email": "nope"},
                                                          {"email": "@dest.test"}]), 400)
    assert detail["message"] == "no valid recipients"
    assert [r["index"] for r in detail["rejected"]] == [0, 1]
    assert app.get("/api/v1/mailings", headers=rw).json() == []


MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({"recipients": [{"email": "a@dest.test"}], "mime": MIME, "text": "x"}, "mime, or as"),
    ({"recipients": [{"email": "a@dest.test"}], "mime": MIME, "subject": "x"}, "mime, or as"),
    ({"recipients": [{"email": "a@dest.test"}]}, "mime, or as"),
    ({"recipients": [{"email": "a@dest.test"}], "subject": "x"}, "text and/or html"),
    ({"recipients": [{"email": "a@dest.test"}], "text": "x"}, "needs a subject"),
    ({"recipients": [{"email": "a@dest.test"}], "mime": " \r\n"},
     "mime: the message is empty"),
    ({"recipients": [], "mime": MIME}, "recipients"),
    ({"mime": MIME}, "recipients"),
    ({"recipients": [{"email": ""}], "mime": MIME}, "email"),
    ({"recipients": [{"email": "a@dest.test", "tags": ["t" * 201]}], "mime": MIME}, "tags"),
    ({"recipients": [{"email": "a@dest.test"}], "mime": MIME, "cc": ["b@dest.test"]}, "cc"),
    ({"recipients": [{"email": "a@dest.test"}], "mime": MIME, "max_delivery_time": 0},
     "max_delivery_time"),
    ({"recipients": [{"email": "a@dest.test"}], "mime": MIME, "from": "a"}, "from"),
    ({"recipients": [{"email": "a@dest.test"}], "mime": MIME, "mailing": "a\x00b"}, "NUL"),
    ({"recipients": [{"email": "a@dest.test", "fields": {"k": "\x00"}}], "mime": MIME},
     "NUL"),
]


def test_malformed_requests_are_422(app: TestClient, rw: dict[str, str]) -> None:
    for body, message in MALFORMED:
        detail = problem(send(app, rw, **body), 422)
        assert message in str(detail), (body, detail)
    assert app.get("/api/v1/mailings", headers=rw).json() == []


NOT_A_FIELD = 'not a MIME message: line {} is not a header field ("Name: value", RFC 5322 2.2)'


@pytest.mark.parametrize(("mime", "why"), [
    ("", "the message is empty"),
    ("Hello Jane,\n\nthe sale starts Monday.\n", NOT_A_FIELD.format(1) + ": 'Hello Jane,'"),
    ("\x89PNG\r\n\x1a\n", NOT_A_FIELD.format(1) + ": '\\x89PNG'"),  # U+0089, shown escaped
    ("Subject: hi\r\nHello.\r\n", NOT_A_FIELD.format(2) + " and no blank line ends the "
     "header fields before it: 'Hello.'"),
])
def test_a_mime_that_is_not_a_message_is_422(app: TestClient, rw: dict[str, str], mime: str,
                                             why: str) -> None:
    # The rule of `bounceloop send --mime` (core.headerblock), with the same reason.
    [error] = problem(send(app, rw, recipients=[{"email": "a@dest.test"}], mime=mime), 422)
    assert (error["loc"], error["msg"]) == (["body"], f"Value error, mime: {why}")
    assert app.get("/api/v1/mailings", headers=rw).json() == []


def test_a_body_that_is_not_json_is_422(app: TestClient, rw: dict[str, str]) -> None:
    r = app.post("/api/v1/messages", content=b"{not json",
                 headers={**rw, "Content-Type": "application/json"})
    problem(r, 422)


#: JSON can name a lone surrogate ("\ud800"): no character, so no UTF-8 to store or send.
#: Each field of the body, and the answer quotes it back as ASCII JSON.
SURROGATES = [
    '"mime": "Subject: \\ud800\\r\\n\\r\\nx"',
    '"subject": "\\ud800", "text": "x"', '"subject": "s", "text": "\\udfff"',
    '"subject": "s", "html": "\\ud800"', '"subject": "s", "text": "x", "mailing": "\\ud800"',
    '"subject": "s", "text": "x", "tags": ["\\ud800"]',
]


def test_text_that_cannot_be_stored_is_422(app: TestClient, rw: dict[str, str],
                                           engine: Engine) -> None:
    headers = {**rw, "Content-Type": "application/json"}
    for fields in SURROGATES:
        body = '{"from": "news@sender.test", "recipients": [{"email": "a@dest.test"}], '
        r = app.post("/api/v1/messages", headers=headers, content=f"{body}{fields}}}")
        assert r.content.isascii()
        detail = problem(r, 422)
        assert detail[0]["loc"][0] == "body", (fields, detail)
    for recipient in ('{"email": "\\ud800@dest.test"}', '{"email": "a@dest.test", '
                      '"fields": {"name": "\\ud800"}}'):
        content = '{"from": "news@sender.test", "mime": "x", "recipients": [' + recipient
        r = app.post("/api/v1/messages", headers=headers, content=content + "]}")
        assert problem(r, 422)[0]["loc"][:2] == ["body", "recipients"], recipient
    # What Python's surrogateescape makes of raw bytes is kept as those bytes.
    r = app.post("/api/v1/messages", headers=headers, content=(
        '{"from": "news@sender.test", "recipients": [{"email": "a@dest.test"}], '
        '"mime": "Subject: caf\\udce9\\r\\n\\r\\nx"}'))
    assert r.status_code == 202, r.text
    assert stored_mime(engine, r.json()["mailing"]) == b"Subject: caf\xe9\r\n\r\nx"
    # A subject is one header line: no way to add another.
    r = send(app, rw, recipients=[{"email": "a@dest.test"}], text="x",
             subject="Hi\r\nBcc: everyone@else.test")
    assert problem(r, 422)[0]["loc"] == ["body", "subject"]
    assert len(app.get("/api/v1/mailings", headers=rw).json()) == 1


BAD_SENDS: list[tuple[dict[str, Any], str]] = [
    ({"from": "not an address"}, "from:"),
    ({"from": "news@"}, "from:"),
    ({"retry_schedule": "600,x"}, "retry_schedule: not a retry schedule"),
    ({"retry_schedule": "0"}, "retry_schedule"),
    ({"retry_schedule": "600 1800"}, "retry_schedule"),
]


def test_bad_sender_or_schedule_is_400(app: TestClient, rw: dict[str, str]) -> None:
    for body, message in BAD_SENDS:
        r = app.post("/api/v1/messages", headers=rw, json={
            "from": NEWS, "recipients": [{"email": "a@dest.test"}], "mime": MIME, **body})
        assert message in problem(r, 400), body
    assert app.get("/api/v1/mailings", headers=rw).json() == []


def test_too_large_is_413(engine: Engine, rw: dict[str, str], tmp_path: Path) -> None:
    app = create_app(engine, Metrics(), settings(tmp_path, smtp_max_size=2000))
    with TestClient(app) as c:
        big = MIME + "x" * 2000
        assert "at most 2000" in problem(send(c, rw, recipients=[{"email": "a@dest.test"}],
                                              mime=big), 413)
        problem(send(c, rw, recipients=[{"email": "a@dest.test"}], subject="big",
                     text="y" * 3000), 413)
        assert c.get("/api/v1/mailings", headers=rw).json() == []
        just = MIME + "x" * (2000 - len(MIME))
        assert send(c, rw, recipients=[{"email": "a@dest.test"}], mime=just
                    ).status_code == 202


def attempt(a: dict[str, Any]) -> tuple[Any, ...]:
    return (a["number"], a["step"], a["state"], a["result"], a["code"], a["extended"],
            a["errortype"], a["severity"], a["final"])


def test_a_message_tells_its_story(world: World, app: TestClient, ro: dict[str, str]) -> None:
    bob = story(app, ro, world.id["bob@dest.test"])
    assert (bob["recipient"], bob["domain"], bob["status"], bob["attempts_made"]) == (
        "bob@dest.test", "dest.test", "failed", 1)
    assert {k: bob["last"][k] for k in ("step", "state", "code", "extended", "errortype",
                                        "severity")} == {
        "step": 4, "state": "rcptto", "code": "550", "extended": "5.1.1",
        "errortype": "error", "severity": "hard"}
    [a] = bob["attempts"]
    assert attempt(a) == (0, 4, "rcptto", "error", "550", "5.1.1", "error", "hard", True)
    assert (a["mx"], a["ip"], a["duration_ms"]) == ("mx.dest.test", "192.0.2.25", 120)
    assert "User unknown" in a["description"]
    assert [e["type"] for e in bob["events"]] == ["failure"]
    assert bob["events"][0]["data"]["reason"] == "userunknown"
    [err] = bob["errors"]
    assert (err["reason"], err["current"], err["received_id"]) == ("userunknown", True, None)
    assert bob["bounces"] == [] and bob["finished_at"] is not None
    # Accepted, then a DSN came back: the story has both.
    fay = story(app, ro, world.id["fay@dest.test"])
    assert [attempt(a) for a in fay["attempts"]] == [
        (0, 4, "data", "accepted", "250", "2.0.0", None, None, True)]
    assert [e["type"] for e in fay["events"]] == ["delivery", "bounce", "failure"]
    assert [(e["errortype"], e["state"], e["received_id"]) for e in fay["errors"]] == [
        ("mailerror", "bounce", world.received["dsn"])]
    [b] = fay["bounces"]
    assert (b["id"], b["kind"], b["tied_by"], b["status"]) == (
        world.received["dsn"], "failure", "verp", "processed")
    assert (fay["fields"], fay["tags"]) == ({"name": "Fay"}, ["spring"])
    assert fay["mailing"] == {**fay["mailing"], "id": world.mailing["spring"],
                              "name": "spring", "sender": NEWS, "tags": ["spring"]}
    # Greylisted, then delivered a day later: two attempts, a retry and a delivery.
    ivy = story(app, ro, world.id["ivy@dest.test"])
    assert [attempt(a) for a in ivy["attempts"]] == [
        (0, 4, "rcptto", "error", "451", "4.7.1", "error", "soft", False),
        (1, 4, "data", "accepted", "250", "2.0.0", None, None, True)]
    assert [e["type"] for e in ivy["events"]] == ["retry", "delivery"]
    assert ivy["status"] == "delivered" and ivy["errors"] == []
    # Still being retried: when next.
    cy = story(app, ro, world.id["cy@other.test"])
    assert cy["status"] == "deferred" and cy["next_attempt_at"] is not None
    assert [e["type"] for e in cy["events"]] == ["retry"]
    # An auto-reply is a returned message and an error row, never a failure event.
    gus = story(app, ro, world.id["gus@dest.test"])
    assert [e["type"] for e in gus["events"]] == ["delivery", "bounce", "autoreply"]
    assert [e["errortype"] for e in gus["errors"]] == ["mailmessage"]


def test_unknown_or_malformed_message_ids(app: TestClient, ro: dict[str, str]) -> None:
    for message_id, status in [
            ("0123456789abcdef", 404), ("f" * 40, 404), ("XYZ", 422),
            ("0123456789ABCDEF", 422), ("a" * 41, 422), ("12-34", 422), ("%00", 422)]:
        detail = problem(app.get(f"/api/v1/messages/{message_id}", headers=ro), status)
        if status == 404:
            assert detail == f"no message {message_id}"


def test_a_bounce_and_its_bytes(world: World, app: TestClient, ro: dict[str, str]) -> None:
    rid = world.received["dsn"]
    r = app.get(f"/api/v1/bounces/{rid}", headers=ro)
    assert r.status_code == 200, r.text
    b = r.json()
    raw = world.raw["dsn"]
    assert {k: b[k] for k in ("id", "source", "peer", "helo", "mail_from", "size", "status",
                              "tied_by", "kind", "error", "message_id", "mailing_id",
                              "recipient", "rcpts", "digest", "times_processed")} == {
        "id": rid, "source": "smtp", "peer": "192.0.2.7", "helo": "mx.dest.test",
        "mail_from": "", "size": len(raw), "status": "processed", "tied_by": "verp",
        "kind": "failure", "error": None, "message_id": world.id["fay@dest.test"],
        "mailing_id": world.mailing["spring"], "recipient": "fay@dest.test",
        "rcpts": [world.envelope("fay@dest.test")],
        "digest": hashlib.sha256(raw).hexdigest(), "times_processed": 1}
    assert b["detector"]
    [err] = b["errors"]
    assert (err["recipient"], err["code"], err["extended"], err["reason"]) == (
        "fay@dest.test", "550", "5.1.1", "userunknown")
    # The stranger's DSN was read twice and classified anew: both rows, the old one
    # no longer current.
    stranger = app.get(f"/api/v1/bounces/{world.received['stranger']}", headers=ro).json()
    assert stranger["message_id"] is None and stranger["times_processed"] == 2
    assert [(e["current"], e["severity"]) for e in stranger["errors"]] == [
        (False, "hard"), (True, "soft")]
    complaint = app.get(f"/api/v1/bounces/{world.received['complaint']}", headers=ro).json()
    assert (complaint["kind"], complaint["errors"]) == ("complaint", [])
    # The bytes, exactly as received: shown inline, or downloaded.
    for name, data in world.raw.items():
        got = app.get(f"/api/v1/bounces/{world.received[name]}/raw", headers=ro)
        assert got.status_code == 200 and got.content == data, name
    shown = app.get(f"/api/v1/bounces/{rid}/raw", headers=ro)
    assert shown.headers["content-type"] == "message/rfc822"
    assert shown.headers["content-disposition"] == f'inline; filename="bounce-{rid}.eml"'
    assert shown.headers["x-content-type-options"] == "nosniff"
    saved = app.get(f"/api/v1/bounces/{rid}/raw?download=1", headers=ro)
    assert saved.content == raw
    assert saved.headers["content-disposition"] == f'attachment; filename="bounce-{rid}.eml"'
    assert app.get(f"/api/v1/bounces/{rid}/raw?download=false", headers=ro).headers[
        "content-disposition"].startswith("inline;")
    problem(app.get(f"/api/v1/bounces/{rid}/raw?download=maybe", headers=ro), 422)


def test_unknown_or_malformed_bounce_ids(app: TestClient, ro: dict[str, str]) -> None:
    for path, status in [
            ("/api/v1/bounces/999999", 404), ("/api/v1/bounces/999999/raw", 404),
            ("/api/v1/bounces/abc", 422), ("/api/v1/bounces/abc/raw", 422),
            ("/api/v1/bounces/0", 422), ("/api/v1/bounces/-1/raw", 422),
            (f"/api/v1/bounces/{2**63}", 422)]:
        detail = problem(app.get(path, headers=ro), status)
        if status == 404:
            assert detail == "no returned message 999999"
