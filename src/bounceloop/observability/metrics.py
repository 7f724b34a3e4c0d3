"""Prometheus metrics of one process, on its own registry (no module-level globals).

Each long-running process exposes its own registry at ``/metrics``; the delivery engine and
later the inbound server count into it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    """The process's counters; pass it down to what counts."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.attempts = Counter(
            "bounceloop_delivery_attempts", "Delivery attempts by the state where they ended "
            "and what happened", ["state", "result"], registry=self.registry)
        self.outcomes = Counter(
            "bounceloop_messages", "Messages that reached a status after an attempt",
            ["status"], registry=self.registry)
        self.transaction_seconds = Histogram(
            "bounceloop_smtp_transaction_seconds", "Time of one SMTP transaction (MAIL to "
            "the reply after the final dot)", registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
