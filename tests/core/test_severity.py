"""Soft or hard under each of the spec's three conventions, as one table."""

from __future__ import annotations

import pytest

from bounceloop.core.model import Severity
from bounceloop.core.reasons import REASONS, is_hardbounce
from bounceloop.core.severity import Convention, severity

H, S, N = Severity.HARD, Severity.SOFT, Severity.NONE
CODE, S13, S14 = Convention.CODE, Convention.STEPS_1_3, Convention.STEPS_1_4

# (step, reply, enhanced, reason, action) -> expected under (code, steps-1-3, steps-1-4)
TABLE = [
    # A DNS failure (step 1): NXDOMAIN is permanent by code; both step conventions say hard.
    ((1, "", "5.1.2", "hostunknown", "failed"), (H, H, H)),
    # DNS SERVFAIL (step 1) is temporary by code, hard under both step conventions.
    ((1, "", "4.4.3", "networkerror", "failed"), (S, H, H)),
    # Connection refused (step 2).
    ((2, "", "4.4.1", "networkerror", "failed"), (S, H, H)),
    # A 554 greeting (step 3).
    ((3, "554", "", "blocked", "failed"), (H, H, H)),
    # An unknown user at RCPT (step 4): hard by code and under steps-1-4, soft under steps-1-3.
    ((4, "550", "5.1.1", "userunknown", "failed"), (H, S, H)),
    # A full mailbox at RCPT (step 4).
    ((4, "452", "4.2.2", "mailboxfull", "failed"), (S, S, H)),
    # The enhanced code wins over a contradicting reply code.
    ((4, "550", "4.2.2", "mailboxfull", "failed"), (S, S, H)),
    ((4, "450", "5.7.1", "blocked", "failed"), (H, S, H)),
    # Asynchronous bounces (step 5): by code, or soft under both step conventions.
    ((5, "550", "5.1.1", "userunknown", "failed"), (H, S, S)),
    ((5, "421", "4.4.7", "expired", "delayed"), (S, S, S)),
    # No code at all: delayed is soft; otherwise the reason decides.
    ((5, "", "", "userunknown", "failed"), (H, S, S)),
    ((5, "", "", "mailboxfull", "failed"), (S, S, S)),
    ((5, "", "", "userunknown", "delayed"), (S, S, S)),
    ((5, "", "", "expired", "failed"), (S, S, S)),
    ((5, "", "", "onhold", "failed"), (S, S, S)),
    ((5, "", "", "rejected", "failed"), (H, S, S)),
    # A reply code alone.
    ((5, "554", "", "spamdetected", "failed"), (H, S, S)),
    ((5, "451", "", "systemerror", "failed"), (S, S, S)),
    # Not errors at all: no severity under any convention.
    ((5, "", "", "feedback", ""), (N, N, N)),
    ((5, "", "", "vacation", ""), (N, N, N)),
    ((5, "250", "2.1.5", "delivered", "delivered"), (N, N, N)),
]


@pytest.mark.parametrize(("case", "expected"), TABLE)
def test_severity_table(case: tuple[int, str, str, str, str],
                        expected: tuple[Severity, Severity, Severity]) -> None:
    step, code, extended, reason, action = case
    got = tuple(
        severity(step=step, code=code, extended=extended, reason=reason, action=action,
                 convention=c)
        for c in (CODE, S13, S14)
    )
    assert got == expected


@pytest.mark.parametrize(
    ("reason", "code", "extended", "hard"),
    [
        ("userunknown", "550", "5.1.1", True),
        ("userunknown", "450", "4.1.1", True),  # the address is still wrong
        ("hostunknown", "", "5.1.2", True),
        ("hasmoved", "551", "5.1.6", True),
        ("notaccept", "556", "5.1.10", True),
        ("notaccept", "", "", True),
        ("notaccept", "421", "4.3.2", False),  # "not now" is not "never"
        ("mailboxfull", "552", "5.2.2", False),
        ("blocked", "554", "5.7.1", False),
        ("spamdetected", "550", "5.7.1", False),
        ("authfailure", "550", "5.7.26", False),
        ("policyviolation", "554", "5.7.9", False),
        ("feedback", "", "", False),
        ("vacation", "", "", False),
        ("delivered", "250", "2.1.5", False),
    ],
)
def test_hardbounce_only_when_the_address_is_at_fault(reason: str, code: str, extended: str,
                                                      hard: bool) -> None:
    assert is_hardbounce(reason, code, extended) is hard


def test_sender_side_reasons_are_never_hard() -> None:
    sender_side = {"blocked", "rejected", "spamdetected", "policyviolation", "authfailure",
                   "badreputation", "requireptr", "speeding", "toomanyconn", "norelaying",
                   "securityerror", "virusdetected", "failedstarttls", "suppressed"}
    assert sender_side <= set(REASONS)
    for reason in sender_side:
        for code, ext in (("550", "5.7.1"), ("", ""), ("554", "5.0.0")):
            assert not is_hardbounce(reason, code, ext), reason
