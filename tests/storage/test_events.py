"""storage.events.added: each key once, the new events returned in order, whatever the batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from bounceloop.storage import events
from bounceloop.storage.tables import events as events_table

T0 = datetime(2026, 12, 7, 6, 0, 0, 123456, tzinfo=UTC)
#: What a JSON text may hold that an array literal or a statement would have to escape.
AWKWARD = {"text": 'q"uo\\te\n{a,b} NULL \'x\' é 中', "tags": ["a", "b"]}


def _rows(n: int, prefix: str = "e", tied: bool = True) -> list[dict[str, object]]:
    return [events.row(time=T0 + timedelta(seconds=i), type="failure" if i % 3 else "delivery",
                       key=f"{prefix}:{i}", message_id=f"{i:016x}" if tied else None,
                       mailing_id=(i % 4 or None) if tied else None,
                       recipient=f"r{i}@example.org" if tied else "",
                       data={**AWKWARD, "n": i}) for i in range(n)]


@pytest.mark.parametrize("n", [1, 5, 64, 250, 333])
def test_every_row_of_a_batch_is_stored_and_returned_in_order(engine: Engine, n: int) -> None:
    rows = _rows(n)
    with engine.begin() as conn:
        new = events.added(conn, rows)
    assert [(e.type, e.mailing_id, e.data) for e in new] == [
        (r["type"], r["mailing_id"], r["data"]) for r in rows]
    with engine.connect() as conn:
        stored = conn.execute(select(events_table).order_by(events_table.c.id)).all()
    assert sorted(e.id for e in new) == [s.id for s in stored]
    by_id = {s.id: s for s in stored}
    for e, r in zip(new, rows, strict=True):
        s = by_id[e.id]
        assert (s.key, s.time, s.type, s.message_id, s.mailing_id, s.recipient, s.data) == (
            r["key"], r["time"], r["type"], r["message_id"], r["mailing_id"],
            r["recipient"], r["data"])


def test_keys_met_again_are_dropped_and_not_returned(engine: Engine) -> None:
    with engine.begin() as conn:
        first = events.added(conn, _rows(10))
    again = _rows(20)  # the first 10 keys again, then 10 new ones
    with engine.begin() as conn:
        new = events.added(conn, again)
    assert [e.data for e in new] == [r["data"] for r in again[10:]]
    assert not {e.id for e in first} & {e.id for e in new}
    with engine.connect() as conn:
        assert len(conn.execute(select(events_table.c.id)).all()) == 20


def test_a_key_twice_in_one_batch_is_stored_once(engine: Engine) -> None:
    rows = _rows(3)
    with engine.begin() as conn:
        new = events.added(conn, [*rows, rows[1]])
    assert len(new) == 3
    with engine.connect() as conn:
        assert len(conn.execute(select(events_table.c.id)).all()) == 3


def test_columns_that_are_null_in_every_row(engine: Engine) -> None:
    # Untied returned mail: no message, no mailing, no recipient in the whole batch.
    with engine.begin() as conn:
        new = events.added(conn, _rows(7, "bounce", tied=False))
    assert len(new) == 7 and all(e.mailing_id is None for e in new)
    with engine.connect() as conn:
        stored = conn.execute(select(events_table.c.message_id, events_table.c.recipient)).all()
    assert stored == [(None, None)] * 7


def test_no_rows_no_statement(engine: Engine) -> None:
    with engine.begin() as conn:
        assert events.added(conn, []) == []
