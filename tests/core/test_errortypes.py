"""The spec's five steps and Copernica's error types, as one table per function."""

from __future__ import annotations

import pytest

from bounceloop.core.errortypes import ERRORTYPES, RESULTS, STATE_STEP, errortype, step_of

# (state, result, code) -> errortype
TABLE = [
    # A private address is privateiprange whatever the state.
    ("dns", "private", "", "privateiprange"),
    ("connect", "private", "", "privateiprange"),
    # Missing content, or a storage problem: nodata.
    ("process", "nodata", "", "nodata"),
    ("message", "nodata", "", "nodata"),
    ("storage", "error", "", "nodata"),
    ("storage", "timeout", "", "nodata"),
    # Step 1: DNS, whatever went wrong.
    ("dns", "error", "", "nohost"),
    ("dns", "timeout", "", "nohost"),
    # Step 2: connect.
    ("connect", "refused", "", "unreachable"),
    ("connect", "timeout", "", "unreachable"),
    # Step 3: a 5xx refusal is an error; everything else in the dialogue is unexpected.
    ("greeting", "error", "554", "error"),
    ("ehlo", "error", "550", "error"),
    ("helo", "error", "501", "error"),
    ("starttls", "error", "554", "error"),
    ("auth", "error", "535", "error"),
    ("greeting", "error", "421", "unexpected"),
    ("ehlo", "error", "451", "unexpected"),
    ("greeting", "error", "", "unexpected"),
    ("greeting", "timeout", "", "unexpected"),
    ("greeting", "timeout", "554", "unexpected"),  # only result "error" refuses
    ("ehlo", "lost", "", "unexpected"),
    ("greeting", "invalid", "", "unexpected"),
    ("starttls", "tls", "", "unexpected"),
    # Step 4: any reply that refused is an error (4xx too); no reply is unexpected.
    ("mailfrom", "error", "553", "error"),
    ("rcptto", "error", "550", "error"),
    ("rcptto", "error", "452", "error"),
    ("data", "error", "554", "error"),
    ("message", "error", "451", "error"),
    ("mailfrom", "timeout", "", "unexpected"),
    ("rcptto", "lost", "", "unexpected"),
    ("data", "invalid", "", "unexpected"),
    ("message", "timeout", "", "unexpected"),
    ("message", "indoubt", "", "unexpected"),
    # Step 5: an asynchronous bounce.
    ("bounce", "error", "550", "mailerror"),
    ("bounce", "error", "", "mailerror"),
    # Step 0 and unknown states: other.
    ("process", "error", "", "other"),
    ("suppression", "suppressed", "", "other"),
    ("process", "expired", "", "other"),
    ("no-such-state", "error", "550", "other"),
    ("", "error", "", "other"),
]


@pytest.mark.parametrize(("state", "result", "code", "expected"), TABLE,
                         ids=[f"{s}-{r}-{c or 'none'}" for s, r, c, _ in TABLE])
def test_errortype(state: str, result: str, code: str, expected: str) -> None:
    assert errortype(state, result, code) == expected


def test_errortype_code_is_optional() -> None:
    assert errortype("greeting", "error") == "unexpected"
    assert errortype("rcptto", "error") == "error"


def test_every_errortype_returned_is_documented() -> None:
    for state, result, code, _ in TABLE:
        assert errortype(state, result, code) in ERRORTYPES


STEPS = {
    "process": 0, "storage": 0, "suppression": 0,
    "dns": 1,
    "connect": 2,
    "greeting": 3, "ehlo": 3, "helo": 3, "starttls": 3, "auth": 3,
    "mailfrom": 4, "rcptto": 4, "data": 4, "message": 4,
    "bounce": 5,
}


@pytest.mark.parametrize(("state", "step"), [
    *STEPS.items(),
    ("unknown", 0), ("", 0), ("DNS", 0),  # states are lower-case names
])
def test_step_of(state: str, step: int) -> None:
    assert step_of(state) == step


def test_every_state_is_in_the_spec_table() -> None:
    # A state added to STATE_STEP must be placed in a step here too, on purpose.
    assert STATE_STEP == STEPS


def test_state_step_values_are_the_steps_0_to_5_and_all_used() -> None:
    assert set(STATE_STEP.values()) == {0, 1, 2, 3, 4, 5}
    assert all(isinstance(v, int) for v in STATE_STEP.values())


def test_errortypes_contain_the_spec_set_with_descriptions() -> None:
    spec = {"nohost", "privateiprange", "unreachable", "unexpected", "error", "nodata", "other"}
    assert spec <= set(ERRORTYPES)
    assert all(isinstance(d, str) and d.strip() for d in ERRORTYPES.values())


def test_results_cover_what_the_table_uses() -> None:
    used = {result for _, result, _, _ in TABLE}
    assert used <= RESULTS
    assert {"accepted", "error", "timeout", "refused", "private", "nodata"} <= RESULTS
