"""dma's bounces (detectors/dragonfly.py)."""

from __future__ import annotations

from bounceloop.parsing import parse

# dma's bounce as Postfix's local(8) delivered it to the sender's mailbox: Postfix prepends
# its own X-Original-To (the sender's address) above the one dma wrote (the failed
# recipient's), and the notice here does not name the recipient.
DELIVERED = b"""Return-Path: <>
X-Original-To: postmaster@df.example.jp
Received: from df.example.jp by mail.example.org (Postfix) with ESMTP id 4VzR
Received: from MAILER-DAEMON
\tid e071e
\tby df.example.jp (DragonFly Mail Agent v0.13);
\tWed, 12 Jun 2024 09:39:51 +0900
X-Original-To: <rhea@example.org>
From: MAILER-DAEMON <>
To: postmaster@df.example.jp
Subject: Mail delivery failed

This is the DragonFly Mail Agent v0.13 at df.example.jp.

mx.example.org [192.0.2.25] did not like our RCPT TO:
550 5.1.1 <rhea@example.org>: Recipient address rejected: User unknown

Message headers follow.

To: <rhea@example.org>
From: <postmaster@df.example.jp>
"""


def test_the_failed_recipient_is_dmas_own_x_original_to() -> None:
    result = parse(DELIVERED)
    assert result.detector == "dragonfly"
    assert [(r.recipient, r.reason) for r in result.records] == [
        ("rhea@example.org", "userunknown")]
