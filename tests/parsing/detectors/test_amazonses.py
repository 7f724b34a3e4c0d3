"""Amazon SES's JSON notifications (parsing/detectors/amazonses.py): their ISO 8601 dates
become the RFC 5322 form of Fact.date as email.utils.format_datetime writes it."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bounceloop.parsing.detectors import amazonses


@pytest.mark.parametrize("value", [
    "2016-10-21T00:06:40.502Z",
    "2016-10-21T00:06:40Z",
    "2016-10-21T00:06:40",  # no zone: UTC
    "2016-01-03T23:59:59+09:00",
    "2016-02-29T12:00:00-05:30",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59-01:00",
    "2016-10-21T00:06:40+05:30:15",  # an offset in seconds
])
def test_date_as_email_utils_writes_it(value: str) -> None:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    assert amazonses._date(value) == format_datetime(dt)


@given(st.datetimes(timezones=st.timezones()))
def test_any_date_as_email_utils_writes_it(dt: datetime) -> None:
    assert amazonses._date(dt.isoformat()) == format_datetime(dt)


def test_unreadable_date() -> None:
    assert amazonses._date("21 Oct 2016") == ""
