"""Reading real-world message bytes: line ends, transfer encodings, charsets, broken MIME."""

from __future__ import annotations

import base64
import quopri
from pathlib import Path

import pytest

from bounceloop.parsing import parse
from bounceloop.parsing.mail import headers_of, read, untagged

DSN = b"""From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: sender@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain; charset=us-ascii

The mail system could not deliver your message.

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; jane@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <jane@example.com>: Recipient address rejected:
    User unknown in local recipient table

--B1
Content-Type: message/rfc822

Message-ID: <abc123@example.org>
From: sender@example.org
To: jane@example.com
Subject: hello
X-Bounceloop-Id: m-42

hi
--B1--
"""


def _one(raw: bytes) -> dict[str, object]:
    result = parse(raw)
    assert not result.error
    assert len(result.records) == 1
    return result.records[0].as_dict()


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_line_ends_read_the_same(newline: bytes) -> None:
    raw = DSN.replace(b"\n", newline)
    rec = _one(raw)
    assert rec["recipient"] == "jane@example.com"
    assert rec["extended"] == "5.1.1"
    assert rec["code"] == "550"
    assert rec["description"].endswith("User unknown in local recipient table")  # type: ignore[union-attr]
    assert rec["original_message_id"] == "abc123@example.org"
    assert rec["headers"] == {"X-Bounceloop-Id": "m-42"}


def test_mbox_from_line_is_ignored() -> None:
    rec = _one(b"From MAILER-DAEMON Fri Feb 13 02:47:49 2015\n" + DSN)
    assert rec["recipient"] == "jane@example.com"


def test_base64_delivery_status_part() -> None:
    fields = (b"Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; bob@example.com\n"
              b"Action: failed\nStatus: 5.2.2\nDiagnostic-Code: smtp; 552 5.2.2 Mailbox full\n")
    start = DSN.index(b"Content-Type: message/delivery-status")
    end = DSN.index(b"--B1\nContent-Type: message/rfc822")
    raw = DSN.replace(
        DSN[start:end],
        b"Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(fields) + b"\n",
    )
    rec = _one(raw)
    assert (rec["recipient"], rec["extended"], rec["reason"]) == (
        "bob@example.com", "5.2.2", "mailboxfull")


def test_quoted_printable_and_charset_in_text_part() -> None:
    body = "L'adresse a été refusée : utilisateur inconnu".encode("iso-8859-1")
    mail = read(
        b"From: postmaster@example.fr\nSubject: x\nMIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: "
        b"quoted-printable\n\n" + quopri.encodestring(body)
    )
    assert "été refusée" in mail.body


def test_iso2022jp_and_shift_jis_bodies() -> None:
    text = "宛先のメールアドレスが見つかりません"
    jis = read(b"Subject: x\nContent-Type: text/plain; charset=ISO-2022-JP\n\n"
               + text.encode("iso2022_jp"))
    assert text in jis.body
    # Undeclared charset: the bytes say Shift_JIS.
    sjis = read(b"Subject: x\nContent-Type: text/plain\n\n" + text.encode("shift_jis"))
    assert text in sjis.body


def test_encoded_words_in_subject_and_from() -> None:
    subject = base64.b64encode("メール".encode("iso2022_jp"))
    mail = read(b"From: =?utf-8?B?44Oh44O844Op44O8?= <mailer-daemon@example.jp>\n"
                b"Subject: =?ISO-2022-JP?B?" + subject + b"?=\n\nbody\n")
    assert mail.subject == "メール"
    assert mail.from_address == "mailer-daemon@example.jp"


def test_boundary_declared_wrong_is_recovered() -> None:
    # The header says boundary "XX", the body uses "B1" (a relay rewrote one of them).
    raw = DSN.replace(b'boundary="B1"', b'boundary="XX"')
    assert _one(raw)["recipient"] == "jane@example.com"


def test_lost_content_type_header_is_recovered() -> None:
    raw = DSN.replace(
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\n', b""
    )
    assert _one(raw)["recipient"] == "jane@example.com"


def test_html_only_notification_becomes_text() -> None:
    mail = read(b"Subject: x\nContent-Type: text/html; charset=utf-8\n\n"
                b"<html><body><p>Delivery failed:</p><p>550 5.1.1 user&nbsp;unknown</p>"
                b"<script>x()</script></body></html>")
    assert "550 5.1.1 user unknown" in mail.body
    assert "x()" not in mail.body


def test_html_notice_beside_a_plain_part_is_read_in_its_place() -> None:
    # A notice in HTML alone, and the returned message inline as text/plain (not
    # message/rfc822): the notice is not dropped for the plain part.
    mail = read(b"Subject: Undeliverable\nMIME-Version: 1.0\n"
                b"Content-Type: multipart/mixed; boundary=b\n\n--b\n"
                b"Content-Type: text/html\n\n<p>Delivery to jane@example.com failed:</p>"
                b"<p>550 5.2.2 mailbox full</p>\n--b\nContent-Type: text/plain\n\n"
                b"Dear reader, the spring issue is out.\n--b--\n")
    assert mail.body.startswith("Delivery to jane@example.com failed:")
    assert mail.body.index("550 5.2.2 mailbox full") < mail.body.index("spring issue")


def test_typographic_apostrophes_read_as_plain_ones() -> None:
    mail = read("Subject: x\nContent-Type: text/plain; charset=utf-8\n\nYour message "
                "wasn\u2019t delivered: this user doesn\u2018t have an account\n".encode())
    assert "wasn't delivered: this user doesn't have" in mail.body


def test_no_break_spaces_read_as_spaces_but_indent_html() -> None:
    plain = read("Subject: x\nContent-Type: text/plain; charset=utf-8\n\nDelivery\u00a0has "
                 "failed to these recipients\u202f:\n".encode())
    assert "Delivery has failed to these recipients :" in plain.body
    html = read("Subject: x\nContent-Type: text/html; charset=utf-8\n\n<p>Failed:</p><p>"
                "\u00a0\u00a0jane@example.org</p>".encode())
    assert "\n  jane@example.org" in html.body


def test_headers_of_quoted_original() -> None:
    fields = headers_of("\nReturn-Path: <a@example.org>\nSubject: hello\n world\nTo: b@example"
                        ".com\n\nbody: not a header\n")
    assert fields == [("Return-Path", "<a@example.org>"), ("Subject", "hello world"),
                      ("To", "b@example.com")]


def test_not_a_bounce_yields_nothing() -> None:
    result = parse(b"From: friend@example.org\nTo: me@example.com\nSubject: lunch?\n\n"
                   b"Shall we have lunch tomorrow?\n")
    assert result.records == ()
    assert not result.recognized
    assert not result.error


@pytest.mark.parametrize("raw", [b"", b"\x00\xff\xfe", b"\n\n\n", b"Subject: x", b"--\n--\n"])
def test_garbage_is_not_an_error(raw: bytes) -> None:
    result = parse(raw)
    assert result.records == ()
    assert not result.error


@pytest.mark.parametrize(("value", "address"), [
    ("O'Brien <o'brien@example.ie>", "o'brien@example.ie"),
    ("'jane@example.org'", "jane@example.org"),
    ("Jane <jane@example.org>", "jane@example.org"),
])
def test_from_address_keeps_an_apostrophe_of_its_local_part(value: str, address: str) -> None:
    # RFC 5322 3.2.3: "'" is atext; around an address it is only quoting.
    assert read(f"From: {value}\r\nSubject: x\r\n\r\nbody\r\n".encode()).from_address == address


@pytest.mark.parametrize(("subject", "bare"), [
    ("[EXTERNAL] Mail delivery failed", "Mail delivery failed"),
    ("*****SPAM***** Undelivered Mail Returned to Sender", "Undelivered Mail Returned to Sender"),
    ("****SPAM(5.2)**** Returned mail", "Returned mail"),
    ("***SPAM*** [External] failure notice", "failure notice"),
    ("[SPAM] Delivery Status Notification (Failure)", "Delivery Status Notification (Failure)"),
    ("SPAM: 6.21 Undeliverable: hello", "Undeliverable: hello"),
    ("EXT: Fwd: Returned mail", "Fwd: Returned mail"),
    # A tag alone is the Subject (Apache James's "[BOUNCE]" is none of these anyway); a
    # mailing list's tag and other brackets are the sender's own.
    ("[SPAM]", "[SPAM]"),
    ("[BOUNCE]", "[BOUNCE]"),
    ("[languse] Mail delivery failed", "[languse] Mail delivery failed"),
    ("[Postmaster] Email Delivery Failure", "[Postmaster] Email Delivery Failure"),
])
def test_untagged(subject: str, bare: str) -> None:
    assert untagged(subject) == bare


SAMPLES = Path(__file__).resolve().parents[1] / "data" / "bounces"


@pytest.mark.parametrize("tag", [b"[EXTERNAL] ", b"*****SPAM***** "])
def test_a_tagged_subject_reads_as_the_mtas_own(tag: bytes) -> None:
    # Gmail's plain-text bounce is known by its Subject's start.
    raw = (SAMPLES / "gmail-01.eml").read_bytes()
    tagged = raw.replace(b"Subject: ", b"Subject: " + tag, 1)
    assert tagged != raw
    result = parse(tagged)
    assert (result.detector, [(r.recipient, r.reason) for r in result.records]) == (
        "gmail", [("ghost.user@example.org", "userunknown")])
    assert result.subject.startswith(tag.decode().strip())  # shown as it came
