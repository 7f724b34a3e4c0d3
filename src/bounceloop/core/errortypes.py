"""Where an error happened: the spec's five steps, the SMTP states, and the error types.

    step 0  composition, storage, suppression      (before any network I/O)
    step 1  DNS: domain name -> MX -> IP            state dns
    step 2  TCP connect to the IP                    state connect
    step 3  greeting, EHLO/HELO, STARTTLS, AUTH      states greeting, ehlo, helo, starttls, auth
    step 4  the server's reply to MAIL/RCPT/DATA     states mailfrom, rcptto, data, message
    step 5  an asynchronous bounce                   state bounce

The error types are Copernica's (``errortype`` in its REST API and logs); the descriptions of
the ones its documentation leaves undescribed are ours, in its style (spec section 4.2).
"""

from __future__ import annotations

ERRORTYPES: dict[str, str] = {
    "nocontent": "Message could not be composed",
    "nohost": "Map domain name to IP address",
    "privateiprange": "Domain resolves to private IP range",
    "unreachable": "Connect to IP address",
    "unexpected": "Communication with receiving mail server",
    "error": "Refused by receiving mail server",
    "mailerror": "Bounce received",
    "mailmessage": "Other returned message",
    "nodata": "No message data",
    "other": "Unclassified errors",
}

STATE_STEP: dict[str, int] = {
    "process": 0,
    "storage": 0,
    "suppression": 0,
    "dns": 1,
    "connect": 2,
    "greeting": 3,
    "ehlo": 3,
    "helo": 3,
    "starttls": 3,
    "auth": 3,
    "mailfrom": 4,
    "rcptto": 4,
    "data": 4,
    "message": 4,
    "bounce": 5,
}

#: Results of an attempt (MailerQ's vocabulary, plus ours for local decisions).
RESULTS = frozenset(
    {
        "accepted",  # the server took the message (state message)
        "error",  # a valid reply refused it
        "timeout",  # no reply in time
        "refused",  # the TCP connection was refused or could not be made
        "lost",  # the connection dropped
        "invalid",  # a reply that is not SMTP
        "tls",  # the TLS handshake failed
        "private",  # DNS led to an address we may not connect to
        "suppressed",  # the address is on the suppression list
        "expired",  # the message outlived its delivery time
        "nodata",  # the message content is missing
        "indoubt",  # the process stopped after the final dot, before reading the reply
    }
)


def step_of(state: str) -> int:
    """The spec's step (0-5) for an SMTP/delivery state."""
    return STATE_STEP.get(state, 0)


def errortype(state: str, result: str, code: str = "") -> str:
    """The Copernica error type of an attempt that failed in ``state`` with ``result``."""
    if result == "private":
        return "privateiprange"
    if result == "nodata" or state == "storage":
        return "nodata"
    step = step_of(state)
    if step == 1:
        return "nohost"
    if step == 2:
        return "unreachable"
    if step == 3:
        # A clear refusal of our client (a 5xx greeting or EHLO) is a refusal; anything else
        # in the dialogue (silence, garbage, a dropped line, TLS trouble) is unexpected.
        return "error" if result == "error" and code[:1] == "5" else "unexpected"
    if step == 4:
        return "error" if result == "error" else "unexpected"
    if step == 5:
        return "mailerror"
    return "other"
