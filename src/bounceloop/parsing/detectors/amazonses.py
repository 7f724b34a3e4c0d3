"""Amazon SES (Simple Email Service) bounces, and its JSON notifications sent by mail.

1. Bounces from ``MAILER-DAEMON@<region>.amazonses.com`` (``email-bounces.amazonses.com``
   before 2012): an RFC 3464 report whose ``Reporting-MTA`` is ``a27-30.smtp-out...``::

       An error occurred while trying to deliver the mail to the following recipients:
       jane@example.org

       Final-Recipient: rfc822; jane@example.org
       Action: failed
       Status: 5.1.1
       Diagnostic-Code: smtp; 550 5.1.1 user unknown

   SES puts its own summary in front of the remote reply, or nests the reply in it:
   "5.1.0 - Unknown address error 550-'5.7.1 ... Access denied' (delivery attempts: 0)",
   "554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed
   out>". The remote reply is put first (see ``_providers.ses_remote_reply``).

2. Notifications (``notificationType``, or ``eventType`` for configuration-set events)
   subscribed to by e-mail through Amazon SNS, ``From: no-reply@sns.amazonaws.com``,
   Subject "AWS Notification Message"; the body is the JSON, or with the "email-json"
   protocol an SNS envelope whose ``Message`` holds it::

       {"notificationType":"Bounce","bounce":{"bounceType":"Permanent",
        "bounceSubType":"General","bouncedRecipients":[{"emailAddress":"jane@example.org",
        "action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],
        "timestamp":"2024-05-01T10:00:00.000Z","reportingMTA":"dsn; a27-23.smtp-out..."},
        "mail":{"headers":[{"name":"Subject","value":"Hello"}], ...}}

   "Complaint" gives feedback records, "Delivery" success records, "DeliveryDelay" delays.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from bounceloop.core import rx
from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import ADDRESS, attach_original
from bounceloop.parsing.detectors._providers import (
    daemon_from,
    report_facts,
    ses_remote_reply,
    tidy_hosts,
)
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "amazonses"

_SNS_SENDER = "no-reply@sns.amazonaws.com"
_LIST_START = rx.compile(r"error occurred while trying to deliver the mail to the following "
                         r"recipients:\s*$", re.I | re.M)
_OLD_FORMAT = rx.compile(r"the following message to <([^<>\s]+)> was undeliverable\.\s*"
                         r"the reason for the problem:\s*(.+?)(?:\n\s*\n|$)", re.I | re.S)
# bounceSubType values that are SES's own decision, not a remote reply: the address is on
# SES's global or the account's suppression list.
_SUPPRESSED = frozenset({"suppressed", "onaccountsuppressionlist"})
# bounceSubType values that name the cause unambiguously; used only when SES passes on no
# diagnosticCode to classify.
_SUBTYPE_REASON = {"noemail": "userunknown", "mailboxfull": "mailboxfull",
                   "messagetoolarge": "mesgtoobig"}


def match(mail: Mail) -> bool:
    if mail.header("X-Mailer").lower().startswith("amazon workmail"):
        return False  # sent through SES too, but in WorkMail's format: amazonworkmail
    if daemon_from(mail, "amazonses.com"):
        return True
    if mail.from_address == _SNS_SENDER:
        head = mail.body[:2000]
        return "notificationType" in head or "eventType" in head
    return False


def inquire(mail: Mail) -> list[Fact]:
    if mail.body.lstrip()[:1] == "{":
        notification = _notification(mail.body)
        if notification is not None:
            return _from_json(mail, notification)
    facts = report_facts(mail) or _from_text(mail.body)
    for fact in facts:
        diagnosis, summary, expired = ses_remote_reply(fact.diagnosis)
        fact.context = " ".join(x for x in (fact.context, summary) if x)
        if expired:
            # The Status is SES's "4.4.7 expired"; the nested reply's code says why.
            fact.status = ""
        fact.diagnosis = diagnosis
        fact.date = fact.date or mail.header("Date")
    tidy_hosts(facts)
    return facts


def _from_text(body: str) -> list[Fact]:
    """Recipients from the notice when the report part is missing."""
    old = _OLD_FORMAT.search(body)
    if old:
        return [Fact(recipient=old.group(1), action="failed",
                     diagnosis=" ".join(old.group(2).split()))]
    m = _LIST_START.search(body)
    if m is None:
        return []
    facts = []
    for line in body[m.end():].lstrip("\n").split("\n"):
        addr = ADDRESS.fullmatch(line.strip())
        if addr is None:
            break
        facts.append(Fact(recipient=addr.group(0), action="failed"))
    return facts


# ---- JSON notifications -------------------------------------------------------------------

def _notification(body: str) -> dict[str, object] | None:
    text = body.lstrip()
    # Sendmail splits lines longer than the mailer's limit with "!" + newline + space; JSON
    # has no raw newlines of its own, so removing the breaks restores it.
    for candidate in (text, text.replace("!\n ", "").replace("\n", "")):
        try:
            obj, _ = json.JSONDecoder().raw_decode(candidate)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            return None
        inner = obj.get("Message")
        if obj.get("Type") == "Notification" and isinstance(inner, str):
            try:
                obj = json.loads(inner)
            except ValueError:
                return None
        return obj if isinstance(obj, dict) else None
    return None


def _obj(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _str(data: dict[str, object], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _items(data: dict[str, object], key: str) -> list[object]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def _date(value: str) -> str:
    """ISO 8601 ("2016-10-21T00:06:40.502Z") -> RFC 5322, the form Fact.date holds."""
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # email.utils.format_datetime's own steps for an aware datetime (its module imports
    # socket, random and urllib.parse: 7 ms of a run's start for one SES message):
    # tests/parsing/detectors/test_amazonses.py compares the two.
    return (f"{_DAYS[dt.weekday()]}, {dt.day:02d} {_MONTHS[dt.month - 1]} {dt.year:04d} "
            f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d} {dt.strftime('%z')}")


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _from_json(mail: Mail, data: dict[str, object]) -> list[Fact]:
    kind = (_str(data, "notificationType") or _str(data, "eventType")).lower()
    _attach_headers(mail, _obj(data.get("mail")))
    if kind == "bounce":
        return _bounces(_obj(data.get("bounce")))
    if kind == "complaint":
        return _complaints(_obj(data.get("complaint")))
    if kind == "delivery":
        return _deliveries(_obj(data.get("delivery")))
    if kind == "deliverydelay":
        return _delays(_obj(data.get("deliveryDelay")))
    return []


def _attach_headers(mail: Mail, sent: dict[str, object]) -> None:
    """The sent message's headers, as SES lists them, become the returned message."""
    lines = []
    for item in _items(sent, "headers"):
        header = _obj(item)
        name, value = _str(header, "name"), _str(header, "value")
        if name:
            lines.append(f"{name}: {value}")
    if lines:
        attach_original(mail, "\n".join(lines) + "\n\n")


def _bounces(bounce: dict[str, object]) -> list[Fact]:
    btype, subtype = _str(bounce, "bounceType"), _str(bounce, "bounceSubType")
    reporting = dsn.host(_str(bounce, "reportingMTA"))
    remote = _str(bounce, "remoteMtaIp")
    date = _date(_str(bounce, "timestamp"))
    facts = []
    for item in _items(bounce, "bouncedRecipients"):
        rcpt = _obj(item)
        code = _str(rcpt, "diagnosticCode")
        diagnosis, summary, expired = (ses_remote_reply(dsn.typed_value(code)[1]) if code
                                       else ("", "", False))
        reason = ""
        if subtype.lower() in _SUPPRESSED:
            reason = "suppressed"
        elif not diagnosis:
            reason = _SUBTYPE_REASON.get(subtype.lower(), "")
        facts.append(Fact(
            recipient=_str(rcpt, "emailAddress"),
            action=dsn.normal_action(_str(rcpt, "action")) or "failed",
            status="" if expired else dsn.normal_status(_str(rcpt, "status")),
            diagnosis=diagnosis or f"{btype} bounce: {subtype}".strip(": "),
            diagnostic_type="SMTP" if code.lower().startswith("smtp") else "",
            remote_mta=remote, reporting_mta=reporting, date=date, reason=reason,
            context=summary,
        ))
    return [f for f in facts if f.recipient]


def _complaints(complaint: dict[str, object]) -> list[Fact]:
    ftype = _str(complaint, "complaintFeedbackType") or "abuse"
    agent = _str(complaint, "userAgent")
    date = _date(_str(complaint, "arrivalDate") or _str(complaint, "timestamp"))
    facts = []
    for item in _items(complaint, "complainedRecipients"):
        addr = _str(_obj(item), "emailAddress")
        if addr:
            diagnosis = f"Complaint ({ftype})" + (f" via {agent}" if agent else "")
            facts.append(Fact(recipient=addr, reason="feedback", feedback_type=ftype, date=date,
                              diagnosis=diagnosis))
    return facts


def _deliveries(delivery: dict[str, object]) -> list[Fact]:
    response = _str(delivery, "smtpResponse")
    return [
        Fact(recipient=rcpt, action="delivered", diagnosis=response,
             remote_mta=_str(delivery, "remoteMtaIp"),
             reporting_mta=dsn.host(_str(delivery, "reportingMTA")),
             date=_date(_str(delivery, "timestamp")))
        for rcpt in _items(delivery, "recipients") if isinstance(rcpt, str) and rcpt
    ]


def _delays(delay: dict[str, object]) -> list[Fact]:
    facts = []
    for item in _items(delay, "delayedRecipients"):
        rcpt = _obj(item)
        code = _str(rcpt, "diagnosticCode")
        facts.append(Fact(
            recipient=_str(rcpt, "emailAddress"), action="delayed",
            status=dsn.normal_status(_str(rcpt, "status")),
            diagnosis=dsn.typed_value(code)[1] if code else _str(delay, "delayType"),
            reporting_mta=dsn.host(_str(delay, "reportingMTA")),
            will_retry_until=_date(_str(delay, "expirationTime")),
            date=_date(_str(delay, "timestamp")),
        ))
    return [f for f in facts if f.recipient]
