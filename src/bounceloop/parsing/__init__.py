"""The bounce parser: raw bytes of one returned message -> normalised records (pure)."""

from __future__ import annotations

from bounceloop.native import search_path

# The compiled modules first, when they are in use (bounceloop.native).
__path__ = search_path(__name__, __path__)

from bounceloop.parsing.parse import Result, detect, parse

__all__ = ["Result", "detect", "parse"]
