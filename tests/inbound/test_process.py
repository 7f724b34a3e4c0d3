"""Processing stored returned mail: every kind, every way of tying it, idempotence, history.

Runs on both backends with the real storage; the returned messages are built the way
real MTAs write them (bounceloop.testing.bounces) around the copy our MX would have had.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bounceloop.config import Settings
from bounceloop.core import signed
from bounceloop.inbound.process import Context, run_batch
from bounceloop.storage import messages as store
from bounceloop.storage import received
from bounceloop.storage.tables import errors, events
from bounceloop.testing import bounces
from bounceloop.webhooks.wire import fields, form

DOMAIN = "bounces.sender.test"
SECRET = "process-secret"
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
MIME = (b"Message-ID: <spring-2026@sender.test>\r\nFrom: news@sender.test\r\n"
        b"Subject: Spring\r\n\r\nHello.\r\n")


class World:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ctx = Context.of(Settings(bounce_domain=DOMAIN, verp_secret=SECRET))
        with engine.begin() as conn:
            self.mailing = store.create_mailing(
                conn, name="spring", sender="news@sender.test", mime=MIME, tags=["spring"],
                retry_schedule=None, max_delivery_time=None, now=T0)
            rcpts = ["ann@dest.test", "bob@dest.test", "cy@dest.test", "di@dest.test"]
            ids = store.queue(conn, self.mailing, "news@sender.test",
                              [store.NewMessage(r, tags=("t1", r[:2])) for r in rcpts],
                              bounce_domain=DOMAIN, verp_secret=SECRET, max_delivery_time=60,
                              now=T0)
        self.id = dict(zip(rcpts, ids, strict=True))
        with engine.connect() as conn:
            self.envelope = {r.recipient: r.envelope for r in conn.execute(
                select(store.messages))}

    def copy(self, rcpt: str) -> bytes:
        """The message as the MX received it: our signed header (as delivery.engine puts
        it there), the recipient, then the document."""
        _, head = signed.stamp(secret=SECRET, recipients=[(self.id[rcpt], rcpt)],
                               mailing_id=self.mailing)
        return head + f"To: {rcpt}\r\n".encode() + MIME

    def token(self, rcpt: str) -> str:
        return signed.message_token(self.id[rcpt], rcpt, SECRET)

    def receive(self, raw: bytes, rcpts: tuple[str, ...] = ()) -> int:
        [rid] = received.store_many(self.engine, [received.Incoming(
            raw=raw, mail_from="", rcpts=rcpts, received_at=T0)])
        return rid

    def process(self, *ids: int) -> Any:
        return run_batch(self.engine, self.ctx, list(ids), clock=lambda: T0)

    def row(self, rid: int) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(received.received).where(
                received.received.c.id == rid)).one()

    def errors(self, rid: int, current: bool = True) -> list[Any]:
        with self.engine.connect() as conn:
            stmt = select(errors).where(errors.c.received_id == rid).order_by(errors.c.id)
            if current:
                stmt = stmt.where(errors.c.current.is_(True))
            return conn.execute(stmt).all()

    def events(self) -> list[tuple[str, str | None, dict[str, Any]]]:
        with self.engine.connect() as conn:
            return [(e.type, e.message_id, json.loads(e.data)) for e in conn.execute(
                select(events).order_by(events.c.id))]


@pytest.fixture
def world(engine: Engine) -> World:
    return World(engine)


def test_a_dsn_to_a_verp_address_is_a_failure_tied_by_verp(world: World) -> None:
    rid = world.receive(bounces.dsn("ann@dest.test", world.copy("ann@dest.test")),
                        (world.envelope["ann@dest.test"],))
    world.process(rid)
    row = world.row(rid)
    assert (row.status, row.message_id, row.tied_by, row.kind, row.detector,
            row.recipient, row.times_processed) == (
        "processed", world.id["ann@dest.test"], "verp", "failure", "postfix",
        "ann@dest.test", 1)
    [err] = world.errors(rid)
    assert (err.message_id, err.mailing_id, err.recipient, err.step, err.state, err.errortype,
            err.code, err.extended, err.severity, err.reason, err.hardbounce) == (
        world.id["ann@dest.test"], world.mailing, "ann@dest.test", 5, "bounce", "mailerror",
        "550", "5.1.1", "hard", "userunknown", True)
    kinds = [(t, mid) for t, mid, _ in world.events()]
    assert kinds == [("bounce", world.id["ann@dest.test"]),
                     ("failure", world.id["ann@dest.test"])]
    _, _, bounce = world.events()[0]
    assert (bounce["recipient"], bounce["envelope"], bounce["tags"], bounce["received"]) == (
        "ann@dest.test", world.envelope["ann@dest.test"], ["t1", "an"], rid)
    _, _, failure = world.events()[1]
    assert {k: failure[k] for k in ("id", "recipient", "action", "state", "code", "extended",
                                    "reason", "severity", "tags", "step", "errortype")} == {
        "id": world.id["ann@dest.test"], "recipient": "ann@dest.test", "action": "failed",
        "state": "bounce", "code": "550", "extended": "5.1.1", "reason": "userunknown",
        "severity": "hard", "tags": ["t1", "an"], "step": 5, "errortype": "mailerror"}
    assert "User unknown" in failure["description"]


Build = Callable[[World], tuple[bytes, str]]

#: How a bounce without a usable VERP address is still tied: (raw, expected tied_by). Each
#: carries a reference we signed (core.signed).
TIES: dict[str, Build] = {
    "header": lambda w: (bounces.dsn("bob@dest.test", w.copy("bob@dest.test")), "header"),
    "envid": lambda w: (bounces.dsn("bob@dest.test", MIME, envid=w.token("bob@dest.test")),
                        "envid"),
    "mailing-envid": lambda w: (bounces.dsn(
        "bob@dest.test", b"Subject: x\r\n\r\n",
        envid=signed.mailing_token(w.mailing, "dest.test", SECRET)), "envid"),
    "message-id": lambda w: (bounces.dsn("bob@dest.test", (
        f"Message-ID: <{w.token('bob@dest.test')}@{DOMAIN}>\r\n".encode()
        + MIME.split(b"\r\n", 1)[1])), "message-id"),
    "mailing-header": lambda w: (bounces.dsn(
        "bob@dest.test", f"X-Bounceloop-Mailing: "
        f"{signed.mailing_token(w.mailing, 'dest.test', SECRET)}\r\n".encode() + MIME),
        "header"),
}


@pytest.mark.parametrize("how", list(TIES))
def test_without_verp_a_signed_header_envid_or_message_id_ties_it(
        world: World, how: str) -> None:
    raw, expected = TIES[how](world)
    rid = world.receive(raw)
    world.process(rid)
    row = world.row(rid)
    assert (row.message_id, row.tied_by) == (world.id["bob@dest.test"], expected)
    [err] = world.errors(rid)
    assert err.message_id == world.id["bob@dest.test"] and err.errortype == "mailerror"
    assert err.tied and err.recipient == "bob@dest.test"


#: What ties nothing (issue 16), and the hint it leaves for a person: (raw, hint_by).
UNTIED: dict[str, Build] = {
    # Our header or ENVID as we sent them before they were signed - or as a forger writes.
    "unsigned-header": lambda w: (bounces.dsn("bob@dest.test", (
        f"X-Bounceloop-Id: {w.id['bob@dest.test']}\r\n".encode() + MIME)), "unsigned"),
    "unsigned-envid": lambda w: (bounces.dsn("bob@dest.test", MIME,
                                             envid=w.id["bob@dest.test"]), "unsigned"),
    "unsigned-mailing": lambda w: (bounces.dsn(
        "bob@dest.test", f"X-Bounceloop-Mailing: {w.mailing}\r\n".encode() + MIME),
        "message-id"),
    # The document's own Message-ID, the same in every copy of the mailing.
    "document-message-id": lambda w: (bounces.dsn("bob@dest.test", MIME), "message-id"),
    "recipient": lambda w: (bounces.dsn("bob@dest.test", b"Subject: other\r\n\r\n"),
                            "recipient"),
    # Signed, but for bob: a report naming ann with bob's header.
    "another-recipient": lambda w: (bounces.dsn("ann@dest.test", w.copy("bob@dest.test")),
                                    "header"),
}


@pytest.mark.parametrize("how", list(UNTIED))
def test_what_ties_nothing_is_kept_as_evidence_with_a_hint(world: World, how: str) -> None:
    raw, hint_by = UNTIED[how](world)
    rid = world.receive(raw)
    world.process(rid)
    row = world.row(rid)
    assert (row.message_id, row.recipient, row.tied_by, row.hint_by) == (
        None, None, "", hint_by)
    assert row.hint_message_id == world.id["bob@dest.test"]
    [err] = world.errors(rid)
    assert (err.tied, err.message_id, err.mailing_id, err.recipient, err.domain) == (
        False, None, None, "", None)
    assert err.reported_recipient in ("bob@dest.test", "ann@dest.test")
    # Only the bounce event, tied=0: no failure event, no webhook naming an address.
    [(kind, message_id, data)] = world.events()
    assert (kind, message_id, data["tied"], data["id"], data["recipient"]) == (
        "bounce", None, 0, "", "")


def test_verp_wins_over_what_the_body_says(world: World) -> None:
    # A bounce at cy's envelope that quotes ann's headers (a forwarded copy): the envelope
    # is exact, the body is a clue.
    rid = world.receive(bounces.dsn("cy@dest.test", world.copy("ann@dest.test")),
                        (world.envelope["cy@dest.test"],))
    world.process(rid)
    assert (world.row(rid).message_id, world.row(rid).tied_by) == (
        world.id["cy@dest.test"], "verp")


def test_an_unknown_recipient_with_no_clue_stays_untied_but_is_kept(world: World) -> None:
    rid = world.receive(bounces.dsn("stranger@else.test", b"Subject: x\r\n\r\n"))
    world.process(rid)
    row = world.row(rid)
    assert (row.message_id, row.tied_by, row.kind, row.reported_recipient) == (
        None, "", "failure", "stranger@else.test")
    [err] = world.errors(rid)
    assert (err.message_id, err.recipient, err.reported_recipient, err.tied,
            err.errortype) == (None, "", "stranger@else.test", False, "mailerror")
    assert [t for t, _, _ in world.events()] == ["bounce"]


@pytest.mark.parametrize(("build", "kind", "event", "errortype"), [
    (lambda w: bounces.qmail("cy@dest.test", w.copy("cy@dest.test")), "failure", "failure",
     "mailerror"),
    (lambda w: bounces.exim("cy@dest.test", w.copy("cy@dest.test")), "failure", "failure",
     "mailerror"),
    (lambda w: bounces.dsn("cy@dest.test", w.copy("cy@dest.test"), status="4.2.2",
                           diagnostic="452 4.2.2 Mailbox full", action="delayed"),
     "delay", "delay", None),
    (lambda w: bounces.autoreply("cy@dest.test", w.copy("cy@dest.test")), "autoreply",
     "autoreply", "mailmessage"),
    (lambda w: bounces.arf("cy@dest.test", w.copy("cy@dest.test")), "complaint",
     "complaint", None),
    (lambda w: bounces.unknown(w.copy("cy@dest.test")), "unrecognized", None, "mailmessage"),
], ids=["qmail", "exim", "delayed", "autoreply", "arf", "unknown"])
def test_each_kind_of_returned_mail(world: World, build: Callable[[World], bytes],
                                    kind: str, event: str | None,
                                    errortype: str | None) -> None:
    rid = world.receive(build(world), (world.envelope["cy@dest.test"],))
    world.process(rid)
    row = world.row(rid)
    assert (row.kind, row.message_id, row.status) == (kind, world.id["cy@dest.test"],
                                                      "processed")
    types = [t for t, _, _ in world.events()]
    assert types == ["bounce"] + ([event] if event else [])
    # Only a recognised failure is a failure: delays, complaints and auto-replies never.
    assert ("failure" in types) == (kind == "failure")
    errs = world.errors(rid)
    assert [e.errortype for e in errs] == ([errortype] if errortype else [])
    if errortype == "mailmessage":
        assert errs[0].severity == "" and not errs[0].hardbounce
    if kind == "complaint":
        assert world.events()[1][2]["feedback_type"] == "abuse"


def test_processing_twice_creates_no_duplicates(world: World) -> None:
    rid = world.receive(bounces.dsn("ann@dest.test", world.copy("ann@dest.test")),
                        (world.envelope["ann@dest.test"],))
    world.process(rid)
    before = (world.errors(rid, current=False), world.events())
    result = world.process(rid)
    assert result.changed == 0
    assert (world.errors(rid, current=False), world.events()) == before
    assert world.row(rid).times_processed == 2


def test_reprocessing_that_changes_the_classification_keeps_history(world: World) -> None:
    """As after a parser upgrade: the stored error row no longer matches what the parser
    reads now. The old row stays (current false), the new one is current, and a
    reclassified event says what changed; the failure event is not sent again."""
    rid = world.receive(bounces.dsn("ann@dest.test", world.copy("ann@dest.test")),
                        (world.envelope["ann@dest.test"],))
    world.process(rid)
    with world.engine.begin() as conn:  # what an older parser had said
        conn.execute(errors.update().where(errors.c.received_id == rid).values(
            reason="undefined", severity="soft", hardbounce=False))
    assert world.process(rid).changed == 1
    old, new = world.errors(rid, current=False)
    assert (old.current, old.reason) == (False, "undefined")
    assert (new.current, new.reason, new.hardbounce) == (True, "userunknown", True)
    types = [t for t, _, _ in world.events()]
    assert types == ["bounce", "failure", "reclassified"]
    change = world.events()[2][2]
    assert change["before"][0]["reason"] == "undefined"
    assert change["after"][0]["reason"] == "userunknown"
    # Once more: nothing new.
    assert world.process(rid).changed == 0
    assert len(world.events()) == 3


def test_reprocessing_fills_the_explanation_of_older_rows_in_place(world: World) -> None:
    """Rows written before the rule was kept (migration 0010) have none: reprocessing fills
    it in place when the classification is unchanged - no new row, no reclassified event."""
    rid = world.receive(bounces.dsn("ann@dest.test", world.copy("ann@dest.test")),
                        (world.envelope["ann@dest.test"],))
    world.process(rid)
    [fresh] = world.errors(rid)
    assert (fresh.rule, fresh.matched, fresh.detector) == ("status:5.1.1", "5.1.1", "postfix")
    with world.engine.begin() as conn:  # as a row from before the migration
        conn.execute(errors.update().where(errors.c.received_id == rid).values(
            rule=None, matched=None, detector=None))
    events_before = world.events()
    assert world.process(rid).changed == 0
    [row] = world.errors(rid, current=False)
    assert (row.id, row.rule, row.matched, row.detector) == (
        fresh.id, "status:5.1.1", "5.1.1", "postfix")
    assert world.events() == events_before


def test_a_many_recipient_dsn_ties_each_record_to_its_own_message(world: World) -> None:
    """A transaction of several recipients (no VERP) carries a mailing token signed for
    their domain: each record naming a recipient of that mailing there acts on its own
    message; one naming an address we never mailed is evidence only."""
    token = signed.mailing_token(world.mailing, "dest.test", SECRET)
    copy = f"X-Bounceloop-Mailing: {token}\r\n".encode() + MIME
    raw = bounces.dsn("ann@dest.test", copy).replace(
        b"Final-Recipient: rfc822; ann@dest.test\r\nOriginal-Recipient: rfc822;ann@dest.test"
        b"\r\nAction: failed\r\nStatus: 5.1.1\r\n",
        b"Final-Recipient: rfc822; ann@dest.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"Remote-MTA: dns; mx.dest.test\r\nDiagnostic-Code: smtp; 550 5.1.1 unknown\r\n\r\n"
        b"Final-Recipient: rfc822; never@dest.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"\r\n"
        b"Final-Recipient: rfc822; di@dest.test\r\nAction: failed\r\nStatus: 5.2.2\r\n")
    rid = world.receive(raw)
    world.process(rid)
    errs = world.errors(rid)
    assert sorted((e.recipient, e.message_id, e.tied, e.reported_recipient) for e in errs) == [
        ("", None, False, "never@dest.test"),
        ("ann@dest.test", world.id["ann@dest.test"], True, None),
        ("di@dest.test", world.id["di@dest.test"], True, None)]
    assert [(t, d["recipient"]) for t, _, d in world.events()] == [
        ("bounce", "ann@dest.test"), ("failure", "ann@dest.test"),
        ("failure", "di@dest.test")]


def test_garbage_is_kept_and_named(world: World) -> None:
    rid = world.receive(b"\x00\xff" * 100, (world.envelope["di@dest.test"],))
    world.process(rid)
    row = world.row(rid)
    assert row.status in ("processed", "failed") and row.message_id == world.id["di@dest.test"]
    assert [t for t, _, _ in world.events()] == ["bounce"]


@pytest.mark.parametrize("processes", [0, 1])
async def test_the_processor_takes_due_jobs_parsing_in_a_thread_or_a_process(
        world: World, processes: int) -> None:
    import asyncio
    import os
    import signal

    from bounceloop.inbound.process import Processor
    from bounceloop.storage import outbox
    from bounceloop.storage.tables import jobs

    settings = Settings(bounce_domain=DOMAIN, verp_secret=SECRET, job_lease=30)
    processor = Processor(settings, world.engine, "test-worker", parse_processes=processes)
    try:
        first = world.receive(bounces.dsn("ann@dest.test", world.copy("ann@dest.test")),
                              (world.envelope["ann@dest.test"],))
        assert await processor.round() == 1
        assert world.row(first).kind == "failure"
        if processes:
            # A parser process that dies is replaced; the round still gets done.
            assert processor.parser is not None and processor.parser._pool is not None
            for pid in list(processor.parser._pool._processes):  # type: ignore[attr-defined]
                os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.2)
        second = world.receive(bounces.exim("bob@dest.test", world.copy("bob@dest.test")),
                               (world.envelope["bob@dest.test"],))
        assert await processor.round() == 1
        assert world.row(second).kind == "failure"
        assert await processor.round() == 0
    finally:
        processor.close()
    with world.engine.connect() as conn:
        assert {j.status for j in conn.execute(select(jobs).where(
            jobs.c.kind == "bounce"))} == {outbox.DONE}


def test_the_bounce_event_says_why(world: World) -> None:
    """A real MTA's report (Exim gave up after greylisting, from the DSN farm), tied to
    nothing we sent: its bounce event, which webhooks carry, names the first record's
    reason, the rule that decided it, the text it matched, the detector and the expiry
    (issue 18), and the webhook's form body carries them."""
    raw = (Path(__file__).resolve().parents[1] / "data" / "dsnfarm" / "eml"
           / "exim-expire-postgrey.eml").read_bytes()
    rid = world.receive(raw, ("postmaster@" + DOMAIN,))
    world.process(rid)
    [(kind, _, bounce)] = [e for e in world.events() if e[0] == "bounce"]
    why = ("reason", "rule", "matched", "detector", "expired")
    assert tuple(bounce[k] for k in why) == (
        "blocked", "phrase:blocked/greylist", "greylist", "exim", True)
    [err] = world.errors(rid)
    assert tuple(getattr(err, k) for k in why) == tuple(bounce[k] for k in why)
    body = form(fields(kind, "", T0, {**bounce, "mime": b"x"}))
    assert b"&rule=phrase%3Ablocked%2Fgreylist&matched=greylist&detector=exim&expired=1" \
        in body
