"""storage.messages: queueing, and what the in-flight mark's commit waits for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select

from bounceloop.core import verp
from bounceloop.storage import messages as store
from bounceloop.storage.engine import utcnow
from bounceloop.storage.prepared import timestamps
from bounceloop.storage.tables import jobs, messages
from tests.pgcommit import commit_settings, note_commit_setting


def _queued(engine: Engine, n: int) -> list[str]:
    now = utcnow()
    with engine.begin() as conn:
        mailing = store.create_mailing(conn, name="m", sender="news@sender.test",
                                       mime=b"Subject: x\r\n\r\nx\r\n", tags=[],
                                       retry_schedule=None, max_delivery_time=None, now=now)
        return store.queue(conn, mailing, "news@sender.test",
                           [store.NewMessage(f"r{i}@dest.test") for i in range(n)],
                           bounce_domain="bounce.sender.test", verp_secret="s",
                           max_delivery_time=3600, now=now)


def test_marks_set_sending_and_the_worker(engine: Engine) -> None:
    ids = _queued(engine, 3)
    with engine.connect() as conn:
        store.mark_sending(conn, ids[:2], utcnow(), "w1", flushed=False)
    with engine.connect() as conn:
        got = dict(conn.execute(select(messages.c.id, messages.c.sent_by)
                                .where(messages.c.status == "sending")).all())
    assert got == {ids[0]: "w1", ids[1]: "w1"}


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_an_unflushed_mark_commits_without_waiting_for_the_wal_on_postgresql(
        engine: Engine) -> None:
    """Only the mark's own transaction: the connection's setting (pinned ``on`` by
    storage.engine) is back for whatever it runs next."""
    ids = _queued(engine, 2)
    with engine.begin() as conn:
        note_commit_setting(conn, "messages", "UPDATE")
    with engine.connect() as conn:
        store.mark_sending(conn, ids[:1], utcnow(), "w1", flushed=False)
        store.mark_sending(conn, ids[1:], utcnow(), "w1")
        conn.execute(messages.update().where(messages.c.id == ids[0])
                     .values(status="delivered"))
        conn.commit()
        seen = commit_settings(conn)
    assert seen == ["off", "on", "on"]


def test_a_kept_mark_connection_commits_each_mark_as_it_runs(engine: Engine) -> None:
    ids = _queued(engine, 2)
    conn = store.mark_connection(engine)
    try:
        store.mark_sending(conn, ids[:1], utcnow(), "w1", flushed=False)
        with engine.connect() as other:  # committed: another session sees it at once
            assert other.execute(select(messages.c.status).where(
                messages.c.id == ids[0])).scalar_one() == "sending"
        store.mark_sending(conn, ids[1:], utcnow(), "w1", flushed=False)
    finally:
        store.close_mark_connection(conn)
    with engine.connect() as other:
        assert set(other.execute(select(messages.c.status)).scalars()) == {"sending"}


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_a_mark_connection_is_unflushed_and_its_session_never_pooled(engine: Engine) -> None:
    ids = _queued(engine, 1)
    with engine.begin() as conn:
        note_commit_setting(conn, "messages", "UPDATE")
    conn = store.mark_connection(engine)
    with pytest.raises(ValueError):  # it cannot give a flushed commit: said, not broken
        store.mark_sending(conn, ids, utcnow(), "w1")
    store.mark_sending(conn, ids, utcnow(), "w1", flushed=False)
    store.close_mark_connection(conn)
    with engine.connect() as other:
        assert commit_settings(other) == ["off"]
        # The pool hands out a session pinned "on" (storage.engine), not the mark's "off".
        assert other.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"


def test_queue_stores_each_message_and_its_delivery_job(engine: Engine) -> None:
    now = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    batch = [store.NewMessage(f"R{i}@Dest{i % 3}.test", ("a", f"t{i}"), {"n": str(i)})
             for i in range(70)]
    with engine.begin() as conn:
        mailing = store.create_mailing(conn, name="m", sender="news@sender.test",
                                       mime=b"Subject: x\r\n\r\nx\r\n", tags=[],
                                       retry_schedule=None, max_delivery_time=None, now=now)
        ids = store.queue(conn, mailing, "news@sender.test", batch,
                          bounce_domain="bounce.sender.test", verp_secret="s",
                          max_delivery_time=3600, now=now)
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(messages))}
        due = {j.ref: j for j in conn.execute(select(jobs))}
        # Stored as the column type stores it (SQLite compares the text in every query).
        stored = set(conn.exec_driver_sql(
            "SELECT created_at FROM messages UNION SELECT next_attempt_at FROM messages "
            "UNION SELECT run_at FROM jobs").scalars())
    assert stored == {timestamps(engine.dialect)(now)}
    assert len(ids) == len(rows) == len(due) == 70
    for mid, msg in zip(ids, batch, strict=True):
        r, job = rows[mid], due[mid]
        assert (r.mailing_id, r.sender, r.recipient, r.domain, r.status, r.attempts) == (
            mailing, "news@sender.test", msg.recipient, msg.recipient.split("@")[1].lower(),
            "queued", 0)
        assert r.envelope == verp.encode(mid, "bounce.sender.test", "s")
        assert (json.loads(r.tags), json.loads(r.fields)) == (list(msg.tags), msg.fields)
        assert r.created_at == r.updated_at == r.next_attempt_at == now
        assert r.expires_at == now + timedelta(seconds=3600)
        assert r.created_at.tzinfo is UTC and r.sent_by is None and r.finished_at is None
        assert (job.kind, job.status, job.attempts, json.loads(job.payload)) == (
            store.DELIVER, "pending", 0, {})
        assert job.run_at == now and job.created_at.tzinfo is UTC
