"""Reprocessing stored returned mail under the trust rules of issue 16 lifts what the old
rules wrongly decided, with an audit entry that says why, and keeps what they got right.

The old rows are written here as the processing before issue 16 wrote them (a recipient
taken from the report's body, a tie by a bare recipient match or by an unsigned header),
then ``run_batch`` - what ``bounceloop reprocess`` runs - reads the stored messages again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from bounceloop.core.suppression import Failure, Policy
from bounceloop.storage import stats, suppressions
from bounceloop.storage.tables import errors, received, suppression_log
from bounceloop.storage.tables import suppressions as suppressions_table
from bounceloop.testing import bounces
from tests.inbound.test_process import T0, World

LATER = T0 + timedelta(days=1)


@pytest.fixture
def world(engine: Engine) -> World:
    return World(engine)


def old_processing(w: World, rid: int, recipient: str, reason: str, *, kind: str = "failure",
                   tied_by: str = "recipient") -> int | None:
    """What the old rules made of a stored message: tied to ``recipient``'s message by a
    weak clue, an error row against ``recipient`` (none for a complaint) and the
    suppression its rule put on the list. Returns the error row's id."""
    mid = w.id.get(recipient)
    with w.engine.begin() as conn:
        conn.execute(update(received).where(received.c.id == rid).values(
            status="processed", processed_at=T0, times_processed=1, message_id=mid,
            mailing_id=w.mailing if mid else None, recipient=recipient, tied_by=tied_by,
            detector="postfix", kind=kind))
        error_id = None
        if kind == "failure":
            row = {"timestamp": T0, "message_id": mid, "mailing_id": w.mailing if mid else None,
                   "recipient": recipient, "code": "550", "extended": "5.1.1",
                   "description": "550 5.1.1 <x>: Recipient address rejected: User unknown",
                   "errortype": "mailerror", "step": 5, "state": "bounce", "severity": "hard",
                   "reason": reason, "hardbounce": True, "received_id": rid, "current": True,
                   "domain": recipient.rpartition("@")[2]}
            error_id = int(conn.execute(insert(errors).values(row).returning(errors.c.id))
                           .scalar_one())
            tally = stats.Tally()
            tally.error(row)
            stats.bump(conn, tally)
            suppressions.apply(conn, [suppressions.Signal(recipient, T0, Failure(
                T0, reason, "550", "5.1.1", 5, "", error_id))], Policy(), T0)
        else:
            suppressions.apply(conn, [suppressions.Signal(
                recipient, T0, None, "news@sender.test", "abuse")], Policy(), T0)
    return error_id


def entries(w: World, address: str) -> list[Any]:
    with w.engine.connect() as conn:
        return conn.execute(select(suppressions_table).where(
            suppressions_table.c.value == address)).all()


def log_of(w: World, address: str) -> list[Any]:
    with w.engine.connect() as conn:
        return conn.execute(select(suppression_log).where(
            suppression_log.c.value == address).order_by(suppression_log.c.id)).all()


def test_a_forged_report_loses_its_suppression_with_the_reason(world: World) -> None:
    # To the bounce domain, naming ann, with nothing signed: the old rules tied it to
    # ann's message by the recipient alone and suppressed her.
    rid = world.receive(bounces.dsn("ann@dest.test", b"Subject: x\r\n\r\n"))
    old = old_processing(world, rid, "ann@dest.test", "userunknown")
    assert [e.error_id for e in entries(world, "ann@dest.test")] == [old]
    result = world.process(rid)
    assert result.changed == 1
    assert entries(world, "ann@dest.test") == []
    *_, lifted = log_of(world, "ann@dest.test")
    assert (lifted.action, lifted.actor, lifted.error_id) == ("remove", "reprocess", old)
    assert f"returned message r{rid}" in lifted.note
    assert "not tied to mail we sent to ann@dest.test" in lifted.note
    # The old row is history; the new one is evidence against no address.
    rows = world.errors(rid, current=False)
    assert [(r.current, r.recipient, r.tied) for r in rows] == [
        (False, "ann@dest.test", True), (True, "", False)]
    # The statistics no longer count it.
    with world.engine.connect() as conn:
        report = stats.report(conn, since=T0.date(), until=T0.date(), now=LATER)
    assert report.totals["bounced"] == 0 and report.breakdowns["reason"] == []


def test_a_report_at_bobs_address_naming_ann_is_lifted_from_ann(world: World) -> None:
    """Bob's own VERP address, a report naming ann: the old rules suppressed ann."""
    rid = world.receive(bounces.dsn("ann@dest.test", world.copy("bob@dest.test")),
                        (world.envelope["bob@dest.test"],))
    old_processing(world, rid, "ann@dest.test", "userunknown", tied_by="verp")
    world.process(rid)
    assert entries(world, "ann@dest.test") == []
    note = log_of(world, "ann@dest.test")[-1].note
    assert f"answers our message {world.id['bob@dest.test']} to bob@dest.test" in note
    assert "ann@dest.test was only named in it" in note
    assert entries(world, "bob@dest.test") == []  # nor is bob suppressed by it


def test_a_forged_complaint_is_lifted_and_a_genuine_one_kept(world: World) -> None:
    forged = world.receive(bounces.arf("di@dest.test", b"Subject: hi\r\n\r\nx\r\n"))
    old_processing(world, forged, "di@dest.test", "complaint", kind="complaint")
    genuine = world.receive(bounces.arf("cy@dest.test", world.copy("cy@dest.test")))
    old_processing(world, genuine, "cy@dest.test", "complaint", kind="complaint",
                   tied_by="header")
    world.process(forged, genuine)
    assert entries(world, "di@dest.test") == []
    assert "the complaint came from returned message" in log_of(world, "di@dest.test")[-1].note
    assert [(e.reason, e.sender) for e in entries(world, "cy@dest.test")] == [
        ("complaint", "news@sender.test")]
    assert [r.action for r in log_of(world, "cy@dest.test")] == ["add"]


def test_a_genuine_failure_keeps_its_entry(world: World) -> None:
    rid = world.receive(bounces.dsn("cy@dest.test", world.copy("cy@dest.test")),
                        (world.envelope["cy@dest.test"],))
    world.process(rid)  # processed under the current rules
    [entry] = entries(world, "cy@dest.test")
    world.process(rid)  # and again: nothing changes
    assert entries(world, "cy@dest.test") == [entry]
    assert [r.action for r in log_of(world, "cy@dest.test")] == ["add"]


def test_another_failure_of_the_address_is_weighed_again(world: World) -> None:
    """Ann also failed at RCPT (a synchronous 550 5.1.1) after the forged report had
    suppressed her: the list holds one entry an address, the forged one. Lifting it must
    not lift what her own failure earned."""
    rid = world.receive(bounces.dsn("ann@dest.test", b"Subject: x\r\n\r\n"))
    old_processing(world, rid, "ann@dest.test", "userunknown")
    with world.engine.begin() as conn:
        sync = int(conn.execute(insert(errors).values(
            timestamp=T0 + timedelta(hours=1), message_id=world.id["ann@dest.test"],
            mailing_id=world.mailing, recipient="ann@dest.test", code="550",
            extended="5.1.1", description="550 5.1.1 no such user", errortype="error",
            step=4, state="rcptto", severity="hard", reason="userunknown", hardbounce=True,
            current=True, domain="dest.test").returning(errors.c.id)).scalar_one())
    world.process(rid)
    [entry] = entries(world, "ann@dest.test")
    assert (entry.reason, entry.error_id) == ("userunknown", sync)
    assert [(r.action, r.actor) for r in log_of(world, "ann@dest.test")] == [
        ("add", "rule"), ("remove", "reprocess"), ("add", "rule")]


def test_the_postfix_alias_dsn_moves_to_our_recipient(world: World) -> None:
    """Old rules: the error and the suppression of the forward's target. Now: ours."""
    raw = bounces.dsn("someone@nx2.test", world.copy("ann@dest.test")).replace(
        b"Original-Recipient: rfc822;someone@nx2.test",
        b"Original-Recipient: rfc822;ann@dest.test")
    rid = world.receive(raw, (world.envelope["ann@dest.test"],))
    old_processing(world, rid, "someone@nx2.test", "userunknown", tied_by="verp")
    world.process(rid)
    assert entries(world, "someone@nx2.test") == []
    assert [e.reason for e in entries(world, "ann@dest.test")] == ["userunknown"]
    [row] = world.errors(rid)
    assert (row.recipient, row.reported_recipient, row.tied) == (
        "ann@dest.test", "someone@nx2.test", True)
