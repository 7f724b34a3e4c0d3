"""The lenient MIME reader: header blocks, Content-Type parameters, part splitting."""

from __future__ import annotations

import pytest

from bounceloop.parsing.mime import Part, content_type, parse, split_head, split_parts


@pytest.mark.parametrize(
    ("text", "headers", "body"),
    [
        ("A: 1\nB: 2\n\nbody\n", [("A", "1"), ("B", "2")], "body\n"),
        ("Subject: one\n two\n\tthree\n\nx", [("Subject", "one two three")], "x"),
        ("From MAILER-DAEMON Fri Feb 13 02:47:49 2015\nA: 1\n\nx", [("A", "1")], "x"),
        ("A: 1\nthis line is no header\nmore\n\nx", [("A", "1")],
         "this line is no header\nmore\n\nx"),
        ("A: 1\n   \nbody", [("A", "1")], "body"),
        ("\nbody only", [], "body only"),
        ("A: 1", [("A", "1")], ""),
        ("", [], ""),
        (" leading continuation\nA: 1\n\nx", [], " leading continuation\nA: 1\n\nx"),
    ],
)
def test_split_head(text: str, headers: list[tuple[str, str]], body: str) -> None:
    assert split_head(text) == (headers, body)


@pytest.mark.parametrize(
    ("value", "ctype", "params"),
    [
        ('multipart/report; report-type=delivery-status; boundary="a b"',
         "multipart/report", {"report-type": "delivery-status", "boundary": "a b"}),
        ("Text/Plain; charset=ISO-2022-JP", "text/plain", {"charset": "ISO-2022-JP"}),
        ("multipart/mixed; boundary*0=abc; boundary*1=def", "multipart/mixed",
         {"boundary": "abcdef"}),
        ("text/plain; charset*=utf-8''UTF-8", "text/plain", {"charset": "UTF-8"}),
        ('text/plain; name="a \\"q\\" b"', "text/plain", {"name": 'a "q" b'}),
        ("garbage", "text/plain", {}),
        ("", "text/plain", {}),
    ],
)
def test_content_type(value: str, ctype: str, params: dict[str, str]) -> None:
    assert content_type(value) == (ctype, params)


def test_split_parts_variants() -> None:
    body = ("preamble\n--b\nA: 1\n\none\n--b   \ntwo\n--bX\nstill two\n--b--\nepilogue")
    assert split_parts(body, "b") == (["A: 1\n\none", "two\n--bX\nstill two"], "preamble")
    # No close delimiter: the last part runs to the end.
    assert split_parts("--b\nx\n--b\ny\n", "b") == (["x", "y\n"], "")
    # The boundary never occurs.
    assert split_parts("no parts here", "b") == ([], "no parts here")
    # A close delimiter before the first part, with more delimiters after it, opens the part
    # (MasqMail's Italian template); alone, it still closes.
    assert split_parts("pre\n--b--\nx\n--b\ny\n--b--\n", "b") == (["x", "y"], "pre")
    assert split_parts("pre\n--b--\nafter\n", "b") == ([], "pre\n--b--\nafter\n")


def test_mime_fields_cut_off_by_a_blank_line() -> None:
    # MasqMail's Italian template: a blank line after the Subject; its MIME fields open the
    # body. Only a block that opens with MIME-Version or Content-Type and holds both is read.
    text = ("From: a@example.org\nSubject: s\n\nMIME-Version: 1.0\nContent-Type: "
            "multipart/mixed;\n boundary=\"b\"\n\npre\n--b\n\none\n--b--\n")
    root = parse(text)
    assert (root.ctype, len(root.children), root.children[0].body) == (
        "multipart/mixed", 1, "one")
    for body in ("Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\none\n--b--\n",
                 "Hello,\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n"):
        assert parse("Subject: s\n\n" + body).ctype == "text/plain"
    # Below the top level a part's body is its own.
    nested = parse("Content-Type: multipart/mixed; boundary=\"o\"\n\n--o\n\n"
                   "MIME-Version: 1.0\nContent-Type: text/html\n\nx\n--o--\n")
    assert nested.children[0].ctype == "text/plain"


def test_nested_tree_and_payloads() -> None:
    msg = (
        'Content-Type: multipart/mixed; boundary="o"\n\n--o\nContent-Type: multipart/'
        'alternative; boundary="i"\n\n--i\nContent-Type: text/plain\nContent-Transfer-'
        "Encoding: base64\n\naGVsbG8=\n--i\nContent-Type: text/html\n\n<p>hello</p>\n--i--\n"
        "--o\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
        "caf=C3=A9 au lait=\n!\n--o--\n"
    )
    root = parse(msg)
    assert root.ctype == "multipart/mixed"
    alt, qp = root.children
    assert [c.ctype for c in alt.children] == ["text/plain", "text/html"]
    assert alt.children[0].payload() == b"hello"
    assert qp.payload() == "café au lait!".encode()


@pytest.mark.parametrize("pad", ["", " ", "  \t"])
def test_quoted_printable_drops_the_white_space_transport_added(pad: str) -> None:
    # RFC 2045 6.7 rule (3): trailing white space is deleted before decoding, so "=" stays
    # a soft line break.
    body = f"Final-Reci={pad}\npient: rfc822; a@b.example{pad}\nStatus: 5.1.1{pad}\n"
    part = Part(headers=[("Content-Transfer-Encoding", "quoted-printable")], body=body)
    assert part.payload() == b"Final-Recipient: rfc822; a@b.example\nStatus: 5.1.1\n"


def test_broken_base64_is_decoded_as_far_as_it_goes() -> None:
    part = Part(headers=[("Content-Transfer-Encoding", "base64")], body="aGVsbG8gd29y\n!!bGQ")
    assert part.payload().startswith(b"hello wor")


def test_depth_is_bounded() -> None:
    text = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n'
                   for i in range(200))
    root = parse(text)
    depth = 0
    while root.children:
        root = root.children[0]
        depth += 1
    assert depth <= 41


def test_split_head_unfolds_a_field_of_many_lines() -> None:
    # Unfolding (RFC 5322 section 2.2.3) of a field folded over 200,000 lines: every line
    # joined by one space, in order, and the fields around it intact.
    lines = [f"part{i}" for i in range(200_000)]
    text = "A: 1\nX-Long: start\n" + "".join(f" {w}\n" for w in lines) + "\tend\nB: 2\n\nbody"
    headers, body = split_head(text)
    assert headers == [("A", "1"), ("X-Long", " ".join(["start", *lines, "end"])), ("B", "2")]
    assert body == "body"


def test_split_head_ends_a_long_fold_where_compat32_does() -> None:
    # A line of only white space inside a long fold ends the header block there.
    text = "X-Long: a\n" + " b\n" * 50_000 + "  \nNot-A-Header: x\n\nrest"
    headers, body = split_head(text)
    assert headers == [("X-Long", "a" + " b" * 50_000)]
    assert body == "Not-A-Header: x\n\nrest"
