"""Text helpers: RFC 2047 words and HTML, checked against what they stand in for.

``decode_header`` is the stdlib's ``email.header.decode_header`` redone in linear time, and
``html_to_text`` strips tags in parts: on generated input both must give exactly what the
originals give (the stdlib function; the one-pattern ``_TAG.sub``).
"""

from __future__ import annotations

import email.header

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bounceloop.parsing import text

#: Pieces of headers that make encoded words, broken ones, and the blanks between them.
HEADER_PIECES = ["=?", "?=", "=?utf-8?q?", "=?UTF-8?B?", "=?iso-2022-jp?B?GyRCJEgbKEI=?=",
                 "=?utf-8?q?a_b=3D?=", "=?utf-8?b?YQ==?=", "=?x?q? ?=", "?", "q", "B", "YQ",
                 "=", "a", " ", "\t", "\n", "\r", "\x0b", "é"]
HTML_PIECES = ["<br>", "<br", "<script>", "</script>", "</style >", "<style>", "<p>", "<", ">",
               "< br>", "<BR/>", "&amp;", "</script", "<scriptx>", "a", " ", "\n"]


def _outcome(fn: object, value: str) -> object:
    try:
        return fn(value)  # type: ignore[operator]
    except Exception as exc:  # the same error too: HeaderParseError for bad base64
        return type(exc)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(HEADER_PIECES), max_size=30).map("".join))
def test_decode_header_is_the_stdlib_s(value: str) -> None:
    assert _outcome(text.decode_header, value) == _outcome(email.header.decode_header, value)


@pytest.mark.parametrize("value", [
    "=?utf-8?q?caf=C3=A9?= =?utf-8?q?_au?=\t=?utf-8?q?_lait?=",
    "plain =?iso-2022-jp?B?GyRCJEgbKEI=?= after",
    "=?utf-8?b?YQ?=",  # padding completed
    "=?utf-8?b?!?=",  # not base64: an error, as the stdlib's
    "=?utf-8?q?no end",
])
def test_decode_header_examples(value: str) -> None:
    assert _outcome(text.decode_header, value) == _outcome(email.header.decode_header, value)


def test_decode_words_of_many_encoded_words() -> None:
    value = " ".join(["=?utf-8?b?YQ==?="] * 100_000)
    assert text.decode_words(value) == "a" * 100_000  # white space between them dropped


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(HTML_PIECES), max_size=40).map("".join))
def test_tags_are_stripped_as_by_the_one_pattern(markup: str) -> None:
    assert text._strip_tags(markup) == text._TAG.sub("", markup)


def test_html_line_ends_are_white_space_and_breaks_are_lines() -> None:
    # A browser shows "a<br>\n b" as two lines and a sentence wrapped in the source as one.
    markup = ("<html><body>\nDelivery has failed to these recipients:<br>\n<br>\n"
              "&nbsp;&nbsp;jane@example.org<br>\n&nbsp;&nbsp;&nbsp;&nbsp;550 5.1.1 mailbox\n"
              "unavailable<br>\n</body></html>")
    assert text.html_to_text(markup) == ("Delivery has failed to these recipients:\n\n"
                                         "  jane@example.org\n    550 5.1.1 mailbox unavailable")


def test_html_pre_keeps_its_lines() -> None:
    markup = "<p>Transcript:</p><pre>&lt;&lt;&lt; 550-5.7.1 one\n&lt;&lt;&lt; 550 5.7.1 two</pre>"
    assert text.html_to_text(markup).splitlines()[-2:] == ["<<< 550-5.7.1 one",
                                                           "<<< 550 5.7.1 two"]


def test_text_sent_as_html_keeps_its_lines() -> None:
    # No block tag at all: plain text labelled text/html, whose line ends are its lines.
    assert text.html_to_text("Mail to jane@example.org\n<b>failed</b>: user unknown") == (
        "Mail to jane@example.org\nfailed: user unknown")


def test_html_first_line_keeps_its_indentation() -> None:
    # A banner indented at the notice's first line (an auto-DSN's "      This is an
    # automatically generated Delivery Status Notification.") stays indented.
    markup = "<html><body>\n&nbsp;&nbsp;&nbsp;Banner<br>\n<br>\nText</body></html>"
    assert text.html_to_text(markup) == "   Banner\n\nText"


@pytest.mark.parametrize(("flowed", "delsp", "fixed"), [
    # A soft break (a space at the line's end) joins the next line (RFC 3676 4.2).
    ("550 5.1.1 <jane@example.org>: Recipient address rejected: User \nunknown\nnext",
     False, "550 5.1.1 <jane@example.org>: Recipient address rejected: User unknown\nnext"),
    # DelSp=yes: the space of the break is the sender's, not the text's (4.2).
    ("Us\ner", True, "Us\ner"), ("Us \ner", True, "User"),
    # Quoted lines join those of the same depth only; a stuffed space is taken off (4.4);
    # the signature separator is no soft break (4.3).
    ("> one \n> two\n>> three\n  stuffed\n-- \nsig", False,
     "> one two\n>> three\n stuffed\n-- \nsig"),
])
def test_unflow(flowed: str, delsp: bool, fixed: str) -> None:
    assert text.unflow(flowed, delsp) == fixed
