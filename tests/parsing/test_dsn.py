"""RFC 3464 fields as real MTAs write them."""

from __future__ import annotations

import pytest

from bounceloop.parsing import dsn

REPORT = """Reporting-MTA: dns; mx.example.net
Original-Envelope-Id: env-42
Arrival-Date: Mon, 4 Mar 2024 10:00:00 +0000

Final-Recipient: rfc822; a@example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <a@example.org>:
    user unknown
Remote-MTA: dns; mx.example.org [192.0.2.1]
Final-Recipient: RFC822; <b@example.org>
X-Actual-Recipient: rfc822; |IFS=' ' && exec /usr/bin/procmail #b@host
Action: delayed
Status: 4.0.0 (example.org: host name lookup failure)
Will-Retry-Until: Tue, 5 Mar 2024 10:00:00 +0000
"""


def test_facts_per_recipient_and_message_fields() -> None:
    message, facts = dsn.facts(REPORT)
    assert message["original-envelope-id"] == "env-42"
    a, b = facts
    assert (a.recipient, a.action, a.status, a.diagnostic_type) == (
        "a@example.org", "failed", "5.1.1", "SMTP")
    assert a.diagnosis == "550 5.1.1 <a@example.org>: user unknown"
    assert a.remote_mta == "mx.example.org"
    assert (a.reporting_mta, a.envelope_id) == ("mx.example.net", "env-42")
    assert a.date == "Mon, 4 Mar 2024 10:00:00 +0000"  # Arrival-Date as the fallback
    # Two recipients with no blank line between them (Exchange does this).
    assert (b.recipient, b.action, b.status) == ("b@example.org", "delayed", "4.0.0")
    # Sendmail's only explanation is the Status comment.
    assert b.diagnosis == "example.org: host name lookup failure"
    # A program delivery is not an address.
    assert b.alias == ""
    assert b.will_retry_until == "Tue, 5 Mar 2024 10:00:00 +0000"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("failed", "failed"), ("Failure", "failed"), ("error", "failed"), ("expired", "failed"),
     ("delayed", "delayed"), ("deliverable", "delivered"), ("relayed (to x)", "relayed")],
)
def test_actions(value: str, expected: str) -> None:
    assert dsn.normal_action(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5.1.1", "5.1.1"), ("5.0.0 (permanent failure)", "5.0.0"), ("4.07.01", "4.7.1"),
     ("smtp; 550", ""), ("", "")],
)
def test_status(value: str, expected: str) -> None:
    assert dsn.normal_status(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("rfc822; a@example.org", "a@example.org"), ("rfc822;<a@example.org>", "a@example.org"),
     ("<a@example.org>", "a@example.org"), ('rfc822; "a..b"@example.org', '"a..b"@example.org'),
     ("rfc822; Jane Doe <jane@example.org>", "jane@example.org"),
     ('rfc822; "jane doe"@example.org', '"jane doe"@example.org'),
     ("rfc822; jane@example.org (Jane)", "jane@example.org")],
)
def test_address(value: str, expected: str) -> None:
    assert dsn.address(value) == expected


def test_fields_unfold_a_field_of_many_lines() -> None:
    words = [f"word{i}" for i in range(100_000)]
    folded = "Diagnostic-Code: smtp; 550 5.1.1\n" + "".join(f"    {w}\n" for w in words)
    blocks = dsn.fields("Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; a@b.example\n"
                        + folded + "Action: failed\n")
    assert blocks[1][1] == ("diagnostic-code", "smtp; 550 5.1.1 " + " ".join(words))
    assert blocks[1][2] == ("action", "failed")


def test_an_unfolded_reply_after_a_diagnostic_code_is_its_continuation() -> None:
    # nullmailer 2.2 copies a multiline reply as it came, without the folding space.
    blocks = dsn.fields("Reporting-MTA: x-local-hostname; farm.test\n\n"
                        "Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.7.1\n"
                        "Diagnostic-Code: SMTP; 550-5.7.1 [192.0.2.25] Our system has detected\n"
                        "550-5.7.1 unsolicited mail originating from your IP address.\n"
                        "550 5.7.1 mail sent from your IP address has been blocked. - gsmtp\n")
    assert blocks[1][3] == ("diagnostic-code", "SMTP; 550-5.7.1 [192.0.2.25] Our system has "
                            "detected 550-5.7.1 unsolicited mail originating from your IP "
                            "address. 550 5.7.1 mail sent from your IP address has been "
                            "blocked. - gsmtp")


def _report(status: str, diagnostic: str, command: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mta.example.net\r\nTo: sender@example.net\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nDelivery to jane@example.org failed"
        + (f" (in reply to {command} command)" if command else "") + ".\r\n\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mta.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; jane@example.org\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n\r\n--b--\r\n").encode()


@pytest.mark.parametrize(("diagnostic", "command", "reason"), [
    ("550 <jane@example.org>: Recipient address rejected.", "RCPT TO", "userunknown"),
    # No command named: the words alone say a recipient-side filter refused it.
    ("550 Message refused", "", "filtered"),
])
def test_a_status_comment_does_not_hide_how_the_reply_ends(diagnostic: str, command: str,
                                                           reason: str) -> None:
    """The Status comment is read after the reply (see dsn.facts): phrases that a reply
    ends with still read it there ("Status: 5.0.0 (Remote SMTP server has rejected
    address)", Oracle Communications Messaging Server)."""
    from bounceloop.parsing import parse

    for status in ("5.0.0", "5.0.0 (delivery failed)"):
        records = parse(_report(status, diagnostic, command)).records
        assert [(r.recipient, r.reason) for r in records] == [("jane@example.org", reason)]
