"""observability.queue: the outbox's depth and age, read at each scrape. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from bounceloop.observability.queue import QueueCollector
from bounceloop.storage import outbox
from bounceloop.storage.engine import create_engine

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _registry(db: Engine) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(QueueCollector(db, clock=lambda: NOW))
    return registry


def test_depth_by_kind_and_status_and_the_oldest_due(engine: Engine) -> None:
    with engine.begin() as conn:
        for minutes in (30, 5):
            outbox.enqueue(conn, "deliver", run_at=NOW - timedelta(minutes=minutes))
        outbox.enqueue(conn, "deliver", run_at=NOW + timedelta(hours=1))  # a retry, not due
        outbox.enqueue(conn, "webhook", run_at=NOW + timedelta(minutes=1))
        dead = outbox.enqueue(conn, "bounce", run_at=NOW - timedelta(days=1))
        done = outbox.enqueue(conn, "bounce", run_at=NOW - timedelta(days=2))
    claimed = outbox.claim(engine, ["bounce"], "w", 10, 60, NOW)
    assert {j.id for j in claimed} == {dead, done}
    with engine.begin() as conn:
        assert outbox.fail(conn, dead, "w", "broken")
        assert outbox.complete(conn, done, "w")
    r = _registry(engine)
    assert r.get_sample_value("bounceloop_queue_jobs",
                              {"kind": "deliver", "status": "pending"}) == 3
    assert r.get_sample_value("bounceloop_queue_jobs",
                              {"kind": "webhook", "status": "pending"}) == 1
    assert r.get_sample_value("bounceloop_queue_jobs",
                              {"kind": "bounce", "status": "dead"}) == 1
    assert r.get_sample_value("bounceloop_queue_jobs",  # done jobs are not counted
                              {"kind": "bounce", "status": "done"}) is None
    assert r.get_sample_value("bounceloop_queue_oldest_seconds", {"kind": "deliver"}) == 1800
    # Nothing due yet: no wait.
    assert r.get_sample_value("bounceloop_queue_oldest_seconds", {"kind": "webhook"}) == 0


def test_a_database_that_does_not_answer_leaves_the_queue_out() -> None:
    db = create_engine("sqlite:////nonexistent/dir/queue.db")
    r = _registry(db)
    assert r.get_sample_value("bounceloop_queue_jobs", {"kind": "deliver",
                                                         "status": "pending"}) is None
    db.dispose()
