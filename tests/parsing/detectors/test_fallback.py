"""The structural fallback's precision guard (issue 18 item 4): the addresses a bounce names
beside its failed recipient - its own sender, the original's senders, postmaster - are never
reported, and a message that does not look like a bounce yields nothing."""

from __future__ import annotations

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
