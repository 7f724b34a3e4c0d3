"""storage.tables: the UTCDateTime type on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import DATETIME
from sqlalchemy.exc import StatementError

from bounceloop.storage.tables import UTCDateTime, mailings


def _insert(engine: Engine, created_at: datetime) -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(mailings).values(
            sender="s@example.org", mime=b"x", created_at=created_at)
            .returning(mailings.c.id)).scalar_one())


def test_aware_datetimes_round_trip_as_utc(engine: Engine) -> None:
    paris = timezone(timedelta(hours=2))
    sent = datetime(2026, 3, 29, 3, 30, 15, 123456, tzinfo=paris)
    row_id = _insert(engine, sent)
    with engine.connect() as conn:
        back = conn.execute(select(mailings.c.created_at).where(mailings.c.id == row_id)
                            ).scalar_one()
    assert back == sent
    assert back.tzinfo is UTC
    assert (back.hour, back.microsecond) == (1, 123456)


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        _insert(engine, datetime(2026, 1, 1, 12, 0))
    with engine.connect() as conn:
        assert conn.execute(select(mailings.c.id)).all() == []


def test_comparisons_order_by_instant(engine: Engine) -> None:
    """Stored as naive UTC, so instants compare right across offsets (and, on SQLite,
    as text)."""
    base = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    early = _insert(engine, base.astimezone(timezone(timedelta(hours=5))))
    late = _insert(engine, base + timedelta(microseconds=1))
    with engine.connect() as conn:
        ids = conn.execute(select(mailings.c.id).where(mailings.c.created_at > base)
                           ).scalars().all()
    assert ids == [late] and early != late


VALUES = [datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC),
          datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds: still written
          datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
          datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))]


@pytest.mark.parametrize("value", VALUES, ids=str)
def test_sqlite_text_is_sqlalchemys_own(value: datetime) -> None:
    # UTCDateTime writes and reads SQLite's text itself (one step, not two): it must be
    # exactly what SQLAlchemy's DATETIME writes, which stored rows, indexes and every text
    # comparison already hold, and read back what SQLAlchemy reads.
    dialect = sqlite.dialect()
    ours = UTCDateTime()
    write = ours.bind_processor(dialect)
    read = ours.result_processor(dialect, None)
    theirs = DATETIME().bind_processor(dialect)
    assert write is not None and read is not None and theirs is not None
    text = write(value)
    assert text == theirs(value.astimezone(UTC).replace(tzinfo=None))
    assert read(text) == value and read(text).tzinfo is UTC
    # CURRENT_TIMESTAMP and other SQL expressions give text without microseconds.
    assert read("2026-03-29 01:30:15") == datetime(2026, 3, 29, 1, 30, 15, tzinfo=UTC)
    assert write(None) is None and read(None) is None
    with pytest.raises(ValueError, match="naive"):
        write(value.replace(tzinfo=None))
