"""The structural fallback's precision guard (issue 18 item 4): the addresses a bounce names
beside its failed recipient - its own sender, the original's senders, postmaster - are never
reported, and a message that does not look like a bounce yields nothing."""

from __future__ import annotations

import pytest

from bounceloop.parsing import parse

BOUNCE = """Return-Path: <>
From: Mail System <mailer-daemon@mx.example.net>
Sender: bounces@mx.example.net
To: <shop@example.org>
Subject: {subject}
Content-Type: text/plain

Delivery to the following recipients failed:
  shop@example.org, postmaster@example.net, bounces@mx.example.net
  replies@example.org
  <m.kovac@example.si>
  mailer-daemon@example.si
Message-ID: <m.kovac.order@example.org>

--- Below this line is a copy of the message.
From: Shop <shop@example.org>
Reply-To: replies@example.org
To: m.kovac@example.si
"""


def test_only_the_failed_recipient_is_reported() -> None:
    result = parse(BOUNCE.format(subject="Undeliverable: your order").encode())
    assert result.detector == "fallback"
    assert [r.recipient for r in result.records] == ["m.kovac@example.si"]


def test_a_message_that_is_no_bounce_yields_nothing() -> None:
    raw = BOUNCE.format(subject="your order")
    raw = raw.replace("Return-Path: <>", "Return-Path: <a@b.example>")
    raw = raw.replace("mailer-daemon@mx.example.net", "sales@mx.example.net")
    assert parse(raw.encode()).records == ()


PROSE = """Return-Path: <>
From: MAILER-DAEMON@mx.example.net
To: <shop@example.org>
Subject: about your order
Content-Type: text/plain

{banner}I looked into the order you asked about this morning.
The warehouse says the parcel left on Monday.
The courier has not scanned it since then.
I will call them again tomorrow.
Your message to a.berg@example.se could not be delivered, they say.
"""


def test_a_statement_below_the_opening_prose_is_not_a_notice() -> None:
    # A machine's banner is not counted among the opening lines; a person's prose is.
    assert parse(PROSE.format(banner="").encode()).records == ()
    assert parse(PROSE.format(banner="*" * 40 + "\n").encode()).records == ()


def test_a_banner_does_not_count_among_the_opening_lines() -> None:
    raw = PROSE.format(banner="*" * 40 + "\n** THIS IS A WARNING MESSAGE ONLY **\n"
                       "** YOU DO NOT NEED TO RESEND YOUR MESSAGE **\n" + "*" * 40
                       + "\n\nYour message could not be delivered to a.berg@example.se\n\n")
    assert [r.recipient for r in parse(raw.encode()).records] == ["a.berg@example.se"]


LABELLED = """Return-Path: <{path}>
From: {sender}
To: <shop@example.org>
Subject: {subject}
Content-Type: text/plain

Intended recipient: k.ito@example.jp
Error-for:  shop@example.org
"""


def test_a_labelled_recipient_only_in_a_bounce() -> None:
    bounce = LABELLED.format(path="", sender="postmaster@mx.example.jp",
                             subject="Error Condition Report")
    assert [r.recipient for r in parse(bounce.encode()).records] == ["k.ito@example.jp"]
    person = LABELLED.format(path="k.ito@example.jp", sender="k.ito@example.jp",
                             subject="my new address")
    assert parse(person.encode()).records == ()


@pytest.mark.parametrize("subject", ["mail failed, returning to sender", "Failed mail  (msg.a01)",
                                     "Error Condition Report",
                                     "Mail System Error - Returned Mail"])
def test_an_old_systems_subject_makes_a_bounce(subject: str) -> None:
    # Stored without its envelope (no Return-Path) and from a mailbox of no daemon's name,
    # as list servers keep them: the Subject is what says it is a bounce.
    raw = (f"From: Mail System <mail@relay.example.net>\nTo: <shop@example.org>\n"
           f"Subject: {subject}\n\nIntended recipient: k.ito@example.jp\n")
    assert [r.recipient for r in parse(raw.encode()).records] == ["k.ito@example.jp"]


TERSE = """Return-Path: <{path}>
From: {sender}
To: <shop@example.org>
Subject: Undeliverable mail
Content-Type: text/plain

{first}
"""


@pytest.mark.parametrize("first", ["<t.ono@example.jp>... User unknown",
                                   "t.ono@example.jp: mailbox is full"])
def test_a_terse_notice_opens_with_the_address(first: str) -> None:
    bounce = TERSE.format(path="", sender="MAILER-DAEMON@mx.example.jp", first=first)
    assert [r.recipient for r in parse(bounce.encode()).records] == ["t.ono@example.jp"]
    # The same lines from a person (a Subject alone does not make a notice terse).
    person = TERSE.format(path="k.ito@example.jp", sender="k.ito@example.jp", first=first)
    assert parse(person.encode()).records == ()
    # Nor does an address that only appears in prose.
    prose = TERSE.format(path="", sender="MAILER-DAEMON@mx.example.jp",
                         first="Please write to t.ono@example.jp: she knows.")
    assert parse(prose.encode()).records == ()
