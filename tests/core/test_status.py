"""Status codes: the registries and finding codes in the text real MTAs write."""

from __future__ import annotations

import pytest

from bounceloop.core.status import (
    CLASSES,
    DETAILS,
    REPLY_CODES,
    SUBJECTS,
    codes,
    describe_reply,
    find_enhanced,
    find_reply_code,
    is_reply_code,
    parse_enhanced,
)


def test_registry_covers_rfc3463_and_later_registrations() -> None:
    assert set(CLASSES) == {"2", "4", "5"}
    assert set(SUBJECTS) == {str(n) for n in range(8)}
    # RFC 3463 section 3 defines these details per subject; later RFCs added more.
    rfc3463 = {
        "0": 1, "1": 9, "2": 5, "3": 6, "4": 8, "5": 6, "6": 6, "7": 8,
    }
    for subject, count in rfc3463.items():
        defined = [k for k, (_, ref) in DETAILS.items()
                   if k.split(".")[0] == subject and ref == "RFC 3463"]
        assert len(defined) == count, subject
    assert DETAILS["1.10"][1] == "RFC 7505"
    assert DETAILS["7.26"][0] == "Multiple authentication checks failed"


@pytest.mark.parametrize(
    ("text", "code", "klass", "subject", "detail", "description"),
    [
        ("5.1.1", "5.1.1", "5", "1", "1", "Bad destination mailbox address"),
        ("4.2.2", "4.2.2", "4", "2", "2", "Mailbox full"),
        (" 5.7.26 ", "5.7.26", "5", "7", "26", "Multiple authentication checks failed"),
        ("5.01.001", "5.1.1", "5", "1", "1", "Bad destination mailbox address"),
        ("2.1.5", "2.1.5", "2", "1", "5", "Destination address valid"),
        ("5.1.351", "5.1.351", "5", "1", "351", ""),
    ],
)
def test_parse_enhanced(text: str, code: str, klass: str, subject: str, detail: str,
                        description: str) -> None:
    st = parse_enhanced(text)
    assert st is not None
    assert (st.code, st.klass, st.subject, st.detail) == (code, klass, subject, detail)
    assert st.detail_text == description
    assert st.registered is bool(description)
    assert st.permanent is (klass == "5") and st.transient is (klass == "4")


def test_describe_joins_class_subject_detail() -> None:
    st = parse_enhanced("4.2.2")
    assert st is not None
    assert st.describe() == "Persistent transient failure: Mailbox status: Mailbox full"


@pytest.mark.parametrize("text", ["", "5.1", "6.1.1", "5.8.1", "5.1.1.1", "abc", "55.1.1"])
def test_parse_enhanced_rejects(text: str) -> None:
    assert parse_enhanced(text) is None


@pytest.mark.parametrize(
    ("text", "reply", "enhanced"),
    [
        # Gmail's multi-line reply.
        ("550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 "
         "https://support.google.com/mail/?p=NoSuchUser", "550", "5.1.1"),
        # Lotus Domino / Exchange put a # before the enhanced code.
        ("smtp; 550 #5.1.0 Address rejected.", "550", "5.1.0"),
        # Exim's "SMTP error from remote mail server after RCPT TO:".
        ("SMTP error from remote mail server after RCPT TO:<jane@example.org>: "
         "host mx.example.org [192.0.2.1]: 550 Unknown user", "550", ""),
        # qmail: the status in parentheses after the text.
        ("192.0.2.3 said: 550 Unknown user jane@example.org. (#5.5.0)", "550", "5.5.0"),
        # Postfix with "said:" and a folded reply.
        ("host mx.example.jp[192.0.2.22] said: 550 5.2.1 <a@example.jp>... User Unknown",
         "550", "5.2.1"),
        # The enhanced class wins the reply's class hint: 450 next to 4.1.1.
        ("450 4.1.1 <a@example.org>: Recipient address rejected", "450", "4.1.1"),
        # An IP address and a version string are not codes.
        ("connect to mx.example.org[192.0.2.22]:25: Connection timed out", "", ""),
        ("(Postfix 2.5.1) host unknown", "", ""),
        ("Exim 4.72 said: 421 4.4.2 timeout", "421", "4.4.2"),
        # Codes at the start of the text, and after a semicolon.
        ("552 5.2.2 Mailbox full", "552", "5.2.2"),
        ("smtp;550 user unknown", "550", ""),
        ("", "", ""),
    ],
)
def test_codes_in_text(text: str, reply: str, enhanced: str) -> None:
    assert codes(text) == (reply, enhanced)


def test_find_enhanced_prefers_the_requested_class() -> None:
    text = "554 4.4.7 Message expired <421 4.4.2 Connection timed out> 5.0.0"
    assert find_enhanced(text) == "4.4.7"
    assert find_enhanced(text, "5") == "5.0.0"


@pytest.mark.parametrize(("text", "klass", "code"), [
    # Courier's and Apache James's 571: read by its first digit (RFC 5321 4.2.1) where it
    # opens the reply.
    ("571 Delivery not authorized, message refused.", "", "571"),
    ("571 5.7.1 message classified as spam", "5", "571"),
    ("571 StartTLS required", "4", ""),
    # Elsewhere such a number is not taken for a code.
    ("the server said 571 things", "", ""),
    ("host mx.example.org said: 571 no", "", ""),
])
def test_a_leading_code_outside_rfc_5321s_range(text: str, klass: str, code: str) -> None:
    assert find_reply_code(text, klass) == code


def test_find_reply_code_skips_success_codes_unless_asked() -> None:
    text = "250 2.1.5 Ok, then 550 5.1.1 unknown"
    assert find_reply_code(text) == "550"
    assert find_reply_code("250 2.1.5 Ok", "2") == "250"
    assert find_reply_code("250 2.1.5 Ok") == ""


@pytest.mark.parametrize(
    ("code", "valid"),
    [("550", True), ("421", True), ("250", True), ("599", False), ("600", False),
     ("55", False), ("5a0", False), ("570", False)],
)
def test_is_reply_code(code: str, valid: bool) -> None:
    assert is_reply_code(code) is valid


def test_reply_registry() -> None:
    assert describe_reply("550") == "Requested action not taken: mailbox unavailable"
    assert describe_reply("556") == "Domain does not accept mail"
    assert describe_reply("599") == ""
    assert all(is_reply_code(c) for c in REPLY_CODES)
