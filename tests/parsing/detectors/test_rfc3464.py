"""The generic RFC 3464 reader: a recipient's entry in the notification text stands in for a
Diagnostic-Code the report does not give (RFC 3464 section 2.3.6 makes it optional)."""

from __future__ import annotations

import pytest

from bounceloop.parsing.detectors.rfc3464 import entry_of
from bounceloop.parsing.parse import parse

NOTICE = """Your message could not be delivered to the following recipients:

<a@one.example> (failed to lookup 'one.example': Domain not found: NXDomain)
<b@two.example> (connection to 'mx.two.example' failed:
  Connection refused)

<c@three.example>
"""


@pytest.mark.parametrize(("recipient", "said"), [
    ("a@one.example", "failed to lookup 'one.example': Domain not found: NXDomain"),
    # Its entry runs on over the next line, and stops at the blank line.
    ("b@two.example", "connection to 'mx.two.example' failed: Connection refused"),
    # Named with nothing more, or not named at all: nothing to say.
    ("c@three.example", ""),
    ("d@four.example", ""),
])
def test_entry_of(recipient: str, said: str) -> None:
    assert entry_of(NOTICE, recipient) == said


REPORT = """From: MAILER-DAEMON@mx.example.org
To: alice@example.org
Subject: Failed to deliver message
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

{notice}
--b
Content-Type: message/delivery-status

Reporting-MTA: dns;mx.example.org

Final-Recipient: rfc822;a@one.example
Action: failed
Status: 5.0.0

Final-Recipient: rfc822;b@two.example
Action: failed
Status: {status}
{diagnostic}
--b--
"""


def test_a_recipient_without_diagnostic_code_gets_its_entry() -> None:
    raw = REPORT.format(notice=NOTICE, status="5.0.0", diagnostic="")
    got = {r.recipient: (r.reason, r.description) for r in parse(raw.encode()).records}
    assert got["a@one.example"] == (
        "hostunknown", "failed to lookup 'one.example': Domain not found: NXDomain")
    assert got["b@two.example"][1] == (
        "connection to 'mx.two.example' failed: Connection refused")
    # A Diagnostic-Code, where there is one, is what the record says.
    raw = REPORT.format(notice=NOTICE, status="5.0.0",
                        diagnostic="Diagnostic-Code: smtp; 550 5.1.1 no such user\n")
    got = {r.recipient: r.description for r in parse(raw.encode()).records}
    assert got["b@two.example"] == "550 5.1.1 no such user"


@pytest.mark.parametrize(("status", "words", "expired"), [
    # No reply, a generic status, a connection that failed: no MTA takes that as final, so
    # the failure is a give-up (Stalwart reports its expiries so).
    ("5.0.0", "connection to 'mx.two.example' failed: Timeout while reading greeting", True),
    ("", "connection to 'mx.two.example' failed: Connection refused", True),
    # A status that says more, or words that are no connection failure, are what they say.
    ("5.1.2", "connection to 'mx.two.example' failed: Connection refused", False),
    ("5.0.0", "failed to lookup 'two.example': Domain not found: NXDomain", False),
])
def test_a_failed_connection_without_reply_is_an_expiry(status: str, words: str,
                                                       expired: bool) -> None:
    notice = f"Your message could not be delivered:\n\n<b@two.example> ({words})\n"
    raw = REPORT.format(notice=notice, status=status, diagnostic="")
    got = {r.recipient: r for r in parse(raw.encode()).records}
    assert got["b@two.example"].expired is expired


# Two recipients refused at different commands: each one's entry in the text names its own.
TWO = """From: MAILER-DAEMON@mx.example.org
To: alice@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

<ann@one.example>: host mx.one.example said: 550 Unknown user (in reply to RCPT TO
    command)
<bob@two.example>: host mx.two.example said: 554 Message refused for policy reasons
    (in reply to end of DATA command)

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; ann@one.example
Action: failed
Status: 5.0.0
Diagnostic-Code: smtp; 550 Unknown user

Final-Recipient: rfc822; bob@two.example
Action: failed
Status: 5.7.1
Diagnostic-Code: smtp; 554 Message refused for policy reasons

--b--
"""


def test_each_recipient_takes_the_command_its_own_entry_names() -> None:
    # "Unknown user" in reply to RCPT TO is the address refused; read as after DATA (the
    # other recipient's command), it would be a filter's refusal.
    result = parse(TWO.encode())
    assert result.detector == "rfc3464"
    assert [(r.recipient, r.reason) for r in result.records] == [
        ("ann@one.example", "userunknown"), ("bob@two.example", "policyviolation")]
