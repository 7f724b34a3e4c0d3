"""The Errors view: error rows filtered, sorted and paged, for the UI, the API and exports.

Filters are those of the spec's Error tab (mailing, error type, step and state, soft/hard,
reason, code or enhanced code, recipient and its domain, a time range), and whether a row of
returned mail is tied to our message (inbound.correlate); they combine with AND;
several values of one filter combine with OR. Two ways to page:

- ``start``/``limit`` with a ``total``: what a person pages through, newest first by default;
- ``after``: rows with an id above it, in id order - an incremental sync that never misses
  or repeats a row, however many are added between calls (ids only grow).

Sorting is on a column of :data:`SORTS`, then by id, so pages are stable. The default sort
(time, newest first) and each single filter are served by an index (tables.py): a page of a
million rows reads about ``limit`` rows, and its count reads only the index.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, false, func, or_, select, true

from bounceloop.core.errortypes import ERRORTYPES, STATE_STEP
from bounceloop.storage.plan import Unindexed
from bounceloop.storage.tables import errors, stats

FIELDS = ("id", "timestamp", "message_id", "mailing_id", "recipient", "domain", "step",
          "state", "code", "extended", "description", "errortype", "severity", "reason",
          "hardbounce", "received_id", "current", "tied", "reported_recipient", "rule",
          "matched", "detector", "expired", "status_field")
SORTS = ("timestamp", "id", "recipient", "domain", "errortype", "reason", "step", "state",
         "code", "extended", "severity", "mailing_id")
SEVERITIES = ("soft", "hard")
MAX_LIMIT = 1000
_CODE = re.compile(r"^[245]\d\d$")
_EXTENDED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")
_NAME = re.compile(r"^[a-z0-9_-]{1,32}$")


class QueryError(ValueError):
    """A filter or paging value that cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Query:
    mailing: int | None = None
    errortypes: tuple[str, ...] = ()
    steps: tuple[int, ...] = ()
    states: tuple[str, ...] = ()
    severity: str = ""
    """'' | soft | hard"""
    reasons: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    """Reply codes (550) and enhanced codes (5.1.1), mixed."""
    domain: str = ""
    recipient: str = ""
    since: datetime | None = None
    until: datetime | None = None
    """Exclusive."""
    after: int | None = None
    """Incremental sync: only ids above this, in id order (sort and start do not apply)."""
    history: bool = False
    """Also rows a reprocessing replaced."""
    tied: bool | None = None
    """True: only rows against an address (every synchronous error, and records of
    returned mail tied to our message); False: only untied returned mail (evidence,
    against no address); None: both."""
    sort: str = "timestamp"
    descending: bool = True
    start: int = 0
    limit: int = 50

    def __post_init__(self) -> None:
        for t in self.errortypes:
            if t not in ERRORTYPES:
                raise QueryError(f"errortype is one of {', '.join(ERRORTYPES)}, not {t!r}")
        for s in self.steps:
            if not 0 <= s <= 5:
                raise QueryError(f"step is 0 to 5, not {s}")
        for state in self.states:
            if state not in STATE_STEP:
                raise QueryError(f"state is one of {', '.join(STATE_STEP)}, not {state!r}")
        if self.severity and self.severity not in SEVERITIES:
            raise QueryError(f"severity is soft or hard, not {self.severity!r}")
        for r in self.reasons:
            if not _NAME.match(r):
                raise QueryError(f"not a reason: {r!r}")
        for c in self.codes:
            if not (_CODE.match(c) or _EXTENDED.match(c)):
                raise QueryError("a code is a reply code (550) or an enhanced status "
                                 f"(5.1.1), not {c!r}")
        if self.sort not in SORTS:
            raise QueryError(f"sort is one of {', '.join(SORTS)}, not {self.sort!r}")
        if self.start < 0:
            raise QueryError("start is 0 or more")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise QueryError(f"limit is 1 to {MAX_LIMIT}")
        if self.after is not None and self.after < 0:
            raise QueryError("after is an error id (0 or more)")
        if self.since and self.until and self.since >= self.until:
            raise QueryError("since must be before until")
        if len(self.domain) > 255 or len(self.recipient) > 320:
            raise QueryError("domain or recipient is too long")


def _where(q: Query, c: Any = errors.c) -> list[Any]:
    """The conditions of ``q`` on the columns ``c`` (``errors.c`` or :data:`_UNINDEXED`)."""
    c = _columns(q, c)
    cond: list[Any] = []
    if not q.history:
        # "= true", not "IS true": PostgreSQL uses an index for the first only.
        cond.append(c.current == true())
    if q.mailing is not None:
        cond.append(c.mailing_id == q.mailing)
    if q.tied is not None:
        cond.append(c.tied == (true() if q.tied else false()))
    if q.errortypes:
        cond.append(c.errortype.in_(q.errortypes))
    if q.steps:
        cond.append(c.step.in_(q.steps))
    if q.states:
        cond.append(c.state.in_(q.states))
    if q.severity:
        cond.append(c.severity == q.severity)
    if q.reasons:
        cond.append(c.reason.in_(q.reasons))
    if q.codes:
        cond.append(or_(*(c.extended == code if "." in code else c.code == code
                          for code in q.codes)))
    if q.domain:
        cond.append(c.domain == q.domain.strip().lower())
    if q.recipient:
        # lower(recipient): ix_errors_recipient_lower; addresses are spelt many ways.
        cond.append(func.lower(errors.c.recipient) == q.recipient.strip().lower())
    if q.since is not None:
        cond.append(c.timestamp >= q.since)
    if q.until is not None:
        cond.append(c.timestamp < q.until)
    if q.after is not None:
        cond.append(c.id > q.after)
    return cond


#: Columns no index may serve (storage.plan: ``+errors.name`` on SQLite, its documented way
#: to keep a term from driving an index search), which leaves the planner a scan of the
#: smallest covering index, or the index of the one term left.
_UNINDEXED = Unindexed(errors)


def _columns(q: Query, c: Any) -> Any:
    """With a recipient, every other term only filters that address's few rows, found by
    its own index: SQLite without statistics took an index of the other terms instead,
    (current, timestamp) for the default order, and read every current row until it
    found a page (6 s on 1,000,000 errors)."""
    return _UNINDEXED if q.recipient else c


def _ordered(stmt: Select[Any], q: Query) -> Select[Any]:
    if q.after is not None:
        return stmt.order_by(errors.c.id)
    column = errors.c[q.sort]
    if column.nullable:
        # Empty values sort as the largest on both backends: PostgreSQL's own order, so it
        # still reads its indexes in order (DESC NULLS LAST made it sort every row: 0.5 s
        # for a sort by domain over 1,000,000 rows); SQLite, whose default is the other
        # way, reads its covering index as fast either way (bench/ui.py).
        if q.descending:
            return stmt.order_by(column.desc().nulls_first(), errors.c.id.desc())
        return stmt.order_by(column.asc().nulls_last(), errors.c.id)
    if q.descending:
        return stmt.order_by(column.desc(), errors.c.id.desc())
    return stmt.order_by(column, errors.c.id)


def _plain(r: Any) -> dict[str, Any]:
    return dict(r._mapping)


def page(conn: Connection, q: Query) -> tuple[list[dict[str, Any]], int]:
    """One page of rows and the number of rows matching (all pages)."""
    cond = _where(q)
    stmt = _ordered(select(*(errors.c[f] for f in FIELDS)).where(*cond), q)
    rows = [_plain(r) for r in conn.execute(stmt.offset(q.start if q.after is None else 0)
                                            .limit(q.limit))]
    scan = _scan_is_cheaper(conn, q)
    count = select(func.count()).select_from(errors).where(
        *(_where(q, _UNINDEXED) if scan else cond))
    total = int(conn.execute(count).scalar_one())
    return rows, total


#: Rows a count may visit through one filter's index before scanning ix_errors_filters is
#: cheaper (SQLite, 1,000,000 rows: that scan about 130 ms; a row visited 2.5 us).
SCAN_AFTER = 60_000
_INDEXED = {"domain": "domain", "errortypes": "errortype", "reasons": "reason"}
_ROW_FILTERS = ("steps", "states", "severity", "codes")


def _scan_is_cheaper(conn: Connection, q: Query) -> bool:
    """Whether the count should scan rather than follow one filter's index (SQLite).

    A filter with its own (filter, current, timestamp) index counts from that index alone;
    a second condition makes the count visit every row the index names. SQLite's planner
    knows only the average rows per key (no STAT4 histograms in Python's build), so for a
    big domain it takes that index and visits half the table one row at a time (1.6 s).
    A scan of ix_errors_filters, which holds every filter column, takes about 0.13 s. The
    daily counters (storage.stats) say how many rows each filter value really has: past
    :data:`SCAN_AFTER`, scan. PostgreSQL keeps histograms and plans this itself."""
    if conn.dialect.name != "sqlite" or q.recipient or q.after is not None:
        return False
    used = {field: metric for field, metric in _INDEXED.items() if getattr(q, field)}
    extra = sum(1 for f in _ROW_FILTERS if getattr(q, f)) + len(used) - 1 + \
        (q.mailing is not None)
    if not used or extra < 1:
        return False
    # Every mailing's counters: the index holds the value's rows of all mailings.
    scope = [stats.c.mailing_id == 0]
    if q.since is not None:
        scope.append(stats.c.day >= q.since.date())
    if q.until is not None:
        scope.append(stats.c.day <= q.until.date())
    smallest = None
    for field, metric in used.items():
        keys = [getattr(q, field).lower()] if field == "domain" else list(getattr(q, field))
        n = conn.execute(select(func.coalesce(func.sum(stats.c.count), 0)).where(
            *scope, stats.c.metric == metric, stats.c.key.in_(keys))).scalar_one()
        smallest = int(n) if smallest is None else min(smallest, int(n))
    return smallest is not None and smallest > SCAN_AFTER


def stream(conn: Connection, q: Query, batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Every matching row in the query's order, read in keyset batches (an export of a
    million rows neither holds them in memory nor pays for deep offsets)."""
    if q.after is None and (q.sort, q.descending) not in (("id", False), ("id", True),
                                                           ("timestamp", True)):
        # Any other order: one ordered read (the database sorts; rows still stream).
        stmt = _ordered(select(*(errors.c[f] for f in FIELDS)).where(*_where(q)), q)
        for r in conn.execution_options(yield_per=batch).execute(stmt):
            yield _plain(r)
        return
    descending = q.after is None and q.descending
    last: tuple[Any, int] | None = None
    by_time = q.after is None and q.sort == "timestamp"
    while True:
        cond = _where(q)
        if last is not None:
            c = _columns(q, errors.c)
            if by_time:
                cond.append(or_(c.timestamp < last[0],
                                (c.timestamp == last[0]) & (c.id < last[1])))
            else:
                cond.append(c.id < last[1] if descending else c.id > last[1])
        stmt = _ordered(select(*(errors.c[f] for f in FIELDS)).where(*cond), q).limit(batch)
        rows = [_plain(r) for r in conn.execute(stmt)]
        yield from rows
        if len(rows) < batch:
            return
        last = (rows[-1]["timestamp"], rows[-1]["id"])


def facets(conn: Connection) -> dict[str, list[str]]:
    """Values the filters offer: the fixed lists, and the reasons the counters have seen
    (storage.stats: a few rows, where the errors table would be a scan)."""
    reasons = sorted(str(r) for r in conn.execute(
        select(stats.c.key).where(stats.c.mailing_id == 0, stats.c.metric == "reason")
        .group_by(stats.c.key)).scalars())
    return {"errortype": list(ERRORTYPES), "state": list(STATE_STEP),
            "severity": list(SEVERITIES), "reason": reasons}
