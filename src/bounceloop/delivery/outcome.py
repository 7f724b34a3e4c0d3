"""What an attempt's result means for its message: delivered, deferred, or failed for good.

    accepted                          -> delivered
    permanent (5.x.x, our 5.x.x)      -> failed: an error row, a failure event
    temporary (4.x.x, timeouts, ...)  -> deferred to the next slot of the retry schedule,
                                         or failed when that slot is past the deadline (the
                                         last result stays, the reason becomes "expired")

A failure's reason comes from the same classifier as bounces (the server's reply, read as a
diagnostic), except for what we decided ourselves (DNS, connect, suppression), whose reason
we know. Severity follows the configured soft/hard convention for the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bounceloop.core.frozen import by_fields
from bounceloop.core.reasons import is_hardbounce
from bounceloop.core.retry import next_attempt
from bounceloop.core.severity import Convention, severity
from bounceloop.delivery.result import StepResult

_COMMAND = {"greeting": "CONN", "connect": "CONN", "ehlo": "EHLO", "helo": "HELO",
            "starttls": "STARTTLS", "mailfrom": "MAIL", "rcptto": "RCPT", "data": "DATA",
            "message": "DATA"}


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    """delivered | deferred | failed"""
    next_attempt_at: datetime | None
    reason: str
    severity: str
    hardbounce: bool
    expired: bool
    rule: str = ""
    """The rule that decided ``reason`` (:func:`decision_of`)."""
    matched: str = ""

    __reduce__ = by_fields  # to the delivery database process (core.frozen)


def reason_of(result: StepResult, recipient: str) -> str:
    """The reason of a failed attempt."""
    return decision_of(result, recipient)[0]


def decision_of(result: StepResult, recipient: str) -> tuple[str, str, str]:
    """(reason, rule, matched) of a failed attempt: the rule that decided the reason, as
    bounceloop.parsing.classify.Decision names it, or ``delivery:<what>`` for what we
    decided ourselves (suppression, DNS, the connection)."""
    if result.result == "suppressed":
        return "suppressed", "delivery:suppressed", ""
    if result.state == "dns":
        if result.result == "private":
            return "blocked", "delivery:dns-private", ""
        if result.extended == "5.1.10":
            return "notaccept", "status:5.1.10", "5.1.10"
        if result.extended == "5.1.2":
            return "hostunknown", "status:5.1.2", "5.1.2"
        return "networkerror", "delivery:dns", ""
    if result.state == "connect" or (result.state == "greeting" and not result.code):
        return "networkerror", "delivery:connect", ""
    if not result.code:
        if result.result in ("timeout", "lost"):
            return "networkerror", f"delivery:{result.result}", ""
        return "systemerror", "delivery:no-reply", ""
    # The classifier comes with the whole bounce parser (bounceloop.parsing's __init__,
    # about 40 ms of imports): a send whose replies all say 250 never loads it, and serve
    # has it loaded already for returned mail.
    from bounceloop.parsing.classify import Classifier
    from bounceloop.parsing.fact import Fact

    fact = Fact(recipient=recipient, action="failed", status=result.extended,
                reply_code=result.code, diagnosis=result.description,
                command=_COMMAND.get(result.state, ""), remote_mta=result.mx)
    decided = Classifier("delivery").decision(fact)
    return decided.reason, decided.rule, decided.matched


def verdict(result: StepResult, recipient: str, attempts_done: int, now: datetime,
            expires_at: datetime, schedule: Sequence[int],
            convention: Convention = Convention.CODE) -> Verdict:
    """The verdict on a message after an attempt (``attempts_done`` counts it)."""
    if result.ok or result.result == "indoubt":
        return Verdict("delivered", None, "delivered", "", False, False)
    reason, rule, matched = decision_of(result, recipient)
    sev = severity(step=result.step, code=result.code, extended=result.extended,
                   reason=reason, action="failed", convention=convention).value
    hard = is_hardbounce(reason, result.code, result.extended)
    if result.permanent:
        return Verdict("failed", None, reason, sev, hard, False, rule, matched)
    when = next_attempt(attempts_done, schedule, now, expires_at)
    if when is None:
        # MailerQ's rule: the last result of an expired message may well be a 4xx.
        return Verdict("failed", None, "expired", sev, False, True, "delivery:expired")
    return Verdict("deferred", when, reason, sev, hard, False, rule, matched)
