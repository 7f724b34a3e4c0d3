"""storage.prepared: statements run on plain rows store what SQLAlchemy's own path stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, bindparam, insert, select, update

from bounceloop.storage.prepared import Prepared, Times, pieces, timestamps
from bounceloop.storage.tables import UTCDateTime, mailings, read_utc

_INSERT = Prepared(insert(mailings).values(
    sender=bindparam("sender"), mime=bindparam("mime"), created_at=bindparam("at"),
    name=bindparam("name"), tags=bindparam("tags")))

_TIMES = [
    datetime(2026, 3, 29, 3, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
    datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
]


def test_timestamps_are_the_values_of_the_column_types_bind_processor(engine: Engine) -> None:
    process = UTCDateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
    when = timestamps(engine.dialect)
    for t in _TIMES:
        expected = process(t) if process else t.astimezone(UTC).replace(tzinfo=None)
        assert when(t) == expected
    assert when(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        when(datetime(2026, 1, 1))


def test_rows_written_raw_read_back_as_sqlalchemy_writes_them(engine: Engine) -> None:
    when = timestamps(engine.dialect)
    with engine.begin() as conn:
        _INSERT.many(conn, [{"sender": f"s{i}@example.org", "mime": b"x",
                                "at": when(t), "name": f"raw {i}", "tags": "[]"}
                               for i, t in enumerate(_TIMES)])
        _INSERT.one(conn, {"sender": "one@example.org", "mime": b"y", "at": when(_TIMES[0]),
                           "name": "one", "tags": "[]"})
        conn.execute(insert(mailings), [{"sender": "sa@example.org", "mime": b"x",
                                         "created_at": t, "name": "sa"} for t in _TIMES])
    with engine.connect() as conn:
        rows = conn.execute(select(mailings.c.name, mailings.c.created_at)
                            .order_by(mailings.c.id)).all()
        raw = conn.exec_driver_sql("SELECT created_at FROM mailings ORDER BY id").scalars().all()
    assert [r.name for r in rows] == ["raw 0", "raw 1", "raw 2", "one", "sa", "sa", "sa"]
    assert [r.created_at for r in rows] == [*_TIMES, _TIMES[0], *_TIMES]
    # The stored values are the same whichever path wrote them (SQLite compares text).
    assert raw[:3] == raw[4:]
    assert [read_utc(v) for v in raw] == [*_TIMES, _TIMES[0], *_TIMES]
    assert all(read_utc(v).tzinfo is UTC for v in raw)  # type: ignore[union-attr]
    assert read_utc(None) is None


def test_named_parameters_in_any_order_and_repeated(engine: Engine) -> None:
    rename = Prepared(update(mailings).where(mailings.c.name == bindparam("old"))
                      .values(name=bindparam("new"), sender=bindparam("new")))
    when = timestamps(engine.dialect)
    with engine.begin() as conn:
        _INSERT.one(conn, {"tags": "[]", "name": "a", "at": when(_TIMES[1]),
                           "mime": b"m", "sender": "x@example.org"})
        _INSERT.one(conn, {"tags": "[]", "name": "c", "at": when(_TIMES[1]),
                           "mime": b"m", "sender": "y@example.org"})
        assert rename.many(conn, []) == 0  # nothing runs
        assert rename.many(conn, [{"new": "b", "old": "a"}, {"new": "d", "old": "c"},
                                  {"new": "z", "old": "none"}]) == 2
    with engine.connect() as conn:
        assert conn.execute(select(mailings.c.name, mailings.c.sender)
                            .order_by(mailings.c.id)).all() == [("b", "b"), ("d", "d")]


def test_a_parameter_with_a_value_is_refused(engine: Engine) -> None:
    # exec_driver_sql sends the rows only: a value set in the statement would be lost.
    fixed = Prepared(update(mailings).values(name="fixed"))
    with engine.connect() as conn, pytest.raises(ValueError, match=r"without a value: .*name"):
        fixed.one(conn, {})


def test_times_reads_each_stored_value_once_and_refuses_null_where_required() -> None:
    times = Times()
    text = "2026-03-29 01:30:15.123456"
    first = times(text)
    assert first == datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
    assert times(text) is first  # read once, then the same object
    assert times(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)  # PostgreSQL's
    assert times(None) is None
    assert times.required(text) is first
    with pytest.raises(ValueError, match="NOT NULL"):
        times.required(None)


def test_binary_parameters_on_postgresql_only(engine: Engine) -> None:
    rename = Prepared(update(mailings).where(mailings.c.name == bindparam("old"))
                      .values(name=bindparam("new")), binary=True)
    sql = rename.compiled(engine.dialect).sql
    if engine.dialect.name == "postgresql":
        assert "%(old)b" in sql and "%(new)b" in sql and ")s" not in sql
    else:
        assert "?" in sql and "%" not in sql
    when = timestamps(engine.dialect)
    with engine.begin() as conn:
        _INSERT.one(conn, {"tags": "[]", "name": 'a "quoted" {name}', "at": when(_TIMES[1]),
                           "mime": b"m", "sender": "x@example.org"})
        assert rename.many(conn, [{"old": 'a "quoted" {name}', "new": "b\\c é"}]) == 1
    with engine.connect() as conn:
        assert conn.execute(select(mailings.c.name)).scalar_one() == "b\\c é"


def test_pieces_cut_a_list_into_as_few_runs_of_the_sizes_as_add_up_to_it() -> None:
    items = list(range(500))
    runs = list(pieces(items, (256, 64, 16, 4, 1)))
    assert [len(r) for r in runs] == [256, 64, 64, 64, 16, 16, 16, 4]
    assert [x for r in runs for x in r] == items
    assert [len(r) for r in pieces(items[:7], (4, 1))] == [4, 1, 1, 1]
    assert list(pieces([], (4, 1))) == []
    with pytest.raises(ValueError, match="end with 1"):
        list(pieces(items, (4, 2)))
