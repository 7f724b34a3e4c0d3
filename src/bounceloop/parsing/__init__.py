"""The bounce parser: raw bytes of one returned message -> normalised records (pure)."""

from __future__ import annotations

from bounceloop.parsing.parse import Result, detect, parse

__all__ = ["Result", "detect", "parse"]
