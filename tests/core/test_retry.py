"""The retry schedule (last value repeats) and the delivery deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bounceloop.core.retry import delay_after, next_attempt, parse_schedule

SCHEDULE = [600, 1800, 3600]
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("failed", "expected"), [
    (-1, 0),
    (0, 0),
    (1, 600),
    (2, 1800),
    (3, 3600),
    (4, 3600),  # the last value repeats
    (100, 3600),
])
def test_delay_after(failed: int, expected: int) -> None:
    assert delay_after(failed, SCHEDULE) == expected


def test_delay_after_single_value_schedule_repeats() -> None:
    assert [delay_after(n, (60,)) for n in range(1, 5)] == [60, 60, 60, 60]


def test_delay_after_accepts_a_tuple() -> None:
    assert delay_after(2, tuple(SCHEDULE)) == 1800


def test_next_attempt_before_the_deadline() -> None:
    expires = T0 + timedelta(hours=1)
    assert next_attempt(1, SCHEDULE, T0, expires) == T0 + timedelta(seconds=600)
    assert next_attempt(2, SCHEDULE, T0, expires) == T0 + timedelta(seconds=1800)


def test_next_attempt_exactly_at_the_deadline_is_allowed() -> None:
    expires = T0 + timedelta(seconds=1800)
    assert next_attempt(2, SCHEDULE, T0, expires) == expires


def test_next_attempt_past_the_deadline_is_none() -> None:
    expires = T0 + timedelta(seconds=1799)
    assert next_attempt(2, SCHEDULE, T0, expires) is None
    assert next_attempt(3, SCHEDULE, T0, T0 + timedelta(seconds=3599)) is None


def test_next_attempt_with_no_failures_is_now() -> None:
    assert next_attempt(0, SCHEDULE, T0, T0) == T0


def test_next_attempt_after_an_already_passed_deadline_is_none() -> None:
    assert next_attempt(1, SCHEDULE, T0, T0 - timedelta(seconds=1)) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("600", [600]),
    ("600,1800", [600, 1800]),
    ("600, 1800", [600, 1800]),
    (" 600 , 1800 ", [600, 1800]),
    ("600,600,1800,1800,3600", [600, 600, 1800, 1800, 3600]),
    ("600,1800,", [600, 1800]),  # a trailing comma is harmless
])
def test_parse_schedule_good(text: str, expected: list[int]) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize("text", [
    "", " ", ",", "0", "-5", "600,0", "600,-1", "abc", "600,abc", "1.5", "600;1800",
    "600 1800",  # two numbers without a comma are not one number of 6001800 seconds
    "60 0",
])
def test_parse_schedule_bad(text: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(text)


@pytest.mark.parametrize("text", ["0", "abc", "600 1800"])
def test_parse_schedule_error_names_the_input(text: str) -> None:
    with pytest.raises(ValueError, match=f"^not a retry schedule: '{text}'$"):
        parse_schedule(text)
