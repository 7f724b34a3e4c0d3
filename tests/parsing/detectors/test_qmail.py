"""qmail-send's notices (detectors/qmail.py): the remote's reply is the diagnosis, and
qmail-remote's own framing of it ("Connected to <ip> but sender was rejected.", notqmail
qmail-remote.c) only says which command it answered."""

from __future__ import annotations

import pytest

from bounceloop.parsing.parse import parse

NOTICE = """Return-Path: <>
Date: 7 Dec 2026 10:00:00 -0000
From: MAILER-DAEMON@relay.example.com
To: billing@example.com
Subject: failure notice

Hi. This is the qmail-send program at relay.example.com.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<ines@example.net>:
{framing}
Remote host said: {reply}
Giving up on 203.0.113.80.

--- Below this line is a copy of the message.

From: billing@example.com
To: ines@example.net
Subject: your invoice

Hello.
"""

CASES = [
    # The sender was refused for want of authentication: qmail's words about the sender
    # are its framing, not the remote's judgement.
    ("Connected to 203.0.113.80 but sender was rejected.", "530 5.7.0 Authentication required",
     "mailfrom", "securityerror"),
    ("Connected to 203.0.113.80 but sender was rejected.",
     "553 5.7.1 <billing@example.com>: Sender address rejected: not owned by user",
     "mailfrom", "rejected"),
    ("203.0.113.80 does not like recipient.", "550 5.1.1 <ines@example.net>: User unknown",
     "rcptto", "userunknown"),
]


@pytest.mark.parametrize(("framing", "reply", "command", "reason"), CASES)
def test_the_reply_decides_and_the_framing_names_the_command(
        framing: str, reply: str, command: str, reason: str) -> None:
    result = parse(NOTICE.format(framing=framing, reply=reply).encode())
    assert result.detector == "qmail"
    (record,) = result.records
    assert (record.recipient, record.command, record.reason) == (
        "ines@example.net", command, reason)
    assert record.description == reply
