"""What a detector finds for one recipient, before classification.

Detectors fill in what their format states (a DSN's Status field, a qmail "(#5.5.0)", the
SMTP command Postfix says it was answering); :mod:`bounceloop.parsing.finish` then derives
what is missing (codes from the text, the reason, hardbounce, severity) the same way for all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Fact:
    recipient: str = ""
    action: str = ""
    status: str = ""
    """The enhanced status the format states (DSN Status:, "#5.1.1"), as written."""
    diagnosis: str = ""
    """The remote server's reply or the MTA's explanation, as text."""
    diagnostic_type: str = ""
    command: str = ""
    """The SMTP command being answered: CONN, HELO, EHLO, STARTTLS, MAIL, RCPT, DATA."""
    reply_code: str = ""
    remote_mta: str = ""
    reporting_mta: str = ""
    reason: str = ""
    """A reason the format states outright (e.g. an ARF report is "feedback")."""
    feedback_type: str = ""
    date: str = ""
    original_recipient: str = ""
    will_retry_until: str = ""
    envelope_id: str = ""
    alias: str = ""
    """The address as the sender wrote it, when the MTA reports an expanded one."""
    soft: bool = False
    """The format says the failure was a temporary one the MTA kept retrying (so a
    ``failed`` record is an expiry) where its fields cannot: Courier's (detectors/courier)."""
    hint: str = ""
    """A reason the reporting MTA's own classification suggests (PowerMTA's bounce
    category): used only when the evidence decides nothing."""
    context: str = ""
    """Human-readable text around the failure (a DSN's notification part): read by the
    classifier with the diagnosis, but not the server's reply, so not the description."""
