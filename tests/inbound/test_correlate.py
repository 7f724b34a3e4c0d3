"""inbound.correlate: which records of a returned message may act, over a lookup backed by a
dict.

The dict stands for the database only here, where the subject is the trust rules; the same
questions are answered by the real database in test_process.py, test_trust.py and the
end-to-end test.
"""

from __future__ import annotations

import pytest

from bounceloop.core import signed, verp
from bounceloop.core.model import Bounce
from bounceloop.inbound.correlate import MAX_LOOKUPS, Sent, envelope, judge

KEY = "correlate-secret"
A = Sent("aaaaaaaaaaaaaaaa", 1, "ann@dest.test", "b-a@x", ("t",))
B = Sent("bbbbbbbbbbbbbbbb", 1, "bob@dest.test", "b-b@x")
C = Sent("cccccccccccccccc", 2, "Bob@Dest.test", "b-c@x")


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


def header(sent: Sent, key: str = KEY) -> str:
    return f"X-Bounceloop-Id: {signed.message_token(sent.id, sent.recipient, key)}\n"


def test_envelope_checks_the_tag_on_every_domain() -> None:
    good = verp.encode(A.id, "old.test", "k")
    assert envelope(["x@y", good], ["new.test", "old.test"], "k") == (good, A.id)
    assert envelope([good], ["new.test"], "k") is None
    assert envelope([good], ["old.test"], "other-key") is None


@pytest.mark.parametrize(("records", "text", "verp_id", "acts", "by", "evidence"), [
    # The envelope ties; the record names our recipient (any case): it acts.
    ([record()], "", B.id, [(0, B, "")], "verp", []),
    ([record(recipient="BOB@dest.test")], "", B.id, [(0, B, "")], "verp", []),
    # ... names nobody: the envelope is all there is, and it names B.
    ([record(recipient="")], "", B.id, [(0, B, "")], "verp", []),
    # ... names someone else: a report at one's own VERP address about another (issue 16).
    ([record(recipient="victim@dest.test")], "", B.id, [], "", [0]),
    # An alias or a forward: Original-Recipient is ours, Final-Recipient what it became.
    ([record(recipient="someone@nx2.test", original_recipient="bob@dest.test")], "", B.id,
     [(0, B, "someone@nx2.test")], "verp", []),
    # Our signed header in the returned copy ties, whatever address the envelope had.
    ([record()], header(B), None, [(0, B, "")], "header", []),
    # ... but it is signed for B's recipient only: a copy of B's header names nobody else.
    ([record(recipient="ann@dest.test")], header(B), None, [], "", [0]),
    # A header signed with another key, or not signed at all (what we sent before tokens
    # were signed, or a forgery), ties nothing.
    ([record()], header(B, "other-key"), None, [], "", [0]),
    ([record()], f"X-Bounceloop-Id: {B.id}\n", None, [], "", [0]),
    # The token echoed as Original-Envelope-Id, or quoted as our Message-ID (In-Reply-To of
    # an auto-reply).
    ([record()], f"Original-Envelope-Id: {signed.message_token(B.id, B.recipient, KEY)}\n",
     None, [(0, B, "")], "envid", []),
    ([record(recipient="", kind="autoreply")],
     f"In-Reply-To: <{signed.message_token(B.id, B.recipient, KEY)}@bounces.test>\n", None,
     [(0, B, "")], "message-id", []),
    # The token must be a whole value at its place: inside a longer word it is nothing.
    ([record()], f"X-Bounceloop-Id: {signed.message_token(B.id, B.recipient, KEY)}x\n",
     None, [], "", [0]),
])
def test_which_records_act(records: list[Bounce], text: str, verp_id: str | None,
                           acts: list[tuple[int, Sent, str]], by: str,
                           evidence: list[int]) -> None:
    v = judge(records, verp_id, text, KEY, Table())
    assert [(a.index, a.sent, a.reported) for a in v.acts] == acts
    assert (v.by, list(v.evidence)) == (by, evidence)
    assert v.tied == bool(acts)


def test_a_mailing_token_ties_recipients_of_that_mailing_at_its_domain_only() -> None:
    token = signed.mailing_token(1, "dest.test", KEY)
    text = f"X-Bounceloop-Mailing: {token}\n"
    v = judge([record(recipient="ann@dest.test"), record(recipient="bob@dest.test"),
               record(recipient="nobody@dest.test")], None, text, KEY, Table())
    assert [(a.index, a.sent, a.by) for a in v.acts] == [(0, A, "header"), (1, B, "header")]
    assert v.evidence == (2,)
    # Signed for dest.test: a recipient of the same mailing elsewhere is not covered.
    other = signed.mailing_token(1, "else.test", KEY)
    v = judge([record()], None, f"X-Bounceloop-Mailing: {other}\n", KEY, Table())
    assert (v.acts, v.evidence) == ((), (0,))


def test_one_message_is_acted_on_once_and_a_failure_first() -> None:
    """One recipient repeated in 11 recipient blocks acts once; a delay and a failure of
    the same message: the failure acts."""
    v = judge([record()] * 11, None, header(B), KEY, Table())
    assert [a.index for a in v.acts] == [0] and v.evidence == tuple(range(1, 11))
    v = judge([record(kind="delay", action="delayed"), record()], B.id, "", KEY, Table())
    assert [a.index for a in v.acts] == [1] and v.evidence == (0,)


def test_several_tied_messages_each_take_their_own_record() -> None:
    text = header(A) + header(B)
    v = judge([record(recipient="ann@dest.test"), record(), record(recipient="")], None,
              text, KEY, Table())
    assert [(a.index, a.sent) for a in v.acts] == [(0, A), (1, B)]
    # A record naming nobody cannot say which of two messages it is about.
    assert v.evidence == (2,)


def test_an_unrecognised_message_is_tied_by_its_envelope_alone() -> None:
    v = judge([], B.id, "", KEY, Table())
    assert (v.sent, v.by, v.acts) == (B, "verp", ())
    assert judge([], None, "", KEY, Table()).sent is None


@pytest.mark.parametrize(("records", "text", "verp_id", "hint", "hint_by"), [
    ([record(recipient="victim@dest.test")], "", B.id, B, "verp"),
    ([record()], f"X-Bounceloop-Id: {B.id}\n", None, B, "unsigned"),
    ([record(original_message_id="spring@sender.test")], "", None, B, "message-id"),
    ([record(recipient="Bob@Dest.test")], "", None, B, "recipient"),
    ([record(recipient="stranger@else.test")], "", None, None, ""),
])
def test_an_untied_report_gets_a_hint_only(records: list[Bounce], text: str,
                                           verp_id: str | None, hint: Sent | None,
                                           hint_by: str) -> None:
    v = judge(records, verp_id, text, KEY, Table())
    assert (v.tied, v.acts, v.hint, v.hint_by) == (False, (), hint, hint_by)


def test_a_trusted_feedback_loop_ties_a_complaint_by_its_recipient() -> None:
    complaint = record(kind="complaint", reason="feedback")
    assert judge([complaint], None, "", KEY, Table()).tied is False
    v = judge([complaint], None, "", KEY, Table(), trusted_complaint=True)
    assert [(a.sent, a.by) for a in v.acts] == [(B, "fbl")]
    # Only complaints: a failure in the same trusted report is not tied by it.
    assert judge([record()], None, "", KEY, Table(), trusted_complaint=True).tied is False


def test_look_ups_are_bounded_however_many_records_or_tokens() -> None:
    table = Table()
    token = signed.mailing_token(1, "dest.test", KEY)
    many = [record(recipient=f"u{i}@dest.test") for i in range(5000)]
    v = judge(many, None, f"X-Bounceloop-Mailing: {token}\n", KEY, table)
    assert table.asked.count("in_mailing") == MAX_LOOKUPS and len(v.evidence) == 5000
    table = Table()
    forged = "".join(f"X-Bounceloop-Id: {i:016x}.{'a' * 16}\n" for i in range(1000))
    judge([record()], None, forged, KEY, table)
    assert table.asked.count("message") <= 16
