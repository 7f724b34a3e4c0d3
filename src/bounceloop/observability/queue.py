"""The outbox as Prometheus sees it: jobs waiting by kind and status, and how long the oldest
due one has waited - read from the database at each scrape, so every process's /metrics
shows the one shared queue (no process keeps a count that could drift).

    bounceloop_queue_jobs{kind, status}        pending, running, held and dead jobs
    bounceloop_queue_oldest_seconds{kind}      now minus the run_at of the oldest due
                                               pending job (0 when none is due)

Done jobs are not counted: ``status IN (...)`` of the open ones reads ix_jobs_due, never the
done ones that pile up behind them. A database that does not answer leaves these metrics out
of that scrape (the process's own counters are still served).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from bounceloop.storage import outbox
from bounceloop.storage.engine import utcnow
from bounceloop.storage.tables import jobs

OPEN = (outbox.PENDING, outbox.RUNNING, outbox.HELD, outbox.DEAD)


class QueueCollector(Collector):
    def __init__(self, db: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        depth = GaugeMetricFamily("bounceloop_queue_jobs", "Jobs in the outbox by kind and "
                                  "status (done ones not counted)", labels=["kind", "status"])
        oldest = GaugeMetricFamily("bounceloop_queue_oldest_seconds", "How long the oldest "
                                   "due pending job has waited, by kind", labels=["kind"])
        try:
            with self.db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                rows = conn.execute(
                    select(jobs.c.kind, jobs.c.status, func.count(), func.min(jobs.c.run_at))
                    .where(jobs.c.status.in_(OPEN)).group_by(jobs.c.kind, jobs.c.status)
                ).all()
        except SQLAlchemyError:
            return
        for kind, status, n, first in rows:
            depth.add_metric([kind, status], int(n))
            if status == outbox.PENDING:
                oldest.add_metric([kind], max(0.0, (now - first).total_seconds()))
        yield depth
        yield oldest

    def describe(self) -> Iterator[Metric]:
        # Described without a query: registering must not touch the database.
        return iter(())
