"""A point where the compiled parser lets Python run a pending signal handler.

CPython runs a signal's Python handler in its bytecode loop, between instructions; code
compiled with mypyc (bounceloop.native) does not pass through that loop, so a SIGALRM that
arrives while it runs waits until it returns. The parse budget of ``inbound/parser.py`` is
such a handler (it raises to stop a message that takes too long). The parser's loops whose
length the input decides (MIME parts, detectors, records) call :func:`checkpoint`, and
this module stays Python (scripts/native.py): a Python function starting is one of the
places where the interpreter runs pending handlers (3.11 ``RESUME``). About 40 ns a call.
"""

from __future__ import annotations


def checkpoint() -> None:
    """Nothing: that a Python function runs is the point."""
