"""RFC 5965 Abuse Reporting Format (ARF) feedback reports: complaints, opt-outs, auth failures.

A complaint is not a delivery failure: every record here has reason ``feedback`` and the
report's ``Feedback-Type`` (abuse, fraud, virus, other, not-spam, opt-out, auth-failure;
RFC 5965 section 7.3 and RFC 6591). Also read:

- Microsoft's JMRP/SNDS complaints (From staff@hotmail.com, the complained-of message attached
  with an ``X-HmXmrOriginalRecipient`` header and no feedback-report part);
- Apple Mail's one-click unsubscribe (``X-Apple-Unsubscribe: true``), an opt-out sent by
  the recipient's own client (RFC 8058 style, but as mail).
"""

from __future__ import annotations

from bounceloop.parsing import dsn
from bounceloop.parsing.detectors._common import first_address, recipient_from_original
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail

NAME = "arf"


def match(mail: Mail) -> bool:
    if mail.report:
        return True
    ctype = (mail.headers_all("Content-Type") or [""])[0].lower()
    if "feedback-report" in ctype:
        return True
    if mail.header("X-Apple-Unsubscribe").strip().lower() == "true":
        return True
    hotmail = mail.from_address.endswith(("@hotmail.com", "@msn.com"))
    return hotmail and "complaint about message" in mail.subject.lower()


def inquire(mail: Mail) -> list[Fact]:
    if mail.header("X-Apple-Unsubscribe").strip().lower() == "true" and not mail.report:
        return [Fact(recipient=mail.from_address, reason="feedback", feedback_type="opt-out",
                     diagnosis=mail.body.strip()[:500], date=mail.header("Date"))]
    fields: dict[str, list[str]] = {}
    for block in dsn.fields(mail.report):
        for name, value in block:
            fields.setdefault(name, []).append(value)
    ftype = (fields.get("feedback-type") or [""])[0].strip().lower()
    recipients = [first_address(v) or v.strip() for v in fields.get("original-rcpt-to", [])]
    recipients += [first_address(v) or v.strip() for v in fields.get("removal-recipient", [])]
    recipients = [r for r in recipients if r]
    if not recipients:
        hm = mail.original_header("X-HmXmrOriginalRecipient")
        rcpt = first_address(hm) if hm else recipient_from_original(mail)
        recipients = [rcpt]
    date = (fields.get("arrival-date") or fields.get("received-date") or [""])[0]
    source_ip = (fields.get("source-ip") or [""])[0].strip()
    reporter = (fields.get("reporting-mta") or [""])[0]
    diagnosis = mail.body.strip().split("\n\n", 1)[0][:500] if mail.body else ""
    out = []
    seen: set[str] = set()
    for rcpt in recipients:
        key = rcpt.lower()
        if key in seen:
            continue
        seen.add(key)
        out.append(
            Fact(
                recipient=rcpt,
                reason="feedback",
                feedback_type=ftype,
                date=date or mail.header("Date"),
                remote_mta=source_ip,
                reporting_mta=dsn.host(reporter) if reporter else "",
                diagnosis=diagnosis,
            )
        )
    return out
