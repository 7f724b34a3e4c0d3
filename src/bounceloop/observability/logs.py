"""The service's log: one line per event, as text for a person or JSON for a log pipeline.

``BOUNCELOOP_LOG_FORMAT=json`` writes one JSON object per line on stderr (journald, Docker
and Kubernetes collect stderr)::

    {"time": "2026-11-22T10:15:02.123Z", "level": "info", "logger": "bounceloop.delivery",
     "msg": "deferred", "role": "worker", "worker": "mx1:812:a1b2c3",
     "message_id": "m3k...", "recipient": "ann@example.org", "status": "deferred", ...}

Fields are *bound* two ways, and both end up as top-level keys:

- per call, ``log.info("deferred", extra=fields(message_id=..., recipient=...))``: the
  message id and recipient of the line's message (the keys a support person searches on);
- per task, :func:`bind` (a context variable, so concurrent asyncio tasks keep their own),
  for what every line of a process or a round shares (role, worker).

``text`` (the default) keeps the ``bounceloop: what happened key=value ...`` form.
No handler is installed unless :func:`setup` is called (the service does; library use and
the tests leave logging to the caller).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")

#: Attributes every LogRecord has; anything else on a record came in through ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName"}
_EXTRA = "bl_fields"
_bound: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "bl_bound", default=None)


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for one log call: the values, with None left out."""
    return {_EXTRA: {k: v for k, v in values.items() if v is not None}}


@contextlib.contextmanager
def bind(**values: Any) -> Iterator[None]:
    """Add fields to every line logged in this context (this task and what it starts)."""
    token = _bound.set({**(_bound.get() or {}), **values})
    try:
        yield
    finally:
        _bound.reset(token)


def bound(**values: Any) -> None:
    """Add fields for the rest of this context (a process's role and worker name)."""
    _bound.set({**(_bound.get() or {}), **values})


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The bound fields of a record: the context's, then the call's."""
    out = dict(getattr(record, "bl_context", None) or {})
    out.update(getattr(record, _EXTRA, None) or {})
    for key, value in record.__dict__.items():  # plain extra={...} from other code
        if key not in _STANDARD and key not in (_EXTRA, "bl_context"):
            out.setdefault(key, value)
    return out


class _Context(logging.Filter):
    """Copies the context's bound fields onto the record when it is made (a handler may
    format it later, elsewhere)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.bl_context = _bound.get()
        return True


def _utc(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + (
        f".{int(created % 1 * 1000):03d}Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; values JSON cannot hold are written as strings."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"time": _utc(record.created),
                               "level": record.levelname.lower(),
                               "logger": record.name, "msg": record.getMessage()}
        for key, value in record_fields(record).items():
            out.setdefault(key, value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``bounceloop: msg key=value ...``, the form the service always printed."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"bounceloop: {record.getMessage()}"]
        for key, value in record_fields(record).items():
            if key in ("role", "worker"):
                continue  # said once, at start
            text = str(value)
            parts.append(f"{key}={json.dumps(text) if (' ' in text or not text) else text}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup(format: str = "text", level: str = "info", stream: IO[str] | None = None
          ) -> logging.Handler:
    """Send bounceloop's log (and warnings of the libraries under it) to ``stream``."""
    if format not in FORMATS:
        raise ValueError(f"a log format is one of {', '.join(FORMATS)}, not {format!r}")
    if level not in LEVELS:
        raise ValueError(f"a log level is one of {', '.join(LEVELS)}, not {level!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    handler.addFilter(_Context())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "bl_handler", False)]:
        root.removeHandler(old)
    handler.bl_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("bounceloop").setLevel(level.upper())
    # The SMTP library logs every session at INFO; only its warnings are ours to show.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    return handler


def teardown(handler: logging.Handler) -> None:
    """Take back what :func:`setup` did (a command run in-process, as tests do)."""
    logging.getLogger().removeHandler(handler)
    logging.getLogger("bounceloop").setLevel(logging.NOTSET)


__all__ = ["FORMATS", "LEVELS", "JsonFormatter", "TextFormatter", "bind", "bound", "fields",
           "record_fields", "setup", "teardown"]
