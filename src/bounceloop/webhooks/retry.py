"""What a webhook call's result means for its delivery (pure).

    2xx                         done
    410 Gone                    the receiver says the URL is gone for good: the webhook is
                                paused (and flagged), the delivery kept in its queue
    anything else, a timeout,   retry, after an exponential backoff with jitter, for up to
    a refused or closed         the retry period from when the event was queued; then dead
    connection, an address      (a dead letter, kept for replay)
    the guard refuses

The delay before retry ``n`` (n = 1 after the first failed call) is ``base * 2**(n-1)``
capped at ``max_delay``, times a random factor in [0.5, 1) ("equal jitter"): receivers
that come back are not hit by every queued call in the same second. The last retry is
made at the end of the period, not skipped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

DONE = "done"
RETRY = "retry"
DEAD = "dead"
GONE = "gone"


@dataclass(frozen=True, slots=True)
class Policy:
    period: float = 86400.0
    base: float = 10.0
    max_delay: float = 3600.0


def delay(attempt: int, policy: Policy, rng: random.Random) -> float:
    """Seconds to wait after failed call number ``attempt`` (1-based)."""
    raw = min(policy.max_delay, policy.base * 2.0 ** min(max(attempt, 1) - 1, 60))
    return float(raw * (0.5 + rng.random() / 2))


def verdict(status: int | None) -> str:
    """done, gone or retry for an HTTP status (None: no answer)."""
    if status is not None and 200 <= status < 300:
        return DONE
    if status == 410:
        return GONE
    return RETRY


def next_try(attempt: int, queued_at: datetime, now: datetime, policy: Policy,
             rng: random.Random) -> datetime | None:
    """When to call again after failed call ``attempt``, or None: the period is over."""
    deadline = queued_at + timedelta(seconds=policy.period)
    if now >= deadline:
        return None
    return min(now + timedelta(seconds=delay(attempt, policy, rng)), deadline)
