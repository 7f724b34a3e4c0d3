"""The HTTP app: ``/health`` (with the database's state) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, update

from bounceloop import __version__
from bounceloop.observability.metrics import Metrics
from bounceloop.storage import messages as store
from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine, utcnow
from bounceloop.storage.tables import messages
from bounceloop.web.app import create_app

#: The engine's metrics, as Prometheus exposes them (counters get ``_total``).
METRIC_NAMES = {
    "bounceloop_delivery_attempts": "counter",
    "bounceloop_messages": "counter",
    "bounceloop_smtp_transaction_seconds": "histogram",
}


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine, Metrics())) as c:
        yield c


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Engine]:
    """For what does not depend on the backend (metrics, routing): SQLite only."""
    db = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    migrate.upgrade(db)
    try:
        yield db
    finally:
        db.dispose()


def _queue(db: Engine, *recipients: str) -> list[str]:
    now = utcnow()
    with db.begin() as conn:
        mailing = store.create_mailing(conn, name="t", sender="news@example.org",
                                       mime=b"Subject: x\r\n\r\nx\r\n", tags=[],
                                       retry_schedule=None, max_delivery_time=None, now=now)
        return store.queue(conn, mailing, "news@example.org",
                           [store.NewMessage(r) for r in recipients], bounce_domain="",
                           verp_secret="", max_delivery_time=3600, now=now)


# ------------------------------------------------------------------------------------------
# /health
# ------------------------------------------------------------------------------------------

def test_health_on_an_empty_database(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "version": __version__, "database": "ok",
                               "messages": {}}


def test_health_counts_messages_by_status(engine: Engine, client: TestClient) -> None:
    ids = _queue(engine, "a@example.org", "b@example.org", "c@example.org")
    with engine.begin() as conn:
        conn.execute(update(messages).where(messages.c.id == ids[0]).values(status="failed"))
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["messages"] == {"queued": 2, "failed": 1}


UNREACHABLE = [
    pytest.param("sqlite:////nonexistent/dir/bounceloop.db", "unable to open database file",
                 id="sqlite-missing-dir"),
    pytest.param("postgresql+psycopg://bl:secret@127.0.0.1:1/x", "OperationalError",
                 id="postgres-refused"),
]


def _health_of(url: str) -> Any:
    """GET /health of an app on the database at ``url`` (disposed afterwards)."""
    db = create_engine(url)
    try:
        with TestClient(create_app(db, Metrics())) as c:
            return c.get("/health")
    finally:
        db.dispose()


@pytest.mark.parametrize(("url", "expected"), UNREACHABLE)
def test_health_reports_an_unreachable_database(url: str, expected: str) -> None:
    response = _health_of(url)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["version"] == __version__
    assert expected in body["database"]
    assert "messages" not in body
    assert "secret" not in body["database"]  # no password in what a probe shows


def test_health_reports_a_database_without_schema(tmp_path: Path) -> None:
    response = _health_of(f"sqlite:///{tmp_path / 'empty.db'}")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert "no such table: messages" in body["database"]


def test_health_recovers_when_the_database_comes_back(tmp_path: Path) -> None:
    db = create_engine(f"sqlite:///{tmp_path / 'late.db'}")
    try:
        with TestClient(create_app(db, Metrics())) as c:
            assert c.get("/health").status_code == 503
            migrate.upgrade(db)
            assert c.get("/health").status_code == 200
    finally:
        db.dispose()


def test_health_is_get_only(sqlite_db: Engine) -> None:
    with TestClient(create_app(sqlite_db, Metrics())) as c:
        assert c.get("/health").status_code == 200
        assert c.post("/health").status_code == 405


def test_api_docs_are_served_under_api_only(sqlite_db: Engine) -> None:
    with TestClient(create_app(sqlite_db, Metrics())) as c:
        assert c.get("/docs").status_code == 404
        assert c.get("/redoc").status_code == 404
        assert c.get("/api/docs").status_code == 200
        paths = c.get("/api/openapi.json").json()["paths"]
        assert "/api/v1/webhooks" in paths and "/api/v1/webhooks/{webhook_id}/replay" in paths


# ------------------------------------------------------------------------------------------
# /metrics
# ------------------------------------------------------------------------------------------

def _metrics_text(metrics: Metrics, db: Engine) -> tuple[str, str]:
    with TestClient(create_app(db, metrics)) as c:
        response = c.get("/metrics")
    assert response.status_code == 200
    return response.headers["content-type"], response.text


def test_metrics_declares_every_engine_metric(sqlite_db: Engine) -> None:
    content_type, text = _metrics_text(Metrics(), sqlite_db)
    assert content_type.startswith("text/plain")
    for name, kind in METRIC_NAMES.items():
        assert f"# TYPE {name} {kind}" in text or f"# TYPE {name}_total {kind}" in text, name
        assert f"# HELP {name}" in text, name


def test_metrics_show_what_was_counted(sqlite_db: Engine) -> None:
    metrics = Metrics()
    metrics.attempts.labels(state="rcptto", result="error").inc(2)
    metrics.count("message", "accepted", "delivered")  # step 4: DATA
    metrics.transaction_seconds.observe(0.02)
    _, text = _metrics_text(metrics, sqlite_db)
    lines = set(text.splitlines())
    assert 'bounceloop_delivery_attempts_total{result="error",state="rcptto"} 2.0' in lines
    assert 'bounceloop_delivery_attempts_total{result="accepted",state="message"} 1.0' in lines
    assert 'bounceloop_messages_total{status="delivered",step="4"} 1.0' in lines
    assert "bounceloop_smtp_transaction_seconds_count 1.0" in lines
    assert 'bounceloop_smtp_transaction_seconds_bucket{le="0.01"} 0.0' in lines
    assert 'bounceloop_smtp_transaction_seconds_bucket{le="0.025"} 1.0' in lines
    assert 'bounceloop_smtp_transaction_seconds_bucket{le="+Inf"} 1.0' in lines


def test_metrics_registries_are_per_app(sqlite_db: Engine) -> None:
    # No module-level globals: one process's counts do not show in another's registry, and
    # the default registry's process/GC metrics are not mixed in.
    counted, fresh = Metrics(), Metrics()
    counted.outcomes.labels(status="failed", step="1").inc()
    _, text = _metrics_text(fresh, sqlite_db)
    assert 'bounceloop_messages_total{status="failed",step="1"}' not in text
    assert "python_gc_objects_collected_total" not in text
    _, text = _metrics_text(counted, sqlite_db)
    assert 'bounceloop_messages_total{status="failed",step="1"} 1.0' in text


def test_metrics_on_a_given_registry() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    assert metrics.registry is registry
    metrics.outcomes.labels(status="deferred", step="2").inc()
    assert registry.get_sample_value("bounceloop_messages_total",
                                     {"status": "deferred", "step": "2"}) == 1.0


def test_metrics_work_while_the_database_is_down() -> None:
    db = create_engine("sqlite:////nonexistent/dir/bounceloop.db")
    try:
        _, text = _metrics_text(Metrics(), db)
    finally:
        db.dispose()
    assert "# TYPE bounceloop_messages_total counter" in text


def test_ready_when_the_schema_is_this_versions(client: TestClient, engine: Engine) -> None:
    r = client.get("/ready")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "schema": migrate.head()}
    with engine.begin() as conn:  # as if an older version had made the database
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0004'")
    r = client.get("/ready")
    assert r.status_code == 503
    assert r.json() == {"status": "not ready", "schema": "0004", "needs": migrate.head()}


def test_not_ready_while_parts_are_starting(sqlite_db: Engine) -> None:
    parts = ["delivery database process", "parser processes"]
    with TestClient(create_app(sqlite_db, Metrics(), starting=lambda: parts)) as c:
        r = c.get("/ready")
        assert r.status_code == 503
        assert r.json() == {"status": "starting", "starting": parts}
        parts.clear()
        assert c.get("/ready").status_code == 200


def test_not_ready_without_a_database() -> None:
    db = create_engine("sqlite:////nonexistent/dir/x.db")
    with TestClient(create_app(db, Metrics())) as c:
        r = c.get("/ready")
    assert r.status_code == 503 and r.json()["status"] == "not ready"


def test_without_the_api_and_ui_only_probes_and_metrics(sqlite_db: Engine) -> None:
    """The smtp and worker roles (service.ROLES) serve no API and no UI."""
    with TestClient(create_app(sqlite_db, Metrics(), interactive=False)) as c:
        assert c.get("/health").status_code == 200
        assert c.get("/ready").status_code == 200
        assert c.get("/metrics").status_code == 200
        assert c.get("/api/v1/errors").status_code == 404
        assert c.get("/errors", follow_redirects=False).status_code == 404


def test_a_database_that_does_not_answer_is_a_503_with_retry_after() -> None:
    # The token lookup is the request's first database read; it fails like any query would
    # when the server has gone away (restart, failover): 503, not a 500 with a traceback.
    db = create_engine("sqlite:////nonexistent/dir/bounceloop.db")
    try:
        with TestClient(create_app(db, Metrics()), raise_server_exceptions=False) as c:
            r = c.get("/api/v1/errors", headers={"Authorization": "Bearer bl_x"})
            page = c.post("/api/v1/messages", headers={"Authorization": "Bearer bl_x"},
                          json={"from": "a@b.test", "recipients": [{"email": "c@d.test"}],
                                "subject": "s", "text": "t"})
    finally:
        db.dispose()
    for answer in (r, page):
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "5"
        assert answer.json() == {"detail": "the database does not answer; try again shortly"}
