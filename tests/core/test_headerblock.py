"""core.headerblock: a message to send begins with header fields (RFC 5322 2.1); plain
text, an empty file and binary data are refused with the reason."""

from __future__ import annotations

import pytest

from bounceloop.core.headerblock import problem

NOT_A_FIELD = 'not a MIME message: line {} is not a header field ("Name: value", RFC 5322 2.2)'

MESSAGES = [
    b"From: news@sender.test\r\nSubject: hello\r\n\r\nHello.\r\n",
    b"From: news@sender.test\nSubject: hello\n\nHello.\n",                 # LF only
    b"Subject: a long\r\n subject, folded\r\n\tand folded again\r\n\r\nx",  # RFC 5322 2.2.3
    b"Subject : obsolete white space before the colon\r\n\r\nx",            # RFC 5322 4.5
    b"X-Empty:\r\n\r\nx",
    b"Subject: headers only, no body",                                      # RFC 5322 3.5
    b"Subject: caf\xe9 \xff\xfe in a value\r\n\r\n\x00\x01 binary body\r\n",
    b"Subject: x\r\n\r\nDear Jane,\r\nno header here: fine, it is the body.\r\n",
]


@pytest.mark.parametrize("data", MESSAGES)
def test_messages_pass(data: bytes) -> None:
    assert problem(data) is None


REFUSED = [
    (b"", "the message is empty"),
    (b" \r\n\t\r\n", "the message is empty"),
    (b"Hello Jane,\n\nhow are you?\n", NOT_A_FIELD.format(1) + ": 'Hello Jane,'"),
    (b"Dear Jane: see below\n\nx", NOT_A_FIELD.format(1) + ": 'Dear Jane: see below'"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", NOT_A_FIELD.format(1) + ": '\ufffdPNG'"),
    (b"PK\x03\x04\x14\x00\x00\x00", NOT_A_FIELD.format(1) + ": 'PK\\x03\\x04\\x14\\x00\\x00\\x00'"),
    (b"\x00\x01\x02", NOT_A_FIELD.format(1) + ": '\\x00\\x01\\x02'"),
    (b": no name\r\n\r\nx", NOT_A_FIELD.format(1) + ": ': no name'"),
    (b"From news@sender.test Mon Jan  5 10:00:00 2026\nSubject: x\n\ny",   # an mbox line
     NOT_A_FIELD.format(1) + ": 'From news@sender.test Mon Jan  5 10:00:0...'"),  # 40 shown
    (b"Subject: x\r\nthe body, with no blank line before it\r\n",
     NOT_A_FIELD.format(2) + " and no blank line ends the header fields before it: "
     "'the body, with no blank line before it'"),
    (b"\r\nSubject: x\r\n", "not a MIME message: it begins with a blank line, no header "
     "fields before the body (RFC 5322 2.1)"),
    (b" Subject: x\r\n\r\ny", "not a MIME message: line 1 begins with white space, but no "
     "header field comes before it: ' Subject: x'"),
]


@pytest.mark.parametrize(("data", "why"), REFUSED)
def test_what_is_not_a_message_is_refused_with_the_reason(data: bytes, why: str) -> None:
    assert problem(data) == why
