"""Which SMTP command a server was answering, from the words of a bounce."""

from __future__ import annotations

import pytest

from bounceloop.parsing.command import find_command


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("host x[192.0.2.1] said: 550 5.1.1 unknown (in reply to RCPT TO command)", "RCPT"),
        ("SMTP error from remote mail server after MAIL FROM:<a@b> SIZE=1000:", "MAIL"),
        (">>> RCPT To:<a@b>\n<<< 250 ok\n>>> DATA\n<<< 554 rejected", "DATA"),
        ("(in reply to end of DATA command)", "DATA"),
        ("lost connection with x while performing the EHLO handshake", "EHLO"),
        ("Must issue a STARTTLS command first", "STARTTLS"),
        ("SMTP error from remote mail server after initial connection:", "CONN"),
        ("could not be delivered (in reply to initial connection command)", "CONN"),
        ("the server's greeting was slow; please CONNECT later", ""),
        ("our database is down", ""),
        ("the data was not accepted", ""),
        ("", ""),
    ],
)
def test_find_command(text: str, command: str) -> None:
    assert find_command(text) == command


@pytest.mark.parametrize(
    ("word", "command"),
    [("RCPT TO", "RCPT"), ("rcpt_to", "RCPT"), ("end of DATA", "DATA"), ("final data", "DATA"),
     ("TEXT", "DATA"), ("LHLO", "EHLO"), ("initial  connection", "CONN"), ("MAIL FROM", "MAIL"),
     ("QUIT", ""), ("", "")],
)
def test_canonical(word: str, command: str) -> None:
    from bounceloop.parsing.command import canonical

    assert canonical(word) == command
