"""Properties: the parser never raises (and never reports an internal error) on any input.

Inputs: arbitrary bytes; our own samples truncated and mutated; messages built to be hostile
(deep MIME nesting, broken boundaries, bogus charsets and encodings, 10,000 headers, a 10 MB
body). The benchmark corpus, where present (``../shared/corpus/sisimai``), is mutated too.
Throughput and linearity are measured in ``bench/linearity.py``; here a blow-up shows as a
timeout.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bounceloop.parsing import parse

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "data" / "bounces").glob("*.eml"))
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "sisimai" / "eml"
CORPUS_FILES = sorted(CORPUS.glob("*.eml")) if CORPUS.is_dir() else []

PROFILE = settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "200")),
                   deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(raw: bytes) -> None:
    result = parse(raw)
    assert not result.error, result.error
    for record in result.records:
        assert record.state == "bounce"
        assert record.kind in ("failure", "delay", "delivery", "complaint", "autoreply")
        assert record.severity in ("hard", "soft", "")
        assert isinstance(record.hardbounce, bool)
        record.as_dict()


@PROFILE
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(raw: bytes) -> None:
    _check(raw)


def _mutations(pool: list[Path]) -> st.SearchStrategy[bytes]:
    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(pool)).read_bytes())
        for _ in range(draw(st.integers(0, 8))):
            op = draw(st.sampled_from(["cut", "flip", "insert", "delete", "dup"]))
            if not data:
                break
            i = draw(st.integers(0, len(data) - 1))
            if op == "cut":
                del data[i:]
            elif op == "flip":
                data[i] = draw(st.integers(0, 255))
            elif op == "insert":
                data[i:i] = draw(st.sampled_from(
                    [b"\n", b"\r", b"--", b"\nContent-Type: multipart/mixed; boundary=x\n",
                     b"=?utf-8?B?", b"\x1b$B", b"\xff\xfe", b"\n\n", b":", b"<", b"\t"]))
            elif op == "delete":
                del data[i:i + draw(st.integers(1, 200))]
            else:
                j = draw(st.integers(i, min(len(data), i + 500)))
                data[j:j] = data[i:j]
        return bytes(data)

    return build()


@pytest.mark.skipif(not SAMPLES, reason="no samples")
@PROFILE
@given(_mutations(SAMPLES) if SAMPLES else st.just(b""))
def test_mutated_own_samples(raw: bytes) -> None:
    _check(raw)


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS_FILES, reason="../shared/corpus/sisimai is not present")
@PROFILE
@given(_mutations(CORPUS_FILES) if CORPUS_FILES else st.just(b""))
def test_mutated_corpus(raw: bytes) -> None:
    _check(raw)


_charsets = st.sampled_from(["utf-8", "iso-2022-jp", "shift_jis", "x-unknown", "utf-7", "",
                             "\"", "unicode-1-1-utf-7", "gb2312", "bogus*charset"])
_encodings = st.sampled_from(["base64", "quoted-printable", "7bit", "8bit", "x-uue", "BASE64 "])
_ctypes = st.sampled_from(["text/plain", "text/html", "message/delivery-status",
                           "message/rfc822", "text/rfc822-headers", "message/feedback-report",
                           "multipart/report", "multipart/mixed", "application/octet-stream",
                           "message/global-delivery-status", "text/plain; name*"])


@st.composite
def _hostile(draw: st.DrawFn, depth: int = 0) -> bytes:
    ctype = draw(_ctypes)
    boundary = draw(st.sampled_from(["b", "b\"", "", "=_x", "a" * 80, "--", "b b"]))
    head = (f"Content-Type: {ctype}; charset={draw(_charsets)}; boundary=\"{boundary}\"\n"
            f"Content-Transfer-Encoding: {draw(_encodings)}\n")
    head += draw(st.sampled_from(["", "Subject: =?utf-8?Q?=E3=81?=\n", "To: (c):\n", "To: \"\n",
                                  "Message-ID: <[x@example.com]>\n", "From: <<<@@@>>>\n",
                                  "Final-Recipient: rfc822;\n", "Status: 5.1.1.1.1\n"]))
    if depth < 4 and ctype.startswith(("multipart", "message/rfc822")):
        parts = draw(st.lists(_hostile(depth + 1), max_size=3))
        body = b"".join(b"--" + boundary.encode() + b"\n" + p + b"\n" for p in parts)
        body += draw(st.sampled_from([b"--" + boundary.encode() + b"--\n", b""]))
    else:
        body = draw(st.sampled_from([
            b"Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n",
            b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n Remote-MTA: dns; x\n",
            b"Feedback-Type: abuse\nOriginal-Rcpt-To: a@example.org\n",
            b"SGVsbG8=\n", b"=E3=81=\n", b"\x1b$B%a!<%k\x1b(B\n", b"", b"\xff" * 10,
        ]))
    return head.encode() + b"\n" + body


@PROFILE
@given(_hostile())
def test_hostile_mime(raw: bytes) -> None:
    _check(b"From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail\nMIME-Version: 1.0\n"
           + raw)


def test_deep_nesting_does_not_overflow() -> None:
    raw = b"Subject: x\n"
    for i in range(2000):
        raw += f"Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n".encode()
    _check(raw)


@pytest.mark.timeout(120)
def test_ten_thousand_headers_and_ten_megabytes() -> None:
    assert SAMPLES, "needs the sample table"
    base = SAMPLES[0].read_bytes()
    many = b"".join(b"X-Header-%d: value %d\n" % (i, i) for i in range(10_000))
    _check(many + base)
    big = base + b"\n" + (b"A" * 76 + b"\n") * (10 * 1024 * 1024 // 77)
    _check(big)
    _check(base.replace(b"\n\n", b"\nX-Long: " + b"x " * 2_000_000 + b"\n\n", 1))
