"""The error model: one normalised record per recipient per delivery event.

A record comes from one of two places. Synchronous errors (steps 1-4 of the spec: DNS, connect,
greeting/EHLO/TLS, MAIL/RCPT/DATA reply) are written by the sender; asynchronous ones (step 5)
are parsed out of a returned message and carry ``state == "bounce"``.

Kinds of record::

    failure       the message will not be delivered to this recipient (a bounce)
    delay         a temporary failure: the reporting MTA is still retrying
    delivery      a success report (RFC 3464 Action: delivered / relayed / expanded)
    complaint     an RFC 5965 ARF feedback report (reason "feedback")
    autoreply     an RFC 3834 auto-reply or vacation message (reason "vacation"); never a failure
    unrecognized  a returned message we could not read as any of the above (``parse --all``)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Action(enum.StrEnum):
    """RFC 3464 section 2.3.3 action values."""

    FAILED = "failed"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    RELAYED = "relayed"
    EXPANDED = "expanded"


class Kind(enum.StrEnum):
    FAILURE = "failure"
    DELAY = "delay"
    DELIVERY = "delivery"
    COMPLAINT = "complaint"
    AUTOREPLY = "autoreply"
    UNRECOGNIZED = "unrecognized"


class Severity(enum.StrEnum):
    """Soft = temporary (4.x.x), hard = permanent (5.x.x); empty for non-errors."""

    HARD = "hard"
    SOFT = "soft"
    NONE = ""


#: The SMTP state of every asynchronous record (the spec: ``state=bounce``).
BOUNCE_STATE = "bounce"


@dataclass(frozen=True, slots=True)
class Bounce:
    """One delivery-error (or delivery-report) record for one recipient."""

    recipient: str
    """The failed address (Final-Recipient, lowercased domain), or "" when the bounce names none."""
    action: str
    """failed, delayed, delivered, relayed or expanded (RFC 3464 Action)."""
    state: str
    """SMTP state where the error happened; "bounce" for asynchronous records."""
    code: str
    """The 3-digit SMTP reply code, or ""."""
    extended: str
    """The RFC 3463 enhanced status code x.y.z, or ""."""
    description: str
    """The server's own text (Diagnostic-Code or the quoted reply), whitespace-normalised."""
    reason: str
    """The reason name (Sisimai's taxonomy: userunknown, mailboxfull, blocked, ...)."""
    severity: str
    """hard or soft under the chosen convention; "" for non-errors."""
    hardbounce: bool
    """True exactly when the recipient address itself is permanently at fault."""
    kind: str
    """failure, delay, delivery, complaint, autoreply or unrecognized (see module docstring)."""
    remote_mta: str = ""
    """The host that rejected the message (Remote-MTA, or the host named in the text)."""
    reporting_mta: str = ""
    """The host that wrote the report (Reporting-MTA)."""
    original_message_id: str = ""
    """Message-ID of the returned original message, without angle brackets."""
    original_envelope_id: str = ""
    """RFC 3461 ENVID echoed back as Original-Envelope-Id."""
    feedback_type: str = ""
    """ARF Feedback-Type (abuse, fraud, opt-out, ...) for complaints."""
    timestamp: str = ""
    """When the failure happened (Last-Attempt-Date, Arrival-Date or Date), ISO 8601 UTC."""
    command: str = ""
    """The SMTP command the remote server answered (MAIL, RCPT, DATA, ...), when known."""
    original_recipient: str = ""
    """RFC 3464 Original-Recipient (the ORCPT we sent), when present."""
    diagnostic_type: str = ""
    """The Diagnostic-Code type: SMTP, X-Postfix, X-Unix, ..."""
    will_retry_until: str = ""
    """RFC 3464 Will-Retry-Until for delayed records, ISO 8601 UTC."""
    sender: str = ""
    """The envelope sender (or From) of the returned original message."""
    subject: str = ""
    """Subject of the returned original message."""
    detector: str = ""
    """The bounce format family that read this record (postfix, rfc3464, arf, ...)."""
    rule: str = ""
    """The stable id of the rule that decided the reason (``phrase:userunknown/user-unknown``,
    ``status:5.1.1``, ``provider:google/code:...``; bounceloop.parsing.classify.Decision)."""
    matched: str = ""
    """The text that rule matched (the phrase's span of the diagnostic; the code for a status
    or reply rule; "" when no text decided, e.g. ``default:onhold``)."""
    status_field: str = ""
    """The status as the report stated it (a DSN's ``Status:``, RFC 3464 2.3.4), before
    ``extended`` refined a generic one with the remote reply's code; "" when it stated none."""
    expired: bool = False
    """The reporting MTA gave up after retrying (bounceloop.parsing.expiry); ``reason`` is
    then the cause the report states, or ``expired`` when it states none."""
    headers: tuple[tuple[str, str], ...] = ()
    """Correlation headers of the returned message (our ``X-`` headers, References), in order."""

    def as_dict(self) -> dict[str, object]:
        """The record as plain JSON-ready values (``headers`` becomes an object)."""
        out: dict[str, object] = {name: getattr(self, name) for name in FIELDS}
        out["headers"] = dict(self.headers)
        return out


#: The fields every output format prints, in order (``headers`` is printed as JSON).
FIELDS: tuple[str, ...] = tuple(Bounce.__dataclass_fields__)
