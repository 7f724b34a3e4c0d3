"""Suppression-list changes as Prometheus sees them, counted from the list's own log.

    bounceloop_suppression_changes_total{action, source}
        action: add | change | remove | expire; source: rule | manual | import (who made
        the entry: storage.suppressions)

Changes are made by every role and by the CLI (``bounceloop suppression add``, imports), in
whatever process runs them; counting them where they happen would leave the CLI's out and
split the rest over processes. So the count is read from ``suppression_log``, which every
change writes in its own transaction: the value is the whole database's, the same in every
process (aggregate with ``max``, not ``sum``).

Counted incrementally, through the log's time index: rows older than :data:`SETTLE`
seconds are added to a running total once; younger ones are counted afresh at each scrape
(a transaction that started earlier may still commit rows stamped a moment ago, so the
young end is not final yet). A process's first scrape counts the whole log once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from bounceloop.storage.engine import utcnow
from bounceloop.storage.tables import suppression_log

#: Seconds after which no more rows stamped before then are expected to commit (writers
#: stamp a change with their clock at the start of a short transaction).
SETTLE = 120.0


class SuppressionCollector(Collector):
    def __init__(self, db: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock
        self._settled: Counter[tuple[str, str]] = Counter()
        self._until: datetime | None = None
        """The settled totals cover rows stamped at or before this."""
        self._lock = threading.Lock()  # two scrapes at once must not settle a span twice

    def _count(self, conn: Connection, since: datetime | None, until: datetime | None
               ) -> Counter[tuple[str, str]]:
        stmt = select(suppression_log.c.action, suppression_log.c.source, func.count())
        if since is not None:
            stmt = stmt.where(suppression_log.c.time > since)
        if until is not None:
            stmt = stmt.where(suppression_log.c.time <= until)
        rows = conn.execute(stmt.group_by(suppression_log.c.action,
                                          suppression_log.c.source)).all()
        return Counter({(action, source): int(n) for action, source, n in rows})

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            totals = self._totals()
        if totals is None:
            return
        changes = CounterMetricFamily(
            "bounceloop_suppression_changes", "Changes to the suppression list in the whole "
            "database (every process shows the same), by action and who made the entry",
            labels=["action", "source"])
        for (action, source), n in sorted(totals.items()):
            changes.add_metric([action, source], n)
        yield changes

    def _totals(self) -> Counter[tuple[str, str]] | None:
        cutoff = self.clock() - timedelta(seconds=SETTLE)
        if self._until is not None and cutoff < self._until:
            cutoff = self._until  # the clock went back: settle nothing new
        try:
            with self.db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                settling = self._count(conn, self._until, cutoff)
                fresh = self._count(conn, cutoff, None)
        except SQLAlchemyError:
            return None
        self._settled.update(settling)
        self._until = cutoff
        return self._settled + fresh

    def describe(self) -> Iterator[Metric]:
        return iter(())
