"""core.signed: the references a returned message must carry to change anything."""

from __future__ import annotations

import pytest

from bounceloop.core import signed, verp

KEY = "signed-secret"
MID = "3f9c2a7e51d04b18"


def test_a_message_token_is_signed_for_its_recipient_in_any_case() -> None:
    token = signed.message_token(MID, "Ann@Dest.test", KEY)
    ref, _, tag = token.partition(".")
    assert ref == MID and len(tag) == signed.TAG_LENGTH and tag == tag.lower()
    assert signed.message_valid(tag, MID, "ann@dest.test", KEY)
    assert not signed.message_valid(tag, MID, "bob@dest.test", KEY)
    assert not signed.message_valid(tag, "3f9c2a7e51d04b19", "ann@dest.test", KEY)
    assert not signed.message_valid(tag, MID, "ann@dest.test", "another-key")
    # No secret, no signature: nothing verifies (a bounce domain always has one).
    assert not signed.message_valid(tag, MID, "ann@dest.test", "")


def test_each_kind_of_token_signs_its_own_context() -> None:
    """A mailing tag is not a message tag of the same digits, nor a VERP tag."""
    mailing = signed.mailing_token(12, "dest.test", KEY)
    tag = mailing.rpartition(".")[2]
    assert signed.mailing_valid(tag, 12, "DEST.test", KEY)
    assert not signed.mailing_valid(tag, 12, "else.test", KEY)
    assert not signed.message_valid(tag, "12", "dest.test", KEY)
    assert verp.tag(MID, KEY) not in signed.message_token(MID, "a@b.test", KEY)


@pytest.mark.parametrize(("text", "found"), [
    (f"X-Bounceloop-Id: {MID}.abcdefghijklmnop\r\n", [("message", MID, "header")]),
    (f"x-bounceloop-id:\r\n\t{MID.upper()}.ABCDEFGHIJKLMNOP\r\n", [("message", MID, "header")]),
    ("X-Bounceloop-Mailing: mailing-7.abcdefghijklmnop\n", [("mailing", "7", "header")]),
    (f"Original-Envelope-Id: {MID}.abcdefghijklmnop\n", [("message", MID, "envid")]),
    (f"References: <x@y> <{MID}.abcdefghijklmnop@bounces.test>\n",
     [("message", MID, "message-id")]),
    # Not at a place we put one: quoted, inside a longer value, a bare id, a bad tag.
    (f"> X-Bounceloop-Id: {MID}.abcdefghijklmnop\n", []),
    (f"X-Bounceloop-Id: {MID}.abcdefghijklmnopq\n", []),
    (f"X-Bounceloop-Id: {MID}\n", []),
    (f"X-Bounceloop-Id: {MID}.abcdefghijklmn01\n", []),
    (f"See {MID}.abcdefghijklmnop in the text\n", []),
])
def test_tokens_are_found_where_we_put_them(text: str, found: list[tuple[str, ...]]) -> None:
    assert [(f.kind, f.ref, f.by) for f in signed.find(text)] == found


@pytest.mark.parametrize(("text", "count"), [
    # Several places, in and out of order, folded, in any case, at the text's start, after
    # a CR LF and a bare LF, repeated, and field names where no line starts.
    (f"X-BOUNCELOOP-MAILING: mailing-7.abcdefghijklmnop\r\nSubject: x\r\n"
    f"x-bounceloop-id:\r\n {MID}.abcdefghijklmnop\r\n"
    f"Original-Envelope-Id: {'1' * 16}.abcdefghijklmnop\n"
    f"X-Bounceloop-Id: {'2' * 16}.abcdefghijklmnop\n"
    f"Message-ID: <{'3' * 16}.abcdefghijklmnop@b.test>\n"
    f"In-Reply-To: <{'A' * 16}.ABCDEFGHIJKLMNOP@B.TEST> <MAILING-9.abcdefghijklmnop@x>\n"
    f" X-Bounceloop-Id: {'4' * 16}.abcdefghijklmnop\n"
    f"x X-Bounceloop-Id: {'5' * 16}.abcdefghijklmnop\n"
    f"X-Bounceloop-Id:{'6' * 16}.abcdefghijklmnop\n"
    f"X-Bounceloop-Id: {'2' * 16}.abcdefghijklmnop\n", 8),
    # Beyond Latin-1 (a letter that lowers to two): the patterns alone.
    (f"\u0130X-Bounceloop-Id: {MID}.abcdefghijklmnop\n"
     f"X-Bounceloop-Id: {MID}.bbcdefghijklmnop\n", 1),
    ("X-Bounceloop-Id:" * 50 + "\nX-Bounceloop-Id", 0),
])
def test_finding_reads_every_place_in_order_as_the_patterns_do(text: str, count: int) -> None:
    # find only tries the line-anchored places where a line starts with their field name;
    # what it finds, and in what order, is what each place's pattern finds in the text.
    expected: dict[tuple[str, str, str], str] = {}
    for by, pattern in signed._PLACES:
        for m in pattern.finditer(text):
            value = m.group(1).lower()
            message = signed.MESSAGE_TOKEN.fullmatch(value)
            hit = message or signed.MAILING_TOKEN.fullmatch(value)
            assert hit is not None
            expected.setdefault(("message" if message else "mailing", *hit.groups()), by)
    assert [(f.kind, f.ref, f.tag, f.by) for f in signed.find(text, limit=100)] == [
        (*key, by) for key, by in expected.items()]
    assert len(expected) == count


def test_finding_is_bounded_and_distinct() -> None:
    text = "".join(f"X-Bounceloop-Id: {i:016x}.abcdefghijklmnop\n" for i in range(100))
    text += f"X-Bounceloop-Id: {0:016x}.abcdefghijklmnop\n"
    assert len(signed.find(text)) == 16
    assert len(signed.find(text, limit=1000)) == 100


def test_stamp_is_what_a_copy_carries() -> None:
    envid, head = signed.stamp(secret=KEY, recipients=[(MID, "ann@dest.test")], mailing_id=3,
                               message_id_domain="bounces.test")
    assert envid == signed.message_token(MID, "ann@dest.test", KEY)
    assert head == (f"X-Bounceloop-Id: {envid}\r\nMessage-ID: <{envid}@bounces.test>\r\n"
                    .encode())
    # What we put in, we find again, in all three places.
    text = head.decode() + f"Original-Envelope-Id: {envid}\r\n"
    assert {(f.ref, f.by) for f in signed.find(text)} == {(MID, "header")}
    envid, head = signed.stamp(secret=KEY, recipients=[(MID, "ann@dest.test"),
                                                       ("aa" * 8, "bob@dest.test")],
                               mailing_id=3)
    assert envid == signed.mailing_token(3, "dest.test", KEY)
    assert head == f"X-Bounceloop-Mailing: {envid}\r\n".encode()
    # Without a secret: the bare references, which tie nothing.
    assert signed.stamp(secret="", recipients=[(MID, "a@b.test")], mailing_id=3,
                        message_id_domain="x.test") == (
        MID, f"X-Bounceloop-Id: {MID}\r\n".encode())


def test_tags_stay_what_mail_already_sent_carries() -> None:
    # Fixed values: a returned message may come back weeks after it was sent, so the tag of
    # a (message, recipient) under a secret must never change between releases.
    assert signed.message_token(MID, "Jane@Example.COM", "s3cret") == (
        "3f9c2a7e51d04b18.tevedxlv2juhkn2j")
    assert signed.mailing_token(12, "example.com", "s3cret") == "mailing-12.souno4ta3daw42ga"
