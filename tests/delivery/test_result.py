"""StepResult: reading replies, permanence, step and error type, and printable descriptions."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bounceloop.delivery.result import MAX_DESCRIPTION, StepResult, printable

# ------------------------------------------------------------------------------------------
# StepResult.reply
# ------------------------------------------------------------------------------------------

# (code, text) -> (result, code, extended, description)
REPLIES = [
    (550, "5.1.1 User unknown", ("error", "550", "5.1.1", "550 5.1.1 User unknown")),
    ("550", "5.1.1 User unknown", ("error", "550", "5.1.1", "550 5.1.1 User unknown")),
    (452, "4.2.2 Mailbox full", ("error", "452", "4.2.2", "452 4.2.2 Mailbox full")),
    (550, "User unknown", ("error", "550", "", "550 User unknown")),  # none invented
    (550, "", ("error", "550", "", "550")),
    (421, "  ", ("error", "421", "", "421")),
    # Multi-line: the lines joined with one space, the first enhanced code taken.
    (550, "5.1.1 The email account does not exist.\n5.1.1 Please try again.",
     ("error", "550", "5.1.1",
      "550 5.1.1 The email account does not exist. 5.1.1 Please try again.")),
    (554, "5.7.1 line one\r\n5.7.1   line\ttwo\r\n",
     ("error", "554", "5.7.1", "554 5.7.1 line one 5.7.1 line two")),
    # 2xx: accepted.
    (250, "2.0.0 Ok: queued as 4F2B", ("accepted", "250", "2.0.0",
                                       "250 2.0.0 Ok: queued as 4F2B")),
    (250, "Ok", ("accepted", "250", "", "250 Ok")),
    (220, "mx.example.org ESMTP", ("accepted", "220", "", "220 mx.example.org ESMTP")),
    # An enhanced code of the other class is still the server's (RFC 3463 lets it refine).
    (550, "4.2.2 Mailbox full", ("error", "550", "4.2.2", "550 4.2.2 Mailbox full")),
    # A code of the reply's class is preferred to one standing earlier in the text.
    (550, "Mailbox 4.2.2 whatever 5.1.1", ("error", "550", "5.1.1",
                                            "550 Mailbox 4.2.2 whatever 5.1.1")),
    # A version number is not a status.
    (550, "Postfix 2.5.1 says no", ("error", "550", "", "550 Postfix 2.5.1 says no")),
]


@pytest.mark.parametrize(("code", "text", "expected"), REPLIES,
                         ids=[f"{c}-{t[:24]}" for c, t, _ in REPLIES])
def test_reply(code: int | str, text: str, expected: tuple[str, str, str, str]) -> None:
    r = StepResult.reply("rcptto", code, text, mx="mx1.example.org", ip="192.0.2.1")
    assert (r.result, r.code, r.extended, r.description) == expected
    assert (r.state, r.mx, r.ip) == ("rcptto", "mx1.example.org", "192.0.2.1")
    assert r.ok is (expected[0] == "accepted")


def test_reply_description_is_printable() -> None:
    r = StepResult.reply("greeting", 554, "5.7.1 go \x00away\x1b[2J")
    assert r.description == "554 5.7.1 go \\x00away\\x1b[2J"


# ------------------------------------------------------------------------------------------
# permanent
# ------------------------------------------------------------------------------------------

PERMANENCE = [
    # Server replies: the class decides, the enhanced code when it contradicts.
    (StepResult.reply("rcptto", 550, "5.1.1 unknown"), True),
    (StepResult.reply("rcptto", 550, "no such user"), True),
    (StepResult.reply("greeting", 554, ""), True),
    (StepResult.reply("rcptto", 452, "4.2.2 full"), False),
    (StepResult.reply("rcptto", 421, "try later"), False),
    (StepResult.reply("rcptto", 550, "4.2.2 full"), False),  # enhanced 4.x.x wins
    (StepResult.reply("rcptto", 450, "5.7.1 blocked"), True),  # enhanced 5.x.x wins
    # Our own verdicts, with fixed codes (spec section 4.8).
    (StepResult("dns", "error", extended="5.1.2", description="NXDOMAIN"), True),
    (StepResult("dns", "error", extended="5.1.10", description="null MX"), True),
    (StepResult("dns", "private", extended="5.4.4", description="10.0.0.1"), True),
    (StepResult("dns", "error", extended="4.4.3", description="SERVFAIL"), False),
    (StepResult("connect", "refused", extended="4.4.1"), False),
    (StepResult("greeting", "timeout", extended="4.4.2"), False),
    (StepResult("greeting", "invalid", extended="4.5.0"), False),
    (StepResult("starttls", "tls", extended="4.7.0"), False),
    (StepResult("process", "expired", extended="4.4.7"), False),
    # No code at all: transient results are worth another try, the rest are not.
    (StepResult("greeting", "timeout"), False),
    (StepResult("connect", "refused"), False),
    (StepResult("data", "lost"), False),
    (StepResult("mailfrom", "invalid"), False),
    (StepResult("starttls", "tls"), False),
    (StepResult("message", "indoubt"), False),
    (StepResult("dns", "private"), True),
    (StepResult("suppression", "suppressed"), True),
    (StepResult("process", "nodata"), True),
]


@pytest.mark.parametrize(("result", "permanent"), PERMANENCE,
                         ids=[f"{r.state}-{r.result}-{r.code}-{r.extended}"
                              for r, _ in PERMANENCE])
def test_permanent(result: StepResult, permanent: bool) -> None:
    assert result.permanent is permanent


# ------------------------------------------------------------------------------------------
# step and errortype
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("result", "step", "errortype"), [
    (StepResult("dns", "error", extended="5.1.2"), 1, "nohost"),
    (StepResult("dns", "private", extended="5.4.4"), 1, "privateiprange"),
    (StepResult("connect", "refused", extended="4.4.1"), 2, "unreachable"),
    (StepResult.reply("greeting", 554, "5.7.1 no"), 3, "error"),
    (StepResult.reply("ehlo", 421, "busy"), 3, "unexpected"),
    (StepResult("greeting", "timeout", extended="4.4.2"), 3, "unexpected"),
    (StepResult.reply("rcptto", 550, "5.1.1 unknown"), 4, "error"),
    (StepResult.reply("rcptto", 452, "4.2.2 full"), 4, "error"),
    (StepResult("message", "timeout", extended="4.4.2"), 4, "unexpected"),
    (StepResult("bounce", "error", "550", "5.1.1"), 5, "mailerror"),
    (StepResult("storage", "error"), 0, "nodata"),
    (StepResult("process", "expired", extended="4.4.7"), 0, "other"),
])
def test_step_and_errortype(result: StepResult, step: int, errortype: str) -> None:
    assert (result.step, result.errortype) == (step, errortype)


def test_at_sets_mx_and_ip_and_keeps_the_rest() -> None:
    r = StepResult.reply("rcptto", 550, "5.1.1 \x00unknown")
    moved = r.at("mx2.example.org", "192.0.2.2")
    assert (moved.mx, moved.ip) == ("mx2.example.org", "192.0.2.2")
    assert dataclasses.replace(moved, mx="", ip="") == r
    # Passing through printable again (replace runs __post_init__) changes nothing.
    assert moved.description == r.description == "550 5.1.1 \\x00unknown"


def test_step_result_is_frozen() -> None:
    r = StepResult("dns", "error")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.description = "x"  # type: ignore[misc]


# ------------------------------------------------------------------------------------------
# printable
# ------------------------------------------------------------------------------------------

PRINTABLE = [
    ("plain text", "plain text"),
    ("", ""),
    ("a\x00b", "a\\x00b"),  # NUL: PostgreSQL text refuses it
    ("\x01\x02\x07\x08", "\\x01\\x02\\x07\\x08"),
    ("esc\x1b[31mred", "esc\\x1b[31mred"),
    ("del\x7f", "del\\x7f"),
    ("vt\x0bff\x0c", "vt\\x0bff\\x0c"),  # escaped, not taken for whitespace
    ("csi\x9b31m", "csi\\x9b31m"),  # C1 controls too (U+009B is an 8-bit CSI)
    ("nel\x85x", "nel\\x85x"),
    ("lone \udcff surrogate", "lone \\udcff surrogate"),
    ("\ud800", "\\ud800"),
    ("  many \t\r\n  spaces\n\n", "many spaces"),
    ("line one\r\nline two", "line one line two"),
    ("\u2028sep\u00a0nbsp", "sep nbsp"),  # Unicode whitespace collapses too
    ("Grüße, 用户 ✓", "Grüße, 用户 ✓"),  # printable non-ASCII is kept
    ("back\\slash", "back\\slash"),
]


@pytest.mark.parametrize(("text", "expected"), PRINTABLE, ids=[repr(t)[:30] for t, _ in PRINTABLE])
def test_printable(text: str, expected: str) -> None:
    assert printable(text) == expected


def test_printable_truncates_at_max_description() -> None:
    assert printable("x" * MAX_DESCRIPTION) == "x" * MAX_DESCRIPTION
    long = printable("x" * (MAX_DESCRIPTION + 1))
    assert len(long) == MAX_DESCRIPTION
    assert long == "x" * (MAX_DESCRIPTION - 3) + "..."


def test_printable_bounds_the_escaped_length() -> None:
    # Escaping multiplies the length by four: the bound applies to the result.
    out = printable("\x00" * MAX_DESCRIPTION)
    assert len(out) == MAX_DESCRIPTION and out.endswith("...")
    assert out.startswith("\\x00\\x00")


def test_printable_collapses_before_truncating() -> None:
    text = "a" + " " * 10_000 + "b"
    assert printable(text) == "a b"


@pytest.mark.parametrize("field", ["description"])
@pytest.mark.parametrize("raw", ["bad\x00 \x1b text", "x" * 5000, "\udcfe", "a\n\n b"])
def test_step_result_description_always_goes_through_printable(field: str, raw: str) -> None:
    direct = StepResult("rcptto", "error", "550", "5.1.1", description=raw)
    assert getattr(direct, field) == printable(raw)
    assert getattr(direct, field) != raw
    replaced = dataclasses.replace(StepResult("rcptto", "error"), description=raw)
    assert replaced.description == printable(raw)


def test_reply_text_of_any_length_is_bounded() -> None:
    r = StepResult.reply("rcptto", 550, "5.1.1 " + "y" * 10_000)
    assert len(r.description) == MAX_DESCRIPTION
    assert r.extended == "5.1.1"


_CONTROLS = {*range(0x00, 0x20), *range(0x7F, 0xA0)}


@given(st.text(max_size=3000))
def test_printable_properties(text: str) -> None:
    out = printable(text)
    assert len(out) <= MAX_DESCRIPTION
    assert not any(ord(c) in _CONTROLS for c in out)
    out.encode("utf-8")  # no lone surrogates left: storable as UTF-8
    assert out == out.strip() and "  " not in out
    assert printable(out) == out  # idempotent: StepResult.at() re-runs it
