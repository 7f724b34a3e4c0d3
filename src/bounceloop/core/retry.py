"""When to try again: the retry schedule and the delivery deadline (spec section 3.4).

The schedule is a list of delays in seconds; the delay after the n-th failed attempt
(0-based) is ``schedule[n]``, and the last value repeats. A message also has a deadline
(``max_delivery_time`` after it was queued): when the next attempt would come after it, the
message fails now, finally, with the result of its last attempt - MailerQ's rule, so the last
result of an expired message may well be a 4xx.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


def delay_after(failed_attempts: int, schedule: Sequence[int]) -> int:
    """Seconds to wait after ``failed_attempts`` attempts (1 = after the first one) failed."""
    if failed_attempts < 1:
        return 0
    return int(schedule[min(failed_attempts - 1, len(schedule) - 1)])


def next_attempt(failed_attempts: int, schedule: Sequence[int], now: datetime,
                 expires_at: datetime) -> datetime | None:
    """The time of the next attempt, or None when it would pass the deadline."""
    when = now + timedelta(seconds=delay_after(failed_attempts, schedule))
    return when if when <= expires_at else None


def parse_schedule(text: str) -> list[int]:
    """"600,600,1800" -> [600, 600, 1800]; raises ValueError on anything else."""
    # Split first, then strip each part: "600 1800" is a mistake, not 6001800 seconds.
    try:
        values = [int(part) for part in (p.strip() for p in text.split(",")) if part]
    except ValueError:
        raise ValueError(f"not a retry schedule: {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise ValueError(f"not a retry schedule: {text!r}")
    return values
