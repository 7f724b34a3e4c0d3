"""bounceloop: a self-hosted delivery-error engine for email.

The library surface: :func:`parse` turns the raw bytes of a returned message into
:class:`Bounce` records.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bounceloop.native import search_path

__version__ = "0.1.0"

# Where the compiled parser's shared library is found, when it is in use (bounceloop.native).
__path__ = search_path(__name__, __path__)

if TYPE_CHECKING:
    from bounceloop.core import Bounce, Convention, Kind, Severity
    from bounceloop.parsing import Result, parse

# Imported on first use (PEP 562): every ``bounceloop`` command imports this package, and
# only ``parse`` needs the parser (a tenth of a second of regular expressions to compile).
_LAZY = {"Bounce": "bounceloop.core", "Convention": "bounceloop.core", "Kind": "bounceloop.core",
         "Severity": "bounceloop.core", "Result": "bounceloop.parsing",
         "parse": "bounceloop.parsing"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bounceloop' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["Bounce", "Convention", "Kind", "Result", "Severity", "__version__", "parse"]
