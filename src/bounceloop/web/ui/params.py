"""Values from query strings and forms, read by hand: a bad one is a 400 page that names
the parameter and the value, where FastAPI's typed parameters would answer 422 in JSON (and
an HTML form sends ``mailing=`` for "any", which no ``int`` accepts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

from fastapi import HTTPException

from bounceloop.web.common import values

FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9998, 12, 31)


class _Multi(Protocol):
    def getlist(self, key: Any) -> Sequence[object]: ...


class Params:
    """The values of a query string or a submitted form (both are multi-dicts)."""

    def __init__(self, source: _Multi) -> None:
        self.source = source

    def all(self, name: str) -> list[str]:
        """Every value of ``name`` (files, which no UI form has, left out). A NUL is
        refused here: PostgreSQL cannot store or compare a text with one."""
        found = [v for v in self.source.getlist(name) if isinstance(v, str)]
        if any("\x00" in v for v in found):
            raise HTTPException(400, f"{name} cannot contain a NUL character")
        return found

    def text(self, name: str, *, longest: int = 320) -> str:
        found = self.all(name)
        value = found[-1].strip() if found else ""
        if len(value) > longest:
            raise HTTPException(400, f"{name} has at most {longest} characters, not "
                                     f"{len(value)}")
        return value

    def many(self, name: str, *, longest: int = 320) -> tuple[str, ...]:
        """Repeated and comma-separated values, blanks out."""
        out = values(self.all(name))
        for v in out:
            if len(v) > longest:
                raise HTTPException(400, f"a value of {name} has at most {longest} "
                                         "characters")
        return out

    def number(self, name: str, default: int, *, lowest: int = 0,
               highest: int = 10**12) -> int:
        raw = self.text(name, longest=40)
        if not raw:
            return default
        if not (raw.isascii() and raw.isdigit()) or not lowest <= int(raw) <= highest:
            raise HTTPException(400, f"{name} is a whole number from {lowest} to "
                                     f"{highest}, not {raw!r}")
        return int(raw)

    def optional_number(self, name: str, *, lowest: int = 0,
                        highest: int = 2**31 - 1) -> int | None:
        """A number or None when empty; by default an id of an INTEGER column."""
        if not self.text(name, longest=40):
            return None
        return self.number(name, 0, lowest=lowest, highest=highest)

    def decimal(self, name: str, *, lowest: float = 0, highest: float = 36_500
                ) -> float | None:
        """A positive number of (days...), or None when empty."""
        raw = self.text(name, longest=40)
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not lowest < value <= highest:
            raise HTTPException(400, f"{name} is a number above {lowest:g} and at most "
                                     f"{highest:g}, not {raw!r}")
        return value

    def day(self, name: str) -> date | None:
        """A UTC day, within bounds that leave room for a month on either side (the
        calendar ends at 9999-12-31, and a day after that is an OverflowError)."""
        raw = self.text(name, longest=40)
        if not raw:
            return None
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise HTTPException(400, f"{name} is a date (YYYY-MM-DD), not {raw!r}") from None
        if not FIRST_DAY <= day <= LAST_DAY:
            raise HTTPException(400, f"{name} is a date from {FIRST_DAY} to {LAST_DAY}, "
                                     f"not {raw!r}")
        return day

    def choice(self, name: str, options: Sequence[str], default: str = "") -> str:
        raw = self.text(name, longest=64)
        if not raw:
            return default
        if raw not in options:
            raise HTTPException(400, f"{name} is one of {', '.join(options)}, not {raw!r}")
        return raw

    def flag(self, name: str) -> bool:
        return self.text(name, longest=10).lower() in ("1", "true", "on", "yes")
