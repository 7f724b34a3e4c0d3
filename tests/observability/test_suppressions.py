"""observability.suppressions: list changes counted from the database's log. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from bounceloop.observability.suppressions import SETTLE, SuppressionCollector
from bounceloop.storage import suppressions
from bounceloop.storage.engine import create_engine

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _add(db: Engine, value: str, when: datetime, source: str = "manual") -> None:
    with db.begin() as conn:
        assert suppressions.put(conn, suppressions.manual("email", value), source=source,
                                actor="test", now=when) is not None


def _value(r: CollectorRegistry, action: str, source: str) -> float | None:
    return r.get_sample_value("bounceloop_suppression_changes_total",
                              {"action": action, "source": source})


def test_changes_by_action_and_source_settle_once_and_stay_counted(engine: Engine) -> None:
    clock = Clock()
    registry = CollectorRegistry()
    registry.register(SuppressionCollector(engine, clock))
    _add(engine, "a@x.test", T0 - timedelta(days=3))
    _add(engine, "b@x.test", T0 - timedelta(seconds=5), source="import")
    assert (_value(registry, "add", "manual"), _value(registry, "add", "import")) == (1, 1)
    # A change stamped a moment ago, before the next scrape, then a removal and an expiry.
    _add(engine, "c@x.test", T0 - timedelta(seconds=1))
    with engine.begin() as conn:
        assert suppressions.remove(conn, "email", "a@x.test", actor="test", now=T0)
        suppressions.put(conn, suppressions.manual("email", "d@x.test",
                                                   expires_at=T0 + timedelta(minutes=1)),
                         source="manual", actor="test", now=T0)
    assert (_value(registry, "add", "manual"), _value(registry, "remove", "manual")) == (3, 1)
    clock.now = T0 + timedelta(seconds=SETTLE + 60)  # everything so far has settled
    with engine.begin() as conn:
        assert suppressions.expire(conn, clock.now) == 1
    for _ in range(3):  # settled spans are added once, however often it is scraped
        assert (_value(registry, "add", "manual"), _value(registry, "add", "import"),
                _value(registry, "remove", "manual"), _value(registry, "expire", "manual")
                ) == (3, 1, 1, 1)
    # A second process that starts now counts the same from the log.
    fresh = CollectorRegistry()
    fresh.register(SuppressionCollector(engine, clock))
    assert _value(fresh, "add", "manual") == 3 and _value(fresh, "expire", "manual") == 1


def test_a_database_that_does_not_answer_leaves_them_out() -> None:
    db = create_engine("sqlite:////nonexistent/dir/s.db")
    registry = CollectorRegistry()
    registry.register(SuppressionCollector(db))
    assert _value(registry, "add", "manual") is None
    db.dispose()
