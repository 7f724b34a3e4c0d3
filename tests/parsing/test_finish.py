"""What every record gets after its detector: codes, clean text, address, time."""

from __future__ import annotations

from pathlib import Path

import pytest

from bounceloop.parsing import parse
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.finish import (
    clean_address,
    clean_diagnosis,
    prefer,
    settle_codes,
    timestamp,
)


@pytest.mark.parametrize(
    ("stated", "found", "expected"),
    [
        ("5.0.0", "5.1.1", "5.1.1"),  # a generic X.0.0 (Exim, OpenSMTPD) is refined
        ("5.1.0", "5.1.1", "5.1.1"),  # so is an X.Y.0 by a code of its subject
        ("5.1.0", "5.7.1", "5.1.0"),  # ... but not by one of another subject
        ("5.1.1", "5.1.1", "5.1.1"),
        ("", "5.7.1", "5.7.1"),
        ("5.2.2", "", "5.2.2"),
        ("4.4.7", "4.2.1", "4.4.7"),  # Sendmail's expiry verdict stands
        ("5.1.3", "5.7.1", "5.1.3"),  # a specific stated status stands
        ("5.2.1", "5.2.2", "5.2.1"),
        ("5.0.0", "4.2.2", "5.0.0"),  # the field's class is the MTA's decision
        ("4.7.1", "5.7.1", "4.7.1"),  # a 554 the MTA chose to treat as temporary
        ("4.5.0", "5.5.0", "4.5.0"),
    ],
)
def test_prefer_follows_the_status_field_rfc3464(stated: str, found: str,
                                                 expected: str) -> None:
    """RFC 3464 2.3.4: Status is the reporting MTA's verdict; its class stands, and only a
    generic field is refined by the remote reply's code (issue 18)."""
    assert prefer(stated, found) == expected


def test_settle_codes_keeps_the_reply_of_the_status_class() -> None:
    fact = Fact(diagnosis="550 4.2.2 mailbox full, try later", status="")
    # "550" and "4.2.2" disagree; the enhanced code is the precise one (RFC 3463), and a 5xx
    # next to a 4.x.x status is dropped rather than kept contradicting it.
    assert settle_codes(fact) == ("4.2.2", "", "4.2.2")
    fact = Fact(diagnosis="host said: 452 4.2.2 over quota", status="4.2.2")
    assert settle_codes(fact) == ("4.2.2", "452", "4.2.2")


def test_a_generic_field_is_refined_by_the_reply_the_notification_quotes() -> None:
    # No Diagnostic-Code; the one recipient's notification quotes the remote's reply.
    fact = Fact(diagnosis="", status="5.0.0",
                context="The following address failed:\n jane@example.org\n"
                        " 550 5.1.1 User unknown")
    assert settle_codes(fact) == ("5.1.1", "550", "5.1.1")
    # A specific field stands.
    fact = Fact(diagnosis="", status="5.2.2", context="550 5.1.1 User unknown")
    assert settle_codes(fact)[0] == "5.2.2"


def test_settle_codes_gives_the_cause_apart_from_the_verdict() -> None:
    # Sendmail's report of an expiry: Status 4.4.7 (its verdict, kept), and the last
    # attempt's own code, the cause the reason is decided on.
    fact = Fact(diagnosis="451 4.3.0 Mail server temporarily rejected message.",
                status="4.4.7")
    assert settle_codes(fact) == ("4.4.7", "451", "4.3.0")


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("smtp;  550 5.1.1  user\n unknown", "550 5.1.1 user unknown"),
        ("550-5.7.26 Unauthenticated email 550-5.7.26 is not accepted 550 5.7.26 see help",
         "550 5.7.26 Unauthenticated email is not accepted see help"),
        ("X-Postfix; host not found", "host not found"),
        # Go's net/textproto drops each continuation line's reply code, not its enhanced
        # code (chasquid's Diagnostic-Code).
        ("smtp; DATA closing 552 5.7.0 its content presents a potential\n    5.7.0 security "
         "issue. - gsmtp",
         "DATA closing 552 5.7.0 its content presents a potential security issue. - gsmtp"),
    ],
)
def test_clean_diagnosis(text: str, clean: str) -> None:
    assert clean_diagnosis(text) == clean


@pytest.mark.parametrize(
    ("addr", "clean"),
    [("<Jane@Example.ORG>", "Jane@example.org"), ("rfc822;<a@b.example>", "a@b.example"),
     ('"a..b"@Example.org', '"a..b"@example.org'), ("a@b.example.", "a@b.example")],
)
def test_clean_address(addr: str, clean: str) -> None:
    assert clean_address(addr) == clean


@pytest.mark.parametrize(
    ("value", "iso"),
    [("Mon, 4 Mar 2024 10:00:00 +0900", "2024-03-04T01:00:00Z"),
     ("4 Mar 2024 10:00:00 -0000", "2024-03-04T10:00:00Z"),
     ("Thu, 29 Apr 2010 23:34:45 +0900 (JST)", "2010-04-29T14:34:45Z"),
     ("not a date", ""), ("", "")],
)
def test_timestamp(value: str, iso: str) -> None:
    assert timestamp(value) == iso


def _alternative_report(plain: str, html: str) -> bytes:
    """A report whose notification is multipart/alternative, and whose delivery status
    gives no diagnostic: the notification is all there is to read."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mta.example.net>\r\n"
        "To: sender@example.net\r\nSubject: Undeliverable: hello\r\n"
        "Date: Sun, 06 Dec 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
        "--b\r\nContent-Type: multipart/alternative; boundary=\"c\"\r\n\r\n"
        f"--c\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{plain}\r\n"
        f"--c\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--c--\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mta.example.net\r\n\r\n"
        "Final-Recipient: rfc822; someone@example.com\r\nAction: failed\r\nStatus: 5.0.0\r\n"
        "\r\n--b--\r\n"
    ).encode()


def test_reason_stated_only_in_the_html_alternative() -> None:
    """Issue 18: a notification whose text/plain is a stub and whose HTML alternative gives
    the reason (Exchange's NDRs) is classified on the HTML."""
    from bounceloop.parsing.parse import parse

    stub = "Your message could not be delivered to someone@example.com."
    html = ("<html><body><p>Delivery has failed to these recipients or groups:</p><p>"
            "<b>someone@example.com</b><br>The recipient&#39;s mailbox is full and can&#39;t "
            "accept messages now.</p></body></html>")
    record = parse(_alternative_report(stub, html)).records[0]
    assert (record.reason, record.rule) == ("mailboxfull", "phrase:mailboxfull/mailbox-full")
    # The plain part, when it says something, decides; the HTML is not read over it.
    said = stub + "\r\n\r\nThe user's mailbox does not exist."
    record = parse(_alternative_report(said, html)).records[0]
    assert record.rule == "phrase:userunknown/user-does-not-exist"


_FARM = Path(__file__).resolve().parents[1] / "data" / "dsnfarm" / "eml"


@pytest.mark.parametrize(
    ("sample", "extended", "code", "reason"),
    [
        # Sendmail gave up (Status 4.4.7, the verdict, kept) after a 451 4.3.0: the reason is
        # that reply's, not the expiry's.
        ("sendmail-expire-gmail-server-temp.eml", "4.4.7", "451", "systemerror"),
        # Sendmail wrote 5.1.1 for a bare 550 (its smtptodsn()); Exim's words, "Administrative
        # prohibition" (its ACL deny without a message), are the cause.
        ("sendmail-rcpt-exim-prohibition.eml", "5.1.1", "550", "policyviolation"),
        # Exim's generic 5.0.0, refined by the remote reply's own 5.1.1.
        ("exim-rcpt-rfc3463-511.eml", "5.1.1", "550", "userunknown"),
    ],
)
def test_the_verdict_is_kept_and_the_cause_decides(sample: str, extended: str, code: str,
                                                   reason: str) -> None:
    """Real MTAs' reports from the DSN farm's look half (bench/dsnfarm)."""
    [record] = parse((_FARM / sample).read_bytes()).records
    assert (record.extended, record.code, record.reason) == (extended, code, reason)


def test_the_sender_of_the_returned_message_keeps_an_apostrophe() -> None:
    raw = (b"From: MAILER-DAEMON@mx.example.net\r\nTo: o'neill@example.org\r\n"
           b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
           b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
           b"Final-Recipient: rfc822; jane@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
           b"--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
           b"Return-Path: <o'neill@example.org>\r\nFrom: Sean O'Neill <o'neill@example.org>\r\n"
           b"To: jane@example.net\r\nSubject: hi\r\n\r\n--b--\r\n")
    (record,) = parse(raw).records
    assert record.sender == "o'neill@example.org"
