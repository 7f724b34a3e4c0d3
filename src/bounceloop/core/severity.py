"""Soft or hard: the three conventions of the spec, as a pure function.

The Copernica article "Error types and codes" says the soft/hard line is a convention and
names three (``../shared/seeds/000_*``):

    code       ignore the step; the code class decides: 4.x.x soft, 5.x.x hard   (default)
    steps-1-3  an error in steps 1-3 (DNS, connect, greeting) is hard, anything later soft
    steps-1-4  an error in steps 1-4 (... up to the MAIL/RCPT/DATA reply) is hard, bounces soft

Under ``code``: the enhanced status wins over a reply code of the other class (a "550 4.2.2"
reply is soft: RFC 3463 section 2 lets the enhanced code refine the basic one, and servers
that send such pairs mean the enhanced one). With no code at all, an action of "delayed" is
soft, and otherwise the reason decides (mailboxfull soft, userunknown hard, ...).

Steps: 0 composition, 1 DNS, 2 connect, 3 greeting/EHLO/TLS, 4 MAIL/RCPT/DATA, 5 async bounce.
"""

from __future__ import annotations

import enum

from bounceloop.core.model import Severity
from bounceloop.core.reasons import NOT_ERRORS, TRANSIENT

STEP_COMPOSE = 0
STEP_DNS = 1
STEP_CONNECT = 2
STEP_GREETING = 3
STEP_REPLY = 4
STEP_BOUNCE = 5


class Convention(enum.StrEnum):
    CODE = "code"
    STEPS_1_3 = "steps-1-3"
    STEPS_1_4 = "steps-1-4"


def severity(
    *,
    step: int,
    code: str = "",
    extended: str = "",
    reason: str = "",
    action: str = "failed",
    convention: Convention = Convention.CODE,
) -> Severity:
    """Classify one error as hard or soft; ``Severity.NONE`` for records that are no error."""
    if reason in NOT_ERRORS or action in ("delivered", "relayed", "expanded"):
        return Severity.NONE
    if convention is Convention.STEPS_1_3 and step >= STEP_DNS:
        return Severity.HARD if step <= STEP_GREETING else Severity.SOFT
    if convention is Convention.STEPS_1_4 and step >= STEP_DNS:
        return Severity.HARD if step <= STEP_REPLY else Severity.SOFT
    return by_code(code=code, extended=extended, reason=reason, action=action)


def by_code(*, code: str, extended: str, reason: str, action: str) -> Severity:
    """The ``code`` convention: enhanced class, else reply class, else action and reason."""
    for value in (extended, code):
        if value[:1] == "5":
            return Severity.HARD
        if value[:1] == "4":
            return Severity.SOFT
        if value[:1] == "2":
            return Severity.NONE
    if action == "delayed":
        return Severity.SOFT
    return Severity.SOFT if reason in TRANSIENT else Severity.HARD
