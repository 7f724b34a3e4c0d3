"""The pure core: the error model, status codes, reasons and severity (no I/O)."""

from __future__ import annotations

from bounceloop.native import search_path

# The compiled modules first, when they are in use (bounceloop.native).
__path__ = search_path(__name__, __path__)

from bounceloop.core.model import BOUNCE_STATE, FIELDS, Action, Bounce, Kind, Severity
from bounceloop.core.reasons import REASONS, is_hardbounce
from bounceloop.core.severity import Convention, severity
from bounceloop.core.status import (
    EnhancedStatus,
    codes,
    find_enhanced,
    find_reply_code,
    parse_enhanced,
)

__all__ = [
    "BOUNCE_STATE",
    "FIELDS",
    "REASONS",
    "Action",
    "Bounce",
    "Convention",
    "EnhancedStatus",
    "Kind",
    "Severity",
    "codes",
    "find_enhanced",
    "find_reply_code",
    "is_hardbounce",
    "parse_enhanced",
    "severity",
]
