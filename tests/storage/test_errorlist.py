"""storage.errorlist: the streamed export reads in keyset batches and must give exactly the
rows, in exactly the order, of one ordered read - ties on the timestamp included - and the
day logs likewise (storage.logs). Both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert

from bounceloop.storage import errorlist, logs
from bounceloop.storage.tables import errors

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def rows(engine: Engine) -> int:
    values = []
    for i in range(40):
        # Every third row shares its timestamp with the one before: ties to break by id.
        when = T0 + timedelta(minutes=i - (i % 3 == 2))
        values.append({
            "timestamp": when, "recipient": f"u{i}@d{i % 4}.test", "domain": f"d{i % 4}.test",
            "code": "550" if i % 2 else "451", "extended": "5.1.1" if i % 2 else "4.2.2",
            "description": f"row {i}", "errortype": "error" if i % 5 else "nohost",
            "step": 4 if i % 5 else 1, "state": "rcptto" if i % 5 else "dns",
            "severity": "hard" if i % 2 else "soft",
            "reason": "userunknown" if i % 2 else "mailboxfull", "hardbounce": bool(i % 2),
            "current": i != 7})
    with engine.begin() as conn:
        conn.execute(insert(errors), values)
    return len(values)


QUERIES = [
    errorlist.Query(),
    errorlist.Query(descending=False),
    errorlist.Query(sort="id", descending=False),
    errorlist.Query(sort="id"),
    errorlist.Query(sort="recipient", descending=False),
    errorlist.Query(severity="hard", domain="D1.test"),
    errorlist.Query(history=True),
    errorlist.Query(after=10),
]


@pytest.mark.parametrize("q", QUERIES, ids=range(len(QUERIES)))
def test_stream_equals_one_ordered_read(engine: Engine, rows: int, q: errorlist.Query
                                        ) -> None:
    with engine.connect() as conn:
        whole, total = errorlist.page(conn, errorlist.Query(**{
            **{f: getattr(q, f) for f in q.__dataclass_fields__}, "limit": 1000}))
        streamed = list(errorlist.stream(conn, q, batch=3))
    assert [r["id"] for r in streamed] == [r["id"] for r in whole]
    assert len(streamed) == total


def test_pages_cover_the_rows_once(engine: Engine, rows: int) -> None:
    seen: list[int] = []
    with engine.connect() as conn:
        for start in range(0, 50, 7):
            page, total = errorlist.page(conn, errorlist.Query(start=start, limit=7))
            seen += [r["id"] for r in page]
    assert total == rows - 1  # one row is history (current false)
    assert len(seen) == len(set(seen)) == total


def test_day_log_in_batches(engine: Engine, rows: int) -> None:
    with engine.connect() as conn:
        got = [r["id"] for r in logs.day_log(conn, "errors", T0.date(), batch=4)]
        other = list(logs.day_log(conn, "errors", T0.date() + timedelta(days=1)))
    assert len(got) == rows and len(set(got)) == rows  # history rows too
    assert other == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"errortypes": ("nope",)}, "errortype is one of"),
    ({"steps": (9,)}, "step is 0 to 5"),
    ({"states": ("x",)}, "state is one of"),
    ({"severity": "medium"}, "severity is soft or hard"),
    ({"codes": ("55",)}, "a code is"),
    ({"reasons": ("Bad Reason",)}, "not a reason"),
    ({"sort": "description"}, "sort is one of"),
    ({"limit": 1001}, "limit is 1 to 1000"),
    ({"start": -1}, "start is 0"),
    ({"since": T0, "until": T0}, "since must be before until"),
])
def test_bad_queries(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(errorlist.QueryError, match=message):
        errorlist.Query(**kwargs)  # type: ignore[arg-type]


def test_empty_values_sort_as_largest_on_both_backends(engine: Engine, rows: int) -> None:
    with engine.begin() as conn:
        conn.execute(insert(errors), [{
            "timestamp": T0, "recipient": "nocode@d0.test", "domain": "d0.test",
            "errortype": "nohost", "step": 1, "state": "dns", "severity": "hard",
            "reason": "hostunknown"}])
    with engine.connect() as conn:
        up, _ = errorlist.page(conn, errorlist.Query(sort="code", descending=False,
                                                     limit=1000))
        down, _ = errorlist.page(conn, errorlist.Query(sort="code", limit=1000))
    assert up[-1]["recipient"] == "nocode@d0.test" and up[-1]["code"] is None
    assert down[0]["recipient"] == "nocode@d0.test"
