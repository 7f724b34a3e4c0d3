"""Prometheus metrics of one process, on its own registry (no module-level globals).

Each long-running process exposes its own registry at ``/metrics``; the delivery engine and
later the inbound server count into it.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from bounceloop.core.errortypes import step_of


class Metrics:
    """The process's counters; pass it down to what counts."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.attempts = Counter(
            "bounceloop_delivery_attempts", "Delivery attempts by the state where they ended "
            "and what happened", ["state", "result"], registry=self.registry)
        self.outcomes = Counter(
            "bounceloop_messages", "Messages that reached a status (delivered, deferred, "
            "failed) after an attempt, by the step (0 before any, 1 DNS, 2 connect, 3 "
            "greeting/EHLO/TLS, 4 MAIL/RCPT/DATA) where the attempt ended",
            ["status", "step"], registry=self.registry)
        self.transaction_seconds = Histogram(
            "bounceloop_smtp_transaction_seconds", "Time of one SMTP transaction (MAIL to "
            "the reply after the final dot)", registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.received = Counter(
            "bounceloop_inbound_messages", "Messages the inbound server answered after DATA: "
            "stored (250) or not stored (451)", ["result"], registry=self.registry)
        self.refused = Counter(
            "bounceloop_inbound_refused", "Inbound commands refused, by why",
            ["why"], registry=self.registry)
        self.bounces = Counter(
            "bounceloop_bounces", "Returned messages processed, by kind and reason",
            ["kind", "reason"], registry=self.registry)
        self.webhook_calls = Counter(
            "bounceloop_webhook_calls", "Webhook calls by what came of them (done, retry, "
            "dead, gone, refused-address)", ["outcome"], registry=self.registry)
        self.webhook_latency = Histogram(
            "bounceloop_webhook_latency_seconds", "From an event's creation to the 2xx of "
            "its webhook call", registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600, 86400))
        self._children: dict[tuple[str, ...], Any] = {}

    def count(self, state: str, result: str, status: str) -> None:
        """One attempt that ended in ``state`` with ``result``, its message now ``status``
        (counted under the state's step; the labelled children are kept: looking them up
        is most of a count's cost)."""
        key = (state, result, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.attempts.labels(state, result),
                self.outcomes.labels(status, str(step_of(state))))
        children[0].inc()
        children[1].inc()
