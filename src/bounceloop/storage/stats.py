"""Statistics: daily counters kept by the writers, so reports never scan the big tables.

A statistics page over a month of a million errors cannot group the errors table on every
view (hundreds of milliseconds on SQLite, more as it grows). Instead each writer adds to the
``stats`` table in the transaction that writes the rows being counted - the same pattern as
the outbox: the counter and the fact commit together or not at all. A report then sums a few
hundred rows per metric.

Rows are ``(mailing_id, metric, day, key) -> count``; every increment goes to the mailing's
own row and to mailing 0 (all mailings). Metrics::

    outcome    sent       a message queued (storage.messages.queue)
               delivered  a ``delivery`` event (the recipient's server accepted it)
               deferred   a ``retry`` event (a temporary failure, tried again later)
               failed     a final synchronous error row (steps 0-4)
               bounced    an asynchronous failure (step 5, errortype mailerror)
               returned   any other returned message kept as an error row (auto-replies,
                          unrecognised: errortype mailmessage)
               complaint  a ``complaint`` event (ARF)
    severity   soft | hard          of each current error row
    errortype  nohost, unreachable, error, mailerror, ...
    reason     userunknown, mailboxfull, blocked, ...
    domain     the recipient's domain
    step       0-5

Events count once because only events that were really inserted are counted (events.added
drops a key met again). A reprocessing that replaces a bounce's error rows takes the old rows
off the day they were counted on and adds the new ones, so the counters always describe the
current rows. Upserts run in key order: two transactions bumping the same counters take their
row locks in the same order and cannot deadlock (PostgreSQL).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Date, cast, delete, func, select

from bounceloop.storage.engine import conflict_insert
from bounceloop.storage.tables import (
    errors,
    events,
    mailings,
    messages,
    stats,
    suppression_log,
    suppressions,
)

OUTCOMES = ("sent", "delivered", "deferred", "failed", "bounced", "returned", "complaint")
BREAKDOWNS = ("severity", "errortype", "reason", "domain", "step")
#: Event types counted as outcomes.
EVENT_OUTCOMES = {"delivery": "delivered", "retry": "deferred", "complaint": "complaint"}
ALL = 0

Key = tuple[int, str, date, str]


def outcome_of(step: int, errortype: str) -> str:
    """The outcome an error row counts as."""
    if step < 5:
        return "failed"
    return "bounced" if errortype == "mailerror" else "returned"


@dataclass
class Tally:
    """Increments gathered during a transaction, written by :func:`bump`."""

    counts: Counter[Key] = field(default_factory=Counter)

    def add(self, mailing_id: int | None, metric: str, day: date, key: str, n: int = 1
            ) -> None:
        self.counts[(ALL, metric, day, key)] += n
        if mailing_id:
            self.counts[(mailing_id, metric, day, key)] += n

    def error(self, row: Mapping[str, Any], sign: int = 1) -> None:
        """An error row (a dict or a row mapping) written (+1) or retired (-1)."""
        day = row["timestamp"].date()
        mailing = row["mailing_id"]
        self.add(mailing, "outcome", day, outcome_of(row["step"], row["errortype"]), sign)
        for metric in BREAKDOWNS:
            value = row[metric]
            self.add(mailing, metric, day, "" if value is None else str(value), sign)

    def event(self, type: str, mailing_id: int | None, when: datetime) -> None:
        if type in EVENT_OUTCOMES:
            self.add(mailing_id, "outcome", when.date(), EVENT_OUTCOMES[type])


def bump(conn: Connection, tally: Tally) -> None:
    """Add ``tally`` to the counters, in the caller's transaction (key order: see module)."""
    rows = [{"mailing_id": m, "metric": metric, "day": day, "key": key[:255], "count": n}
            for (m, metric, day, key), n in sorted(tally.counts.items()) if n]
    if not rows:
        return
    stmt = conflict_insert(conn, stats)
    stmt = stmt.on_conflict_do_update(
        index_elements=["mailing_id", "metric", "day", "key"],
        set_={"count": stats.c.count + stmt.excluded["count"]})
    conn.execute(stmt, rows)


def _day(conn: Connection, column: Any) -> Any:
    # SQLite has no DATE type: date() gives the ISO text; CAST would give a number.
    return func.date(column) if conn.dialect.name == "sqlite" else cast(column, Date)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def rebuild(conn: Connection) -> None:
    """Recompute every counter from the rows (a migration's backfill; a repair)."""
    conn.execute(delete(stats))
    tally = Tally()
    day = _day(conn, messages.c.created_at)
    for mailing, d, n in conn.execute(select(messages.c.mailing_id, day, func.count())
                                      .group_by(messages.c.mailing_id, day)):
        tally.add(mailing, "outcome", _as_date(d), "sent", int(n))
    day = _day(conn, events.c.time)
    for mailing, d, type, n in conn.execute(
            select(events.c.mailing_id, day, events.c.type, func.count())
            .where(events.c.type.in_(list(EVENT_OUTCOMES)))
            .group_by(events.c.mailing_id, day, events.c.type)):
        tally.add(mailing, "outcome", _as_date(d), EVENT_OUTCOMES[type], int(n))
    day = _day(conn, errors.c.timestamp)
    cols = [errors.c.mailing_id, errors.c.step, errors.c.errortype, errors.c.severity,
            errors.c.reason, errors.c.domain]
    for r in conn.execute(select(*cols, day.label("day"), func.count().label("n"))
                          # Untied rows (recipient ''; errors.tied is false) count
                          # nowhere. Read by the recipient, not the tied column: migration
                          # 0006 runs this before 0008 adds that column.
                          .where(errors.c.current.is_(True), errors.c.recipient != "")
                          .group_by(*cols, day)):
        d, n = _as_date(r.day), int(r.n)
        tally.add(r.mailing_id, "outcome", d, outcome_of(r.step, r.errortype), n)
        for metric in BREAKDOWNS:
            value = getattr(r, metric)
            tally.add(r.mailing_id, metric, d, "" if value is None else str(value), n)
    bump(conn, tally)


@dataclass(frozen=True, slots=True)
class Report:
    """What the statistics page and ``GET /api/v1/statistics`` show."""

    mailing: int | None
    since: date
    until: date
    """Inclusive."""
    totals: dict[str, int]
    """Each outcome (OUTCOMES), zero when none."""
    days: list[date]
    daily: dict[str, list[int]]
    """Outcome -> one count per day of ``days``."""
    breakdowns: dict[str, list[tuple[str, int]]]
    """severity, errortype, reason, step, domain (top ``top``): largest first."""
    suppressed: int
    """Entries on the suppression list now (not expired)."""
    suppressions_added: int
    """Entries added in the range (the audit log)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "mailing": self.mailing, "since": self.since.isoformat(),
            "until": self.until.isoformat(), "totals": self.totals,
            "days": [{"day": d.isoformat(), **{k: self.daily[k][i] for k in OUTCOMES}}
                     for i, d in enumerate(self.days)],
            **{name: [{"key": k, "count": n} for k, n in items]
               for name, items in self.breakdowns.items()},
            "suppressed": self.suppressed, "suppressions_added": self.suppressions_added,
        }


MAX_DAYS = 3660


def report(conn: Connection, *, since: date, until: date, mailing: int | None = None,
           now: datetime, top: int = 20) -> Report:
    """The counters of one mailing (None: all) from ``since`` to ``until`` (inclusive)."""
    if until < since:
        raise ValueError("until is before since")
    if (until - since).days >= MAX_DAYS:
        raise ValueError(f"a report covers at most {MAX_DAYS} days")
    scope = [stats.c.mailing_id == (mailing or ALL), stats.c.day >= since,
             stats.c.day <= until]
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    where = {d: i for i, d in enumerate(days)}
    daily = {k: [0] * len(days) for k in OUTCOMES}
    for d, key, n in conn.execute(
            select(stats.c.day, stats.c.key, func.sum(stats.c.count))
            .where(*scope, stats.c.metric == "outcome")
            .group_by(stats.c.day, stats.c.key)):
        if key in daily:
            daily[key][where[_as_date(d)]] = int(n)
    totals = {k: sum(v) for k, v in daily.items()}
    breakdowns: dict[str, list[tuple[str, int]]] = {m: [] for m in BREAKDOWNS}
    total = func.sum(stats.c.count)
    for metric, key, n in conn.execute(
            select(stats.c.metric, stats.c.key, total)
            .where(*scope, stats.c.metric.in_([m for m in BREAKDOWNS if m != "domain"]))
            .group_by(stats.c.metric, stats.c.key)):
        if n:
            breakdowns[metric].append((key, int(n)))
    for key, n in conn.execute(
            select(stats.c.key, total).where(*scope, stats.c.metric == "domain")
            .group_by(stats.c.key).having(total > 0).order_by(total.desc(), stats.c.key)
            .limit(top)):
        breakdowns["domain"].append((key, int(n)))
    for metric in BREAKDOWNS:
        breakdowns[metric].sort(key=lambda kv: (-kv[1], kv[0]))
    return Report(mailing=mailing, since=since, until=until, totals=totals, days=days,
                  daily=daily, breakdowns=breakdowns,
                  suppressed=_suppressed(conn, now),
                  suppressions_added=_added(conn, since, until))


def _suppressed(conn: Connection, now: datetime) -> int:
    live = (suppressions.c.expires_at.is_(None)) | (suppressions.c.expires_at > now)
    return int(conn.execute(select(func.count()).select_from(suppressions).where(live))
               .scalar_one())


def _added(conn: Connection, since: date, until: date) -> int:
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    log = suppression_log
    return int(conn.execute(select(func.count()).select_from(log).where(
        log.c.action == "add", log.c.time >= start, log.c.time < end)).scalar_one())


def mailing_names(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    """Names of mailings, for labels."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {int(i): str(n) for i, n in conn.execute(
        select(mailings.c.id, mailings.c.name).where(mailings.c.id.in_(wanted)))}
