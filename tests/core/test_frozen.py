"""core.frozen: the classes sent to the delivery database process pickle by their fields and
come back equal, every field included."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime
from typing import Any

import pytest

from bounceloop.core.frozen import by_fields
from bounceloop.delivery.outcome import Verdict
from bounceloop.delivery.result import StepResult
from bounceloop.storage.messages import Mailing, Outcome, Pending
from bounceloop.storage.outbox import Job
from bounceloop.storage.suppressions import Entry

T = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
PENDING = Pending(7, "a1b2", 3, "news@sender.test", "jane@dest.test", "dest.test",
                  "bounce+x@b.test", "sending", 2, T, T, sent_by="host:1:ab", tags='["x"]')
RESULT = StepResult("rcptto", "error", "550", "5.1.1", "550 5.1.1 no such user", "mx.test",
                    "127.0.0.1")
VERDICT = Verdict("failed", None, "userunknown", "hard", True, False, rule="status:5.1.1",
                  matched="5.1.1")
SAMPLES: list[Any] = [
    PENDING, RESULT, VERDICT, Outcome(PENDING, RESULT, VERDICT, T, 12),
    Mailing(3, "spring", "news@sender.test", b"Subject: x\r\n\r\nx\r\n", ("a", "b"),
            (60, 600), 3600),
    Job(1, "deliver", "a1b2", {"k": [1, 2]}, "running", T, 2, "w", T, "last", "host:1:ab",
        T, T),
    Entry(5, "email", "jane@dest.test", "", "userunknown", "bounce", "550", "5.1.1",
          "no such user", "", 9, T, T, None),
]


@pytest.mark.parametrize("obj", SAMPLES, ids=lambda o: type(o).__name__)
def test_round_trip_keeps_every_field(obj: Any) -> None:
    cls = type(obj)
    assert cls.__reduce__ is by_fields
    # Every field an __init__ argument, in __slots__ order: what by_fields relies on.
    names = [f.name for f in dataclasses.fields(cls)]
    assert names == list(cls.__slots__)
    assert all(f.init for f in dataclasses.fields(cls))
    back = pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))
    assert back == obj
    assert [getattr(back, n) for n in names] == [getattr(obj, n) for n in names]


def test_values_differing_from_the_defaults_survive() -> None:
    # A field left at its default in every sample would hide a field dropped on the way.
    back = pickle.loads(pickle.dumps(PENDING))
    assert (back.sent_by, back.tags) == ("host:1:ab", '["x"]')
    back_verdict = pickle.loads(pickle.dumps(VERDICT))
    assert (back_verdict.rule, back_verdict.matched) == ("status:5.1.1", "5.1.1")
