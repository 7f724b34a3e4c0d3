"""Selections on the error history: the spec's "An error must have been registered" and
"No error must have been registered" (section 1.6), over a list the user brings.

For each address of the list, the matching errors are counted: current error rows of that
recipient (in any letter case) that pass every filter given::

    since / until     the error's time, since <= t < until
    mailing           one mailing
    errortypes        any of these error types (nohost, unreachable, ..., mailerror)
    codes             any of these: a reply code (550) or an enhanced status (5.1.1)
    severity          temporary (soft) or final (hard), as classified
    count             an operator and a number: = < > <= >= (default > 0)

``errors`` keeps the addresses whose count satisfies ``count``; ``no-errors`` keeps the
others (with the default count: those with no matching error at all). ``not_suppressed``
also drops addresses on the suppression list (for ``sender``, if given).

The list streams through in chunks (:func:`run`): memory does not grow with its length, and
each chunk is one indexed query (errors by lower-cased recipient).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from bounceloop.core.addresslist import Bad, Row
from bounceloop.storage import suppressions
from bounceloop.storage.tables import errors

ERRORS = "errors"
NO_ERRORS = "no-errors"
MODES = (ERRORS, NO_ERRORS)
SEVERITY = {"temporary": "soft", "final": "hard"}
CHUNK = 2000

_OPS: dict[str, Callable[[int, int], bool]] = {
    "=": operator.eq, "==": operator.eq, "<": operator.lt, ">": operator.gt,
    "<=": operator.le, ">=": operator.ge, "!=": operator.ne}
_COUNT = re.compile(r"^\s*(==|=|<=|>=|!=|<|>)?\s*(\d{1,9})\s*$")
_CODE = re.compile(r"^[245]\d\d$")
_EXTENDED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


class CriteriaError(ValueError):
    """A filter that cannot be read; the message says which and why."""


def parse_count(text: str) -> tuple[str, int]:
    """">2", "= 0", "<=3", "2" (meaning =2) -> (operator, number)."""
    m = _COUNT.match(text)
    if not m:
        raise CriteriaError(f"count is an operator (=, <, >, <=, >=) and a number, "
                            f"like '>2': {text!r}")
    return (m.group(1) or "=").replace("==", "="), int(m.group(2))


def check_code(code: str) -> str:
    code = code.strip()
    if not (_CODE.match(code) or _EXTENDED.match(code)):
        raise CriteriaError(f"a code is a reply code (550) or an enhanced status (5.1.1): "
                            f"{code!r}")
    return code


@dataclass(frozen=True, slots=True)
class Criteria:
    mode: str = NO_ERRORS
    since: datetime | None = None
    until: datetime | None = None
    mailing: int | None = None
    errortypes: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    severity: str = ""
    """'' | temporary | final"""
    count: tuple[str, int] = (">", 0)
    not_suppressed: bool = False
    sender: str = ""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise CriteriaError(f"mode is errors or no-errors, not {self.mode!r}")
        if self.severity and self.severity not in SEVERITY:
            raise CriteriaError(f"severity is temporary or final, not {self.severity!r}")
        if self.count[0] not in _OPS:
            raise CriteriaError(f"unknown count operator {self.count[0]!r}")
        for code in self.codes:
            check_code(code)
        if self.since and self.until and self.since >= self.until:
            raise CriteriaError("since must be before until")

    def keeps(self, n: int) -> bool:
        """Whether an address with ``n`` matching errors is selected."""
        hit = _OPS[self.count[0]](n, self.count[1])
        return hit if self.mode == ERRORS else not hit


def _filters(c: Criteria) -> list[Any]:
    cond: list[Any] = [errors.c.current.is_(True)]
    if c.since is not None:
        cond.append(errors.c.timestamp >= c.since)
    if c.until is not None:
        cond.append(errors.c.timestamp < c.until)
    if c.mailing is not None:
        cond.append(errors.c.mailing_id == c.mailing)
    if c.errortypes:
        cond.append(errors.c.errortype.in_(c.errortypes))
    if c.codes:
        cond.append(or_(*(errors.c.extended == code if "." in code else errors.c.code == code
                          for code in c.codes)))
    if c.severity:
        cond.append(errors.c.severity == SEVERITY[c.severity])
    return cond


def error_counts(conn: Connection, addresses: Sequence[str], c: Criteria) -> dict[str, int]:
    """Matching errors per address (lower-cased key; addresses with none are absent)."""
    names = sorted({a.lower() for a in addresses})
    if not names:
        return {}
    # lower(recipient): served by ix_errors_recipient_lower.
    lowered = func.lower(errors.c.recipient)
    stmt = select(lowered, func.count()).where(lowered.in_(names), *_filters(c)) \
        .group_by(lowered)
    return {recipient: int(n) for recipient, n in conn.execute(stmt)}


@dataclass
class Tally:
    read: int = 0
    kept: int = 0
    removed: int = 0
    """Good rows the selection left out: the count of what it removed."""
    suppressed: int = 0
    """Of those removed, how many for being on the suppression list."""
    bad: int = 0

    def public(self) -> dict[str, int]:
        return {"read": self.read, "kept": self.kept, "removed": self.removed,
                "suppressed": self.suppressed, "bad": self.bad}


def run(conn: Connection, items: Iterable[Row | Bad], c: Criteria, now: datetime,
        tally: Tally | None = None, chunk: int = CHUNK) -> Iterator[Row | Bad]:
    """The rows the selection keeps, and every bad row, in list order; ``tally`` counts."""
    tally = tally if tally is not None else Tally()
    batch: list[Row | Bad] = []
    for item in items:
        batch.append(item)
        if len(batch) >= chunk:
            yield from _decide(conn, batch, c, now, tally)
            batch = []
    if batch:
        yield from _decide(conn, batch, c, now, tally)


def _decide(conn: Connection, batch: list[Row | Bad], c: Criteria, now: datetime,
            tally: Tally) -> Iterator[Row | Bad]:
    rows = [r for r in batch if isinstance(r, Row)]
    counts = error_counts(conn, [r.address for r in rows], c)
    blocked: set[str] = set()
    if c.not_suppressed:
        hits = suppressions.check(conn, [(r.address, c.sender) for r in rows], now)
        blocked = {rcpt for rcpt, _ in hits}
    for item in batch:
        tally.read += 1
        if isinstance(item, Bad):
            tally.bad += 1
            yield item
            continue
        key = item.address.lower()
        if not c.keeps(counts.get(key, 0)):
            tally.removed += 1
        elif key in blocked:
            tally.removed += 1
            tally.suppressed += 1
        else:
            tally.kept += 1
            yield item
