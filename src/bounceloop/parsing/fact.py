"""What a detector finds for one recipient, before classification.

Detectors fill in what their format states (a DSN's Status field, a qmail "(#5.5.0)", the
SMTP command Postfix says it was answering); :mod:`bounceloop.parsing.finish` then derives
what is missing (codes from the text, the reason, hardbounce, severity) the same way for all.
"""

from __future__ import annotations


class Fact:
    """A plain class, not a dataclass: the parser is compiled (bounceloop.native), and mypyc
    compiles an explicit ``__init__`` but leaves a dataclass's to the ``dataclasses`` module,
    Python code run for every record (see mail.Mail)."""

    __slots__ = ("action", "alias", "command", "context", "date", "diagnosis",
                 "diagnostic_type", "envelope_id", "feedback_type", "hint",
                 "original_recipient", "reason", "recipient", "remote_mta",
                 "reply_code", "reporting_mta", "soft", "status", "will_retry_until")

    def __init__(self, *, recipient: str = "",
                 action: str = "",
                 status: str = "",
                 diagnosis: str = "",
                 diagnostic_type: str = "",
                 command: str = "",
                 reply_code: str = "",
                 remote_mta: str = "",
                 reporting_mta: str = "",
                 reason: str = "",
                 feedback_type: str = "",
                 date: str = "",
                 original_recipient: str = "",
                 will_retry_until: str = "",
                 envelope_id: str = "",
                 alias: str = "",
                 soft: bool = False,
                 hint: str = "",
                 context: str = "") -> None:
        self.recipient = recipient
        self.action = action
        self.status = status
        """The enhanced status the format states (DSN Status:, "#5.1.1"), as written."""
        self.diagnosis = diagnosis
        """The remote server's reply or the MTA's explanation, as text."""
        self.diagnostic_type = diagnostic_type
        self.command = command
        """The SMTP command being answered: CONN, HELO, EHLO, STARTTLS, MAIL, RCPT, DATA."""
        self.reply_code = reply_code
        self.remote_mta = remote_mta
        self.reporting_mta = reporting_mta
        self.reason = reason
        """A reason the format states outright (e.g. an ARF report is "feedback")."""
        self.feedback_type = feedback_type
        self.date = date
        self.original_recipient = original_recipient
        self.will_retry_until = will_retry_until
        self.envelope_id = envelope_id
        self.alias = alias
        """The address as the sender wrote it, when the MTA reports an expanded one."""
        self.soft = soft
        """The format says the failure was a temporary one the MTA kept retrying (so a
        ``failed`` record is an expiry) where its fields cannot: Courier's (detectors/courier)."""
        self.hint = hint
        """A reason the reporting MTA's own classification suggests (PowerMTA's bounce
        category): used only when the evidence decides nothing."""
        self.context = context
        """Human-readable text around the failure (a DSN's notification part): read by the
        classifier with the diagnosis, but not the server's reply, so not the description."""

    def but(self, *, status: str | None = None, diagnosis: str | None = None,
            context: str | None = None) -> Fact:
        """A copy with these fields changed (a second reading of the same failure)."""
        other = Fact(recipient=self.recipient, action=self.action, status=self.status,
                    diagnosis=self.diagnosis, diagnostic_type=self.diagnostic_type,
                    command=self.command, reply_code=self.reply_code,
                    remote_mta=self.remote_mta, reporting_mta=self.reporting_mta,
                    reason=self.reason, feedback_type=self.feedback_type, date=self.date,
                    original_recipient=self.original_recipient,
                    will_retry_until=self.will_retry_until, envelope_id=self.envelope_id,
                    alias=self.alias, soft=self.soft, hint=self.hint, context=self.context)
        if status is not None:
            other.status = status
        if diagnosis is not None:
            other.diagnosis = diagnosis
        if context is not None:
            other.context = context
        return other

    def __repr__(self) -> str:
        return (f"Fact(recipient={self.recipient!r}, action={self.action!r}, "
                f"status={self.status!r}, command={self.command!r}, "
                f"diagnosis={self.diagnosis[:60]!r})")
