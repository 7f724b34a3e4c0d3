"""inbound.correlate: the order of evidence, over a lookup backed by a dict.

The dict stands for the database only here, where the subject is the decision order; the
same questions are answered by the real database in test_process.py and the end-to-end test.
"""

from __future__ import annotations

import pytest

from bounceloop.core import verp
from bounceloop.core.model import Bounce
from bounceloop.inbound.correlate import (
    Clues,
    Sent,
    clues_in_raw,
    clues_of,
    envelope,
    tie,
)

A = Sent("aaaaaaaaaaaaaaaa", 1, "ann@dest.test", "b-a@x", ("t",))
B = Sent("bbbbbbbbbbbbbbbb", 1, "bob@dest.test", "b-b@x")
C = Sent("cccccccccccccccc", 2, "bob@dest.test", "b-c@x")


class Table:
    def __init__(self) -> None:
        self.messages = {m.id: m for m in (A, B, C)}
        self.asked: list[str] = []

    def message(self, message_id: str) -> Sent | None:
        self.asked.append("message")
        return self.messages.get(message_id)

    def in_mailing(self, mailing_id: int, recipient: str) -> Sent | None:
        self.asked.append("in_mailing")
        return next((m for m in self.messages.values()
                     if m.mailing_id == mailing_id and m.recipient == recipient), None)

    def mailing_with_message_id(self, header_message_id: str) -> int | None:
        self.asked.append("mailing_with_message_id")
        return {"spring@sender.test": 1}.get(header_message_id)

    def latest_to(self, recipient: str) -> Sent | None:
        self.asked.append("latest_to")
        found = [m for m in self.messages.values() if m.recipient == recipient]
        return found[-1] if found else None


def record(**fields: object) -> Bounce:
    base: dict[str, object] = {
        "recipient": "bob@dest.test", "action": "failed", "state": "bounce", "code": "550",
        "extended": "5.1.1", "description": "", "reason": "x", "severity": "hard",
        "hardbounce": True, "kind": "failure"}
    base.update(fields)
    return Bounce(**base)  # type: ignore[arg-type]


def test_envelope_checks_the_tag_on_every_domain() -> None:
    good = verp.encode(A.id, "old.test", "k")
    assert envelope(["x@y", good], ["new.test", "old.test"], "k") == (good, A.id)
    assert envelope([good], ["new.test"], "k") is None
    assert envelope([good], ["old.test"], "other-key") is None


@pytest.mark.parametrize(("clues", "expected", "by"), [
    (Clues(), None, ""),
    (Clues(message_id=A.id, recipients=("bob@dest.test",)), A, "header"),
    (Clues(message_id=A.id, message_by="envid"), A, "envid"),
    (Clues(message_id="ffffffffffffffff", recipients=("bob@dest.test",)), C, "recipient"),
    (Clues(mailing_id=1, mailing_by="message-id", recipients=("bob@dest.test",)), B,
     "message-id"),
    (Clues(mailing_id=2, mailing_by="envid", recipients=("nobody@x", "bob@dest.test")), C,
     "envid"),
    (Clues(mailing_id=9, mailing_by="header", recipients=("ann@dest.test",)), A,
     "recipient"),
    (Clues(recipients=("nobody@dest.test",)), None, ""),
])
def test_evidence_in_order(clues: Clues, expected: Sent | None, by: str) -> None:
    t = tie(None, clues, Table())
    assert (t.sent, t.by) == (expected, by)


def test_verp_is_asked_first_and_alone() -> None:
    table = Table()
    t = tie(B.id, Clues(message_id=A.id), table)
    assert (t.sent, t.by, table.asked) == (B, "verp", ["message"])
    # A VERP id we do not know (a message since purged) falls through to the clues.
    t = tie("dddddddddddddddd", Clues(message_id=A.id), table)
    assert (t.sent, t.by) == (A, "header")


@pytest.mark.parametrize(("fields", "expected"), [
    ({"headers": (("X-Bounceloop-Id", A.id.upper()),)}, Clues(
        message_id=A.id, recipients=("bob@dest.test",))),
    ({"original_envelope_id": B.id}, Clues(message_id=B.id, recipients=("bob@dest.test",),
                                           message_by="envid")),
    ({"original_envelope_id": "mailing-2"}, Clues(mailing_id=2, mailing_by="envid",
                                                  recipients=("bob@dest.test",))),
    ({"headers": (("X-Bounceloop-Mailing", "7"),)}, Clues(
        mailing_id=7, mailing_by="header", recipients=("bob@dest.test",))),
    ({"original_message_id": "spring@sender.test", "original_recipient": "b@o.test"}, Clues(
        mailing_id=1, mailing_by="message-id", recipients=("bob@dest.test", "b@o.test"))),
    ({"original_message_id": "unknown@x", "headers": (("X-Bounceloop-Id", "not-hex"),)},
     Clues(recipients=("bob@dest.test",))),
])
def test_clues_of_a_record(fields: dict[str, object], expected: Clues) -> None:
    assert clues_of(record(**fields), Table()) == expected


def test_clues_in_raw_need_our_header_at_a_line_start() -> None:
    assert clues_in_raw(b"a\r\nX-Bounceloop-Id: " + A.id.encode() + b"\r\n") == Clues(
        message_id=A.id)
    assert clues_in_raw(b"x-bounceloop-mailing: 12\n") == Clues(mailing_id=12,
                                                                  mailing_by="header")
    assert clues_in_raw(b"> X-Bounceloop-Id: " + A.id.encode() + b"\n") == Clues()
