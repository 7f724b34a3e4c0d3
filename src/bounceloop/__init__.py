"""bounceloop: a self-hosted delivery-error engine for email.

The library surface: :func:`parse` turns the raw bytes of a returned message into
:class:`Bounce` records.
"""

from __future__ import annotations

__version__ = "0.1.0"

from bounceloop.core import Bounce, Convention, Kind, Severity
from bounceloop.parsing import Result, parse

__all__ = ["Bounce", "Convention", "Kind", "Result", "Severity", "__version__", "parse"]
