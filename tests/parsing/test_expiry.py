"""Expiry and its cause (issue 18 item 7), on bounces real MTAs wrote (tests/data/dsnfarm,
the half labelled "look": the other half is only scored)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bounceloop.parsing import expiry
from bounceloop.parsing.parse import parse

FARM = Path(__file__).resolve().parents[1] / "data" / "dsnfarm"

#: (sample, reason, expired, rule, action): the stated cause of an expiry is its reason.
TABLE: list[tuple[str, str, bool, str, str]] = [
    # Postfix: Action: failed with the last 4.x.x status; the last error was greylisting.
    ("postfix-expire-postgrey.eml", "blocked", True, "phrase:blocked/greylist", "failed"),
    # Exim: "retry timeout exceeded" after the last error, Status: 5.0.0.
    ("exim-expire-postgrey.eml", "blocked", True, "phrase:blocked/greylist", "failed"),
    ("exim-expire-rfc3463-431.eml", "systemfull", True, "status:4.3.1",
     "failed"),
    ("exim-expire-gmail-server-temp.eml", "systemerror", True, "reply:451", "failed"),
    # Sendmail: 4.4.7 and "Message could not be delivered for 3 minutes".
    ("sendmail-expire-postgrey.eml", "blocked", True, "phrase:blocked/greylist", "failed"),
    # No cause stated: a refused connection (Postfix), OpenSMTPD's "Envelope expired" (which
    # OpenSMTPD 6.8 reports as "Action: delayed").
    ("postfix-expire-refused.eml", "expired", True, "expiry:failed-transient", "failed"),
    ("opensmtpd-expire-rfc3463-431.eml", "expired", True, "expiry:envelope-expired",
     "failed"),
    # Courier: "Status: 5.0.0" for every failure, no give-up words; the last error was a 4xx
    # reply or a network error, both of which Courier retries until its queuetime.
    ("courier-expire-postgrey.eml", "blocked", True, "phrase:blocked/greylist", "failed"),
    ("courier-expire-refused.eml", "expired", True, "expiry:failed-soft", "failed"),
    # Not an expiry (Courier's own permanent "No such domain." is not a network error).
    ("courier-dns-nxdomain.eml", "hostunknown", False, "phrase:hostunknown/no-such-domain",
     "failed"),
    ("exim-data-postfix-rbl.eml", "blocked", False, "phrase:blocked/client-host-rejected",
     "failed"),
]


@pytest.mark.parametrize(("name", "reason", "expired", "rule", "action"), TABLE)
def test_expiry_and_its_cause(name: str, reason: str, expired: bool, rule: str,
                              action: str) -> None:
    (record,) = parse((FARM / "eml" / name).read_bytes()).records
    assert (record.reason, record.expired, record.rule, record.action) == (
        reason, expired, rule, action)


def _look() -> list[dict[str, object]]:
    rows = [json.loads(line) for line in (FARM / "labels.jsonl").read_text().splitlines()
            if line.strip()]
    return [row for row in rows if row["half"] == "look"]


def test_expired_agrees_with_the_farm_labels() -> None:
    rows = _look()
    assert sum(1 for row in rows if row["expired"]) >= 10
    wrong = []
    for row in rows:
        records = parse((FARM / "eml" / str(row["file"])).read_bytes()).records
        (record,) = [r for r in records
                     if r.recipient.lower() == str(row["recipient"]).lower()]
        if record.expired != row["expired"]:
            wrong.append((row["file"], row["recipient"]))
    assert not wrong


@pytest.mark.parametrize(("action", "status", "reply", "diagnosis", "context", "rule"), [
    ("failed", "4.2.0", "450", "450 4.2.0 greylisted", "", "expiry:failed-transient"),
    ("failed", "5.1.1", "550", "550 5.1.1 no such user", "", None),
    ("failed", "5.0.0", "", "connection refused", "", None),
    ("failed", "5.0.0", "451", "451 temporary local problem: retry timeout exceeded", "",
     "expiry:retry-timeout-exceeded"),
    # Postfix's delay warning is not a give-up.
    ("delayed", "4.4.1", "", "connection timed out",
     "your message could not be delivered for more than 4 hour(s).", None),
    # Gmail's words for a server that refused its connections close its notice of failure
    # and fill its delay warnings alike: in a warning they are the delay's cause.
    ("failed", "", "", "the recipient server did not accept our requests to connect.", "",
     "expiry:did-not-accept-our-requests-to-connect"),
    ("delayed", "", "", "the recipient server did not accept our requests to connect.", "",
     None),
    # Wording in the notification does not make a refusal of class 5 an expiry.
    ("failed", "5.1.1", "550", "550 5.1.1 unknown",
     "message could not be delivered for 5 days message will be deleted from queue", None),
    ("delivered", "2.0.0", "250", "250 ok", "", None),
    # Haraka bounces what kept failing past its retry intervals with "Too many failures (...)".
    ("failed", "", "", "too many failures (tried all mxs)", "", "expiry:too-many-failures"),
    ("failed", "5.7.1", "535", "535 too many failures, try later", "", None),
])
def test_gave_up(action: str, status: str, reply: str, diagnosis: str, context: str,
                 rule: str | None) -> None:
    found = expiry.gave_up(action, status, reply, diagnosis, context)
    assert (found[0] if found else None) == rule


def test_without_the_give_up_wording() -> None:
    text = "450 4.2.0 greylisted: retry timeout exceeded"
    assert expiry.without(text).strip() == "450 4.2.0 greylisted:"


def test_a_failure_its_format_calls_soft_is_an_expiry() -> None:
    # Fact.soft: the detector read the format's own mark of a retried failure (Courier's).
    assert expiry.gave_up("failed", "5.0.0", "", "connection refused", "", True) == (
        expiry.SOFT_RULE, "connection refused")
    assert expiry.gave_up("delivered", "2.0.0", "", "", "", True) is None


GIVE_UP_WORDS = """From: MAILER-DAEMON@mx.example.org
To: alice@example.org
Subject: Mail delivery failed
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; bob@example.net
Action: {action}
Status: {status}
Diagnostic-Code: X-Unix; {words}
--b--
"""


@pytest.mark.parametrize(("action", "status", "words", "expired"), [
    # DragonFly's and IMail's words of giving up decide the reason; a failure said so is an
    # expiry, in the flag as in the reason.
    ("failed", "5.0.0", "Could not deliver for the last 432000 seconds. Giving up.", True),
    ("failed", "5.0.0", "Delivery failed 20 attempts: bob@example.net", True),
    # A delay has not expired, whatever its words.
    ("delayed", "4.0.0", "Could not deliver for the last 3600 seconds.", False),
])
def test_an_expired_failure_says_it_expired(action: str, status: str, words: str,
                                            expired: bool) -> None:
    raw = GIVE_UP_WORDS.format(action=action, status=status, words=words).encode()
    (record,) = parse(raw).records
    assert (record.reason, record.expired) == ("expired", expired)
