"""A fuzz run in a fixed time: the parser's entry point (what ``bounceloop parse`` calls) and
the parsers of SMTP replies and DSN fields, on generated input, for
``BOUNCELOOP_FUZZ_SECONDS`` seconds in all (default 15; set it to hours for a long run).

Each target runs Hypothesis in rounds (``ROUND`` examples, a fresh random seed each) until
its share of the time is spent: every input must be parsed without an exception, within a
per-input bound (Hypothesis ``deadline``: a blow-up on some input, as a regular expression
that backtracks, fails with that input, shrunk), and what comes back must have its shape.
test_properties.py has the fixed-size properties (arbitrary bytes, mutated samples, hostile
MIME); this file adds the time bound per input, the field parsers, and the budget.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bounceloop.core import status
from bounceloop.core.severity import Convention
from bounceloop.delivery.result import MAX_DESCRIPTION, StepResult
from bounceloop.delivery.wire import MAX_LINE, MAX_LINES, Wire
from bounceloop.parsing import dsn, parse, text
from bounceloop.parsing.command import find_command
from tests.parsing.test_properties import SAMPLES, _mutations

#: The whole run's wall-clock budget, shared by the targets by weight.
SECONDS = float(os.environ.get("BOUNCELOOP_FUZZ_SECONDS", "15"))
#: Examples per Hypothesis round (the budget is checked between rounds).
ROUND = 40

# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------

#: Pieces of SMTP replies and DSN fields, so that long inputs are long in the ways that
#: matter to the regular expressions (codes, dots, separators, brackets) and not only noise.
TOKENS = ["5", "4", "2", "550", "5.1.1", "4.7.0", "5.0.0.0", ".", "..", " ", "-", "#", "[",
          "]", "(", ")", ";", ":", ",", "<", ">", "@", '"', "'", "\\", "rfc822", "dns",
          "smtp", "x-", "\n", "\r\n", "\t", "\n ", "said: ", "RCPT TO", "MAIL FROM", "DATA",
          "Final-Recipient", "Status", "Action", "failed", "Diagnostic-Code", "a@b.example",
          "mx.example.org", "[192.0.2.1]", "é", "\x00", "\ufffd", "\udcff", "0", "999",
          "1234567890"]

tokens = st.lists(st.sampled_from(TOKENS), max_size=400).map("".join)
texts = st.one_of(tokens, st.text(max_size=2000),
                 st.tuples(st.sampled_from(TOKENS), st.integers(1, 4000)).map(
                     lambda t: t[0] * t[1]))


def field_line(name: str) -> st.SearchStrategy[str]:
    return texts.map(lambda v: f"{name}: {v}")


@st.composite
def dsn_message(draw: st.DrawFn) -> bytes:
    """A multipart/report DSN whose fields hold generated values."""
    blocks = []
    for _ in range(draw(st.integers(1, 4))):
        names = draw(st.lists(st.sampled_from(
            ["Final-Recipient", "Original-Recipient", "Action", "Status", "Remote-MTA",
             "Diagnostic-Code", "Last-Attempt-Date", "X-Actual-Recipient", "Will-Retry-Until"]),
            min_size=1, max_size=9))
        blocks.append("\n".join(draw(field_line(n)) for n in names))
    status_part = "Reporting-MTA: dns; mx.example.org\n\n" + "\n\n".join(blocks)
    human = draw(texts)
    raw = ("From: MAILER-DAEMON@mx.example.org\nTo: sender@example.com\n"
           "Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
           'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
           "--b\nContent-Type: text/plain\n\n" + human + "\n"
           "--b\nContent-Type: message/delivery-status\n\n" + status_part + "\n"
           "--b\nContent-Type: text/rfc822-headers\n\n"
           "Message-ID: <x@example.com>\nTo: a@b.example\n--b--\n")
    return raw.encode("utf-8", "surrogateescape")


messages = st.one_of(dsn_message(), _mutations(SAMPLES) if SAMPLES else dsn_message(),
                     st.binary(max_size=8192))

# ---------------------------------------------------------------------------------------------
# Targets: each a check of one input, its per-input bound, and its share of the time
# ---------------------------------------------------------------------------------------------

_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


def check_parse(data: tuple[bytes, Convention]) -> None:
    raw, convention = data
    result = parse(raw, convention)
    assert not result.error, result.error
    for record in result.records:  # their shape, as test_properties checks it
        assert record.state == "bounce"
        assert record.kind in ("failure", "delay", "delivery", "complaint", "autoreply")
        assert record.severity in ("hard", "soft", "")
        assert record.extended == "" or _STATUS.fullmatch(record.extended), record.extended
        assert record.code == "" or status.is_reply_code(record.code), record.code
        record.as_dict()


def check_dsn_fields(value: str) -> None:
    for block in dsn.fields(value):
        for name, field_value in block:
            # (A name of characters str.strip() removes, "\x1f:", comes out empty.)
            assert name == name.lower() and " " not in name, name
            assert isinstance(field_value, str)
    message, facts = dsn.facts(value)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in message.items())
    assert all(isinstance(fact.recipient, str) for fact in facts)
    kind, rest = dsn.typed_value(value)
    assert isinstance(kind, str) and isinstance(rest, str)
    assert isinstance(dsn.address(value), str) and isinstance(dsn.host(value), str)
    assert isinstance(dsn.unwrap(value), str) and isinstance(dsn.normal_action(value), str)
    found = dsn.normal_status(value)
    assert found == "" or _STATUS.fullmatch(found), found


def check_reply_text(value: str) -> None:
    enhanced = status.find_enhanced(value)
    assert enhanced == "" or status.parse_enhanced(enhanced), enhanced
    for klass in ("", "2", "4", "5"):
        code = status.find_reply_code(value, klass)
        assert code == "" or status.is_reply_code(code), code
    reply, extended = status.codes(value)
    assert reply == "" or status.is_reply_code(reply)
    assert extended == "" or status.parse_enhanced(extended)
    status.has_coded_reply(value)
    status.describe_reply(value[:3])
    parsed = status.parse_enhanced(value)
    assert parsed is None or _STATUS.fullmatch(parsed.code)
    assert find_command(value) in ("", "HELO", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT",
                                   "DATA")
    # The SMTP client's reading of a reply: what is stored is printable and bounded.
    result = StepResult.reply("rcptto", value[:3] or "550", value)
    assert len(result.description) <= MAX_DESCRIPTION
    assert not any(c in result.description for c in "\x00\r\n\x1b")
    result.description.encode("utf-8")


def check_wire(chunks: list[bytes]) -> None:
    """The SMTP client's reply reader (delivery.wire), fed what a server could send."""
    wire = Wire()
    for chunk in chunks:
        wire.data_received(chunk)
        # It never holds more than a line's worth of what it could not parse.
        assert len(wire._buffer) <= MAX_LINE + len(chunk)
    for reply in wire.replies:
        assert 200 <= reply.code <= 599 and reply.text.count("\n") < MAX_LINES
        reply.text.encode("utf-8")


reply_line = st.tuples(st.sampled_from([b"250", b"550", b"421", b"354", b"999", b"25", b""]),
                       st.sampled_from([b" ", b"-", b"", b"\t"]),
                       st.binary(max_size=300),
                       st.sampled_from([b"\r\n", b"\n", b"\r", b""])).map(b"".join)
wire_input = st.one_of(
    st.lists(st.binary(max_size=2000), max_size=20),
    st.lists(reply_line, max_size=300).map(lambda lines: [b"".join(lines)]),
    st.lists(reply_line, max_size=300),
    st.integers(1, 20_000).map(lambda n: [b"250-" + b"x" * n]),
)


@st.composite
def with_convention(draw: st.DrawFn) -> tuple[bytes, Convention]:
    return draw(messages), draw(st.sampled_from(list(Convention)))


#: name: (check, strategy, per-input bound, share of SECONDS)
TARGETS: dict[str, tuple[Callable[[Any], None], st.SearchStrategy[Any], timedelta, float]] = {
    "parse": (check_parse, with_convention(), timedelta(seconds=3), 0.5),
    "dsn-fields": (check_dsn_fields, texts, timedelta(milliseconds=500), 0.2),
    "reply-text": (check_reply_text, texts, timedelta(milliseconds=500), 0.2),
    "wire": (check_wire, wire_input, timedelta(milliseconds=500), 0.1),
}


@pytest.mark.timeout(max(300, int(SECONDS * 3)))
@pytest.mark.parametrize("name", list(TARGETS))
def test_fuzz(name: str) -> None:
    check, strategy, bound, share = TARGETS[name]
    budget = SECONDS * share
    ran = 0

    @settings(max_examples=ROUND, deadline=bound, database=None, derandomize=False,
              phases=[Phase.generate, Phase.shrink], print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much, HealthCheck.large_base_example])
    @given(strategy)
    def one(value: Any) -> None:
        nonlocal ran
        ran += 1
        check(value)

    started = time.monotonic()
    rounds = 0
    while rounds == 0 or time.monotonic() - started < budget:
        one()
        rounds += 1
    # The run did run: every round tried its examples.
    assert ran >= rounds * ROUND // 2, (ran, rounds)


def test_the_wire_reader_takes_replies_split_anywhere() -> None:
    """A sanity check of the wire target's reader, so the fuzz run above means something:
    a good multi-line reply fed a byte at a time is one reply; garbage is an error."""
    wire = Wire()
    for byte in b"250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 1000\r\n":
        wire.data_received(bytes([byte]))
    assert [(r.code, r.text) for r in wire.replies] == [
        (250, "mx.example.org\nPIPELINING\nSIZE 1000")]
    assert wire.error is None
    bad = Wire()
    bad.data_received(b"HTTP/1.1 400 Bad Request\r\n")
    assert bad.error is not None and not bad.replies


# ---------------------------------------------------------------------------------------------
# What the fuzz run found, kept as fixed cases
# ---------------------------------------------------------------------------------------------

def test_a_charset_label_with_a_nul_is_no_charset() -> None:
    """Found by the parse target: ``charset=<NUL>`` made codecs.lookup raise ValueError
    (not LookupError), and the whole message was unreadable (Result.error)."""
    raw = (b"\x00:\nContenT-type:;charset=\x00\nContent-Transfer-Encoding:quoted-printable\n"
           b"=C3A\x00")
    assert parse(raw).error == ""
    for label in ("utf-8\x00", "\x00", "\udcff", "x" * 10_000):
        assert text.codec_for(label) is None
    dsn_with_nul = (b"From: MAILER-DAEMON@mx.example.org\nSubject: Undelivered Mail\n"
                    b"Content-Type: text/plain; charset=\"utf-8\x00\"\n\n"
                    b"<a@b.example>: host mx.b.example said: 550 5.1.1 User unknown\n")
    assert parse(dsn_with_nul).error == ""


def test_the_charset_memory_is_bounded() -> None:
    """Each label a message names was remembered: a worker reading messages with made-up
    labels grew without end."""
    for n in range(5000):
        text.codec_for(f"made-up-{n}")
    assert len(text._known) <= text._KNOWN_MAX
    assert text.codec_for("UTF-8") == "utf-8" and text.codec_for("made-up-4999") is None
