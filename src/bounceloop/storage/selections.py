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

import functools
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, or_, select

from bounceloop.core.addresslist import Bad, Row
from bounceloop.storage import suppressions
from bounceloop.storage.plan import Unindexed
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
    # Every column but the recipient is unindexed (storage.plan): the recipient index
    # finds an address's few rows, and these filter them. An index of the Errors view
    # (current, timestamp; mailing, current, timestamp; ...) holds most of the table under
    # one key, and SQLite without statistics took it instead: 2.1 s a chunk, not 3 ms.
    e = Unindexed(errors)
    # Untied returned mail is about no address of ours (recipient ''): never selected.
    cond: list[Any] = [e.current.is_(True), e.tied.is_(True)]
    if c.since is not None:
        cond.append(e.timestamp >= c.since)
    if c.until is not None:
        cond.append(e.timestamp < c.until)
    if c.mailing is not None:
        cond.append(e.mailing_id == c.mailing)
    if c.errortypes:
        cond.append(e.errortype.in_(c.errortypes))
    if c.codes:
        cond.append(or_(*(e.extended == code if "." in code else e.code == code
                          for code in c.codes)))
    if c.severity:
        cond.append(e.severity == SEVERITY[c.severity])
    return cond


@functools.lru_cache(maxsize=32)
def _statement(c: Criteria) -> Select[Any]:
    # Built once per selection: every chunk runs it with its own list of names.
    lowered = func.lower(errors.c.recipient)
    # lower(recipient): served by ix_errors_recipient_lower, the only index the query may
    # use (see _filters).
    return select(lowered, func.count()).where(
        lowered.in_(bindparam("names", expanding=True)), *_filters(c)).group_by(lowered)


def error_counts(conn: Connection, addresses: Sequence[str], c: Criteria) -> dict[str, int]:
    """Matching errors per address (lower-cased key; addresses with none are absent)."""
    names = list({a.lower() for a in addresses})
    if not names:
        return {}
    return {recipient: int(n) for recipient, n in
            conn.execute(_statement(c), {"names": names})}


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
    """The rows the selection keeps, and every bad row, in list order; ``tally`` counts
    (a chunk at a time, before its rows are yielded)."""
    tally = tally if tally is not None else Tally()
    items = iter(items)
    while batch := list(itertools.islice(items, chunk)):
        yield from _decide(conn, batch, c, now, tally)


def _decide(conn: Connection, batch: list[Row | Bad], c: Criteria, now: datetime,
            tally: Tally) -> list[Row | Bad]:
    rows = [r for r in batch if isinstance(r, Row)]
    counts = error_counts(conn, [r.address for r in rows], c)
    blocked: set[str] = set()
    if c.not_suppressed:
        hits = suppressions.check(conn, [(r.address, c.sender) for r in rows], now)
        blocked = {rcpt for rcpt, _ in hits}
    # Most addresses of a list have no error: their verdict is the same for each.
    keep_none = c.keeps(0)
    out: list[Row | Bad] = []
    removed = suppressed = 0
    for item in batch:
        if isinstance(item, Bad):
            out.append(item)
            continue
        key = item.address.lower()
        n = counts.get(key, 0)
        if not (c.keeps(n) if n else keep_none):
            removed += 1
        elif key in blocked:
            removed += 1
            suppressed += 1
        else:
            out.append(item)
    bad = len(batch) - len(rows)
    tally.read += len(batch)
    tally.bad += bad
    tally.removed += removed
    tally.suppressed += suppressed
    tally.kept += len(out) - bad
    return out
