"""Bounce format detectors: one module per MTA or provider family.

Each module is a pure function of a :class:`~bounceloop.parsing.mail.Mail`:

    NAME     the family name reported in ``Bounce.detector``
    match    a cheap test on headers (From, Subject, a vendor header) - no body scanning
    inquire  the full read: a list of :class:`~bounceloop.parsing.fact.Fact`, or [] if after
             all it is not this format

:data:`DETECTORS` is tried in order and the first non-empty answer wins: the specific
families first (their ``match`` is a header lookup), then the generic RFC 3464 reader, ARF,
the plain-text fallback, and RFC 3834 auto-replies last (bounces carry auto-reply headers
too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from bounceloop.parsing.detectors import arf, exim, rfc3464, rfc3834
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail


class Detector(NamedTuple):
    name: str
    match: Callable[[Mail], bool]
    inquire: Callable[[Mail], list[Fact]]


def _of(module: object) -> Detector:
    return Detector(module.NAME, module.match, module.inquire)  # type: ignore[attr-defined]


#: Specific formats, most specific first.
FAMILIES: tuple[Detector, ...] = (_of(exim),)

#: Generic readers, after every family declined.
GENERIC: tuple[Detector, ...] = (_of(arf), _of(rfc3464), _of(rfc3834))

DETECTORS: tuple[Detector, ...] = FAMILIES + GENERIC

__all__ = ["DETECTORS", "FAMILIES", "GENERIC", "Detector"]
