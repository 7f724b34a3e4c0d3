"""The bounce reason taxonomy (Sisimai's names, so results compare across tools).

Reasons fall in three groups::

    recipient at fault   userunknown, hostunknown, hasmoved, notaccept (the only hard bounces)
    sender / transport   blocked, rejected, spamdetected, policyviolation, authfailure, ...
    not an error         delivered, feedback, vacation

``hardbounce`` is true exactly when the recipient address itself is permanently at fault:
mailing it again can never work. Sender-side reasons (an IP on a blocklist, a DMARC failure,
a rate limit) are never hard bounces, whatever the reply code says, because suppressing the
address would punish a good recipient for the sender's problem.
"""

from __future__ import annotations

#: reason -> what it means (our words).
REASONS: dict[str, str] = {
    "userunknown": "The local part of the recipient address does not exist",
    "hostunknown": "The domain part of the recipient address does not exist or has no mail server",
    "hasmoved": "The mailbox has moved and mail is not forwarded",
    "notaccept": "The destination accepts no mail at all (null MX, no SMTP service)",
    "mailboxfull": "The recipient's mailbox is full or over quota",
    "mesgtoobig": "The message is larger than the destination accepts",
    "exceedlimit": "The message exceeded a per-recipient limit (size, count)",
    "suspend": "The recipient's account is suspended, disabled or inactive",
    "filtered": "Refused after DATA on header or content, or by a recipient-side filter",
    "rejected": "Refused because of the sender (envelope from) address or domain",
    "blocked": "Refused because of the connecting IP address or host name",
    "spamdetected": "Refused by a spam filter",
    "virusdetected": "Refused by a virus scanner",
    "policyviolation": "Refused by a local policy of the destination",
    "securityerror": "A security violation (authentication, relay security, TLS policy)",
    "contenterror": "A malformed header or content (RFC 3463 X.6.x)",
    "norelaying": "The server refused to relay",
    "syntaxerror": "An SMTP command syntax error",
    "systemerror": "An error on the remote system",
    "systemfull": "The remote system's disk is full",
    "mailererror": "A local mailer program (pipe, procmail) failed",
    "networkerror": "A DNS or network failure, or a routing loop",
    "toomanyconn": "Too many concurrent connections",
    "expired": "Delivery time expired: the MTA gave up retrying",
    "authfailure": "SPF, DKIM or DMARC authentication failed",
    "badreputation": "Refused because of the sending IP's reputation",
    "requireptr": "The client has no (or a mismatching) PTR record",
    "notcompliantrfc": "The message does not comply with the RFCs (e.g. duplicate headers)",
    "speeding": "Rate limited: sending too fast or too much",
    "failedstarttls": "STARTTLS failed or was required",
    "suppressed": "The address is on the sending MTA's suppression list",
    "delivered": "A delivery status notification reporting success",
    "feedback": "An ARF feedback report (complaint)",
    "vacation": "An auto-reply: out of office or vacation",
    "onhold": "There is a diagnostic, but it is not enough to decide",
    "undefined": "Nothing to decide on",
}

#: Reasons that say nothing is wrong with delivery.
NOT_ERRORS: frozenset[str] = frozenset({"delivered", "feedback", "vacation"})

#: Reasons for which the recipient address itself is at fault.
RECIPIENT_AT_FAULT: frozenset[str] = frozenset({"userunknown", "hostunknown", "hasmoved"})

#: Reasons that describe a condition expected to pass (used when there is no code at all).
TRANSIENT: frozenset[str] = frozenset(
    {
        "mailboxfull",
        "exceedlimit",
        "systemfull",
        "systemerror",
        "toomanyconn",
        "speeding",
        "networkerror",
        "expired",
        "suspend",
        "failedstarttls",
        "blocked",
        "badreputation",
        "onhold",
        "undefined",
    }
)


def is_hardbounce(reason: str, code: str = "", extended: str = "") -> bool:
    """True when the recipient address itself is permanently at fault.

    ``notaccept`` (the domain accepts no mail, RFC 7505 null MX) is hard unless the server
    said it was temporary (a 4xx code).
    """
    if reason in RECIPIENT_AT_FAULT:
        return True
    if reason == "notaccept":
        first = (extended or code)[:1]
        return first != "4"
    return False
