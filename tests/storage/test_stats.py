"""The daily counters (storage.stats) kept by the real writers agree with a recount.

A script of sends, retries, bounces, auto-replies, complaints and a reprocessing that
changes a bounce's classification runs through storage.messages.record and the inbound
pipeline (the World of test_suppressions); afterwards the counters the writers kept must
equal storage.stats.rebuild's recount from the rows, and the report must say what the
script did. Both backends.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select

from bounceloop.core.severity import Convention
from bounceloop.core.suppression import Policy
from bounceloop.delivery.result import StepResult
from bounceloop.inbound.process import run_batch
from bounceloop.storage import received, stats
from bounceloop.storage.tables import stats as stats_table
from bounceloop.testing import bounces
from tests.storage.test_suppressions import (
    BLOCKED,
    FULL_4XX,
    NXDOMAIN,
    OK,
    SHOP,
    T0,
    UNKNOWN,
    Bounce,
    Complain,
    Send,
    World,
)

TEMP = StepResult.reply("rcptto", 451, "4.7.1 Greylisted, try again later")

SCRIPT = [
    Send(0, "a@dest.test", OK),
    Send(0, "b@dest.test", UNKNOWN),
    Send(0, "c@dest.test", BLOCKED, sender=SHOP),
    Send(0.5, "d@dest.test", TEMP),
    Send(1, "e@dead.test", NXDOMAIN),
    Send(1, "f@other.test", FULL_4XX, expire=True),
    Bounce(1.2, "a@dest.test", "5.2.2", "552 5.2.2 <{rcpt}>: Mailbox full"),
    Send(2, "g@dest.test", OK),
    Complain(2, "h@dest.test"),
]


def _counters(engine: Engine) -> dict[tuple[int, str, date, str], int]:
    with engine.connect() as conn:
        return {(r.mailing_id, r.metric, r.day, r.key): int(r.count)
                for r in conn.execute(select(stats_table)) if r.count}


def _recount(engine: Engine) -> dict[tuple[int, str, date, str], int]:
    with engine.begin() as conn:
        stats.rebuild(conn)
    return _counters(engine)


@pytest.fixture
def world(engine: Engine) -> World:
    w = World(engine, Policy())
    for step in SCRIPT:
        w.run(step)
    w.receive(bounces.autoreply("g@dest.test", w.copy("g@dest.test")), "g@dest.test")
    return w


def test_counters_equal_a_recount(world: World, engine: Engine) -> None:
    kept = _counters(engine)
    assert kept, "the writers kept no counters"
    assert kept == _recount(engine)


def test_report_says_what_happened(world: World, engine: Engine) -> None:
    day0 = T0.date()
    with engine.connect() as conn:
        r = stats.report(conn, since=day0, until=day0 + timedelta(days=2), now=world.now)
    assert r.totals == {"sent": 8, "delivered": 3, "deferred": 1, "failed": 4,
                        "bounced": 1, "returned": 1, "complaint": 1}
    assert r.daily["sent"] == [4, 2, 2]
    assert r.daily["failed"] == [2, 2, 0]
    assert r.daily["bounced"] == [0, 1, 0]
    b = dict(r.breakdowns["reason"])
    assert b == {"userunknown": 1, "blocked": 1, "hostunknown": 1, "expired": 1,
                 "mailboxfull": 1, "vacation": 1}
    assert dict(r.breakdowns["severity"]) == {"hard": 4, "soft": 1, "": 1}
    assert dict(r.breakdowns["step"]) == {"4": 3, "1": 1, "5": 2}
    assert dict(r.breakdowns["domain"])["dest.test"] == 4
    assert r.suppressed >= 2  # userunknown and the complaint at least


def test_per_mailing_and_range(world: World, engine: Engine) -> None:
    day0 = T0.date()
    shop = world.mailings[SHOP]
    with engine.connect() as conn:
        mine = stats.report(conn, since=day0, until=day0, mailing=shop, now=world.now)
        later = stats.report(conn, since=day0 + timedelta(days=2),
                             until=day0 + timedelta(days=2), now=world.now)
    assert mine.totals["sent"] == 1 and mine.totals["failed"] == 1
    assert dict(mine.breakdowns["reason"]) == {"blocked": 1}
    assert later.totals["sent"] == 2 and later.totals["failed"] == 0


def test_a_reprocessing_moves_the_counts(world: World, engine: Engine) -> None:
    """Reprocessed under another severity convention, the bounce's row is replaced: its
    old severity is taken off and the new one added; the recount agrees."""
    before = _counters(engine)
    ctx = replace(world.ctx, convention=Convention.STEPS_1_3)
    with engine.connect() as conn:
        ids = received.ids_since(conn, None)
    run_batch(engine, ctx, ids, clock=lambda: world.now)
    after = _counters(engine)
    assert after != before
    assert after == _recount(engine)
    bounce_day = (T0 + timedelta(days=1.2)).date()
    # The 5.2.2 bounce: hard under "code"; soft under steps-1-3 (step 5 is past step 3).
    assert before.get((0, "severity", bounce_day, "hard"), 0) - 1 == \
        after.get((0, "severity", bounce_day, "hard"), 0)
    assert after[(0, "outcome", bounce_day, "bounced")] == 1


def test_bad_ranges(engine: Engine) -> None:
    day = T0.date()
    with engine.connect() as conn, pytest.raises(ValueError, match="before"):
        stats.report(conn, since=day, until=day - timedelta(days=1), now=T0)
    with engine.connect() as conn, pytest.raises(ValueError, match="at most"):
        stats.report(conn, since=day, until=day + timedelta(days=stats.MAX_DAYS), now=T0)


def test_empty_report_has_every_day(engine: Engine) -> None:
    day = T0.date()
    with engine.connect() as conn:
        r = stats.report(conn, since=day, until=day + timedelta(days=6), now=T0)
    assert len(r.days) == 7 and all(v == [0] * 7 for v in r.daily.values())
    assert r.totals == dict.fromkeys(stats.OUTCOMES, 0)
