"""Suppression rules: when a failure makes an address (or its domain) one never to mail again.

Pure decisions over a recipient's history; storage.suppressions gathers the history and
writes what is decided. The sides of a failure, by its reason (core.reasons)::

    recipient, hard  userunknown, hostunknown, hasmoved,   suppress the address at once
                     notaccept (not with a 4xx)
    recipient, soft  mailboxfull, suspend, exceedlimit     suppress after ``threshold`` of them
                                                           on different (UTC) days within
                                                           ``window``, none of them before a
                                                           reset (a clean delivery, an earlier
                                                           suppression or its removal)
    sender side      everything else: blocked, spamdetected, never suppress; counted per
                     policyviolation, authfailure, expired, destination domain instead
                     badreputation, requireptr, rejected, ...
    none             delivered, feedback, vacation, and    nothing (our own suppression must
                     suppressed                            not feed itself)

    complaint (ARF)  suppress the address for the sender of the message complained about
    domain is dead   hostunknown / notaccept that our own DNS lookup found (step 1: NXDOMAIN,
                     RFC 7505 null MX): suppress the whole domain too

The soft rule is Mailman's bounce score with "stale after": one bad day is not enough (a full
mailbox gets emptied), and the count starts again after any sign that the address works.

Domain-level suppression is taken only from our own DNS answer, never from a remote MTA's
"host unknown" in a bounce: a relay's view of DNS can be wrong, and suppressing a domain drops
every address in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bounceloop.core.address import domain_of
from bounceloop.core.reasons import NOT_ERRORS

#: Step 1 of the spec: the DNS lookup (delivery.outcome gives its reasons).
DNS_STEP = 1

HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved", "notaccept"})
SOFT_REASONS = frozenset({"mailboxfull", "suspend", "exceedlimit"})
DOMAIN_REASONS = frozenset({"hostunknown", "notaccept"})
#: Days an automatic suppression lasts, per reason; a reason not listed: for ever.
DEFAULT_EXPIRY: Mapping[str, int] = {"mailboxfull": 30, "exceedlimit": 30, "suspend": 90,
                                     "hostunknown": 90, "notaccept": 90}
COMPLAINT = "complaint"
MANUAL = "manual"


class Side(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    SENDER = "sender"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules' settings (config.Settings.suppression_policy builds it)."""

    enabled: bool = True
    hard: frozenset[str] = HARD_REASONS
    soft: frozenset[str] = SOFT_REASONS
    threshold: int = 3
    window: timedelta = timedelta(days=30)
    expiry: Mapping[str, timedelta] = field(default_factory=lambda: {
        reason: timedelta(days=days) for reason, days in DEFAULT_EXPIRY.items()})
    """Per reason (``complaint`` included); not listed: never expires."""
    domains: bool = True
    """Suppress a dead domain (see module doc)."""
    complaints: bool = True
    complaint_scope: str = "sender"
    """sender: the complainer is suppressed for that sender only; all: for every sender."""

    def side(self, reason: str, code: str = "", extended: str = "") -> Side:
        """Whose problem a final failure with this reason is."""
        if not reason or reason in NOT_ERRORS or reason == "suppressed":
            return Side.NONE
        if reason in self.hard:
            # notaccept with a 4xx: the destination says the refusal may pass (RFC 7505
            # null MX always comes with 5.1.10 / 556).
            temporary = reason == "notaccept" and (extended or code)[:1] == "4"
            return Side.SOFT if temporary else Side.HARD
        if reason in self.soft:
            return Side.SOFT
        return Side.SENDER

    def expires(self, reason: str, now: datetime) -> datetime | None:
        span = self.expiry.get(reason)
        return now + span if span else None


@dataclass(frozen=True, slots=True)
class Failure:
    """A final failure (an error row) of one recipient."""

    time: datetime
    reason: str
    code: str = ""
    extended: str = ""
    step: int = 4
    description: str = ""
    error_id: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """An entry the rules want on the suppression list."""

    type: str
    """address | domain"""
    value: str
    reason: str
    expires_at: datetime | None
    code: str = "550"
    extended: str = "5.7.1"
    description: str = ""
    sender: str = ""
    """Only for mail from this sender ('': any sender)."""
    error_id: int | None = None


def on_failure(policy: Policy, recipient: str, failure: Failure,
               earlier: Sequence[Failure] = (), reset_at: datetime | None = None
               ) -> list[Decision]:
    """What this failure of ``recipient`` suppresses; ``earlier`` are its other final
    failures (any order, any reason: only soft ones inside the window count) and
    ``reset_at`` the last sign that the address works."""
    if not policy.enabled:
        return []
    side = policy.side(failure.reason, failure.code, failure.extended)
    if side is Side.HARD:
        out = [_decide(policy, "address", recipient.lower(), failure)]
        if policy.domains and failure.reason in DOMAIN_REASONS and failure.step == DNS_STEP:
            out.append(_decide(policy, "domain", domain_of(recipient).lower(), failure))
        return out
    if side is Side.SOFT and soft_days(policy, failure, earlier, reset_at) >= policy.threshold:
        return [_decide(policy, "address", recipient.lower(), failure)]
    return []


def soft_days(policy: Policy, failure: Failure, earlier: Sequence[Failure],
              reset_at: datetime | None) -> int:
    """The number of different days with a soft failure that count toward the threshold
    at the time of ``failure`` (itself included)."""
    start = failure.time - policy.window
    if reset_at is not None and reset_at > start:
        start = reset_at
    days = {failure.time.date()}
    for f in earlier:
        if (start < f.time <= failure.time
                and policy.side(f.reason, f.code, f.extended) is Side.SOFT):
            days.add(f.time.date())
    return len(days)


def on_complaint(policy: Policy, recipient: str, sender: str, time: datetime,
                 feedback_type: str = "abuse") -> list[Decision]:
    """An ARF report (RFC 5965) of ``recipient`` about mail from ``sender``."""
    if not (policy.enabled and policy.complaints):
        return []
    scope = sender.lower() if policy.complaint_scope == "sender" else ""
    return [Decision(
        "address", recipient.lower(), COMPLAINT, policy.expires(COMPLAINT, time),
        description=f"the recipient complained ({feedback_type or 'abuse'}) on "
                    f"{time:%Y-%m-%d}", sender=scope)]


def _decide(policy: Policy, kind: str, value: str, f: Failure) -> Decision:
    # Suppressed mail fails with a permanent status of the same subject and detail as
    # the failure behind it (mailbox full 4.2.2 -> 5.2.2), RFC 3463.
    extended = "5" + f.extended[1:] if f.extended[:2] in ("4.", "5.") else "5.7.1"
    said = " ".join(p for p in (f.code, f.extended) if p)
    what = f"{f.reason} on {f.time:%Y-%m-%d}" + (f" ({said})" if said else "")
    return Decision(kind, value, f.reason, policy.expires(f.reason, f.time),
                    code="550", extended=extended,
                    description=f"suppressed after {what}", error_id=f.error_id)
