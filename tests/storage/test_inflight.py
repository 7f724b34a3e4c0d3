"""storage.inflight: PostgreSQL's in-flight marks from the event loop - the same rows as
messages.mark_sending, visible to every session once the call returns, and a lost
connection replaced by the next mark."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError

from bounceloop.storage import inflight
from bounceloop.storage import messages as store
from bounceloop.storage.tables import messages
from tests.pgcommit import commit_settings, note_commit_setting
from tests.storage.test_messages import _queued

# conftest's engine fixture, on PostgreSQL only: a fresh migrated database per test.
pytestmark = [pytest.mark.postgres,
              pytest.mark.parametrize("engine", ["postgres"], indirect=True)]
T0 = datetime(2026, 1, 5, 12, 0, 0, 123456, tzinfo=UTC)


def _rows(db: Engine) -> dict[str, tuple[str, datetime, str | None]]:
    with db.connect() as conn:
        return {r.id: (r.status, r.updated_at, r.sent_by) for r in conn.execute(
            select(messages.c.id, messages.c.status, messages.c.updated_at,
                   messages.c.sent_by))}


async def test_marks_match_mark_sending_and_are_committed_at_once(engine: Engine) -> None:
    ids = _queued(engine, 5)
    marks = inflight.Marks(engine.url)
    try:
        await marks.mark(ids[:3], T0, "host:1:ab")
    finally:
        marks.close()
    store.mark_sending(engine, ids[3:4], T0, "host:1:ab", flushed=False)
    rows = _rows(engine)  # another session: what it sees is committed
    expected = _rows(engine)[ids[3]]
    assert expected == ("sending", T0, "host:1:ab")
    assert [rows[i] for i in ids[:3]] == [expected] * 3
    assert rows[ids[4]][0] == "queued"


async def test_marks_commit_without_waiting_for_the_wal(engine: Engine) -> None:
    ids = _queued(engine, 2)
    with engine.begin() as conn:
        note_commit_setting(conn, "messages", "UPDATE")
    marks = inflight.Marks(engine.url)
    try:
        await marks.mark(ids[:1], T0, "w")
        await marks.mark(ids[1:], T0, "w")
    finally:
        marks.close()
    with engine.connect() as conn:
        assert commit_settings(conn) == ["off", "off"]


async def test_a_lost_connection_fails_one_mark_and_the_next_reconnects(
        engine: Engine) -> None:
    ids = _queued(engine, 2)
    marks = inflight.Marks(engine.url)
    try:
        await marks.mark(ids[:1], T0, "w")
        assert marks._conn is not None
        pid = marks._conn.info.backend_pid
        with engine.connect() as conn:  # the server drops the mark connection
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError) as caught:
            await marks.mark(ids[1:], T0, "w")
        assert isinstance(caught.value.orig, psycopg.Error)
        assert _rows(engine)[ids[1]][0] == "queued"
        await marks.mark(ids[1:], T0, "w")
        assert _rows(engine)[ids[1]][0] == "sending"
    finally:
        marks.close()


def test_conninfo_is_libpq_uri(engine: Engine) -> None:
    from sqlalchemy.engine import make_url
    url = make_url("postgresql+psycopg://u:p%40ss@127.0.0.1:5433/db")
    assert inflight.conninfo(url) == "postgresql://u:p%40ss@127.0.0.1:5433/db"
