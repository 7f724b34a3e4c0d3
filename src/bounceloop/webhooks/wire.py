"""The webhook wire format: what a feedback-loop POST carries, per the spec (section 2).

Form encoding (``application/x-www-form-urlencoded``, UTF-8) in PHP's bracket notation, so
``$_POST`` and Python's form parsers read it natively (``parse_str`` semantics)::

    tags[]=a&tags[]=b            a list
    fields[name]=Ann             a map
    (nothing)                    an empty list or map: PHP has no spelling for one, and
                                 "tags[]=" would read as [""]; receivers use $_POST['tags'] ?? []

Field order per trigger is the spec's, then our extras (which a setting turns off for strict
receivers)::

    failure    id type timestamp time recipient action state code extended description tags
    bounce     id type timestamp time recipient envelope mime tags
    delivery   id type timestamp time recipient code extended description tags
    complaint  id type timestamp time recipient feedback_type tags

Extras: ``failure`` reason severity step errortype mailing reported_recipient rule matched
detector expired status_field; ``bounce`` kind reason mailing tied reported_recipient rule
matched detector expired; ``delivery`` state mailing; ``complaint`` mailing
reported_recipient. ``rule`` is the stable id of the rule that decided ``reason``
(``phrase:userunknown/user-unknown``, ``status:5.1.1``;
bounceloop.parsing.classify.Decision), ``matched`` the text it matched, ``detector`` the
bounce format family that read a returned message, ``expired`` (1/0) whether the reporting
MTA gave up after retrying, ``status_field`` the report's Status as written (``extended``
may refine a generic one); a bounce's are those of its first record, and a synchronous
failure has no detector. A ``bounce`` with ``tied=0`` answers no message we can prove we
sent (inbound.correlate): its ``id`` and ``recipient`` are empty, ``reported_recipient`` is
what it claimed, and it causes no ``failure`` or ``complaint`` call.

``timestamp`` is UTC ``YYYY-MM-DD HH:MM:SS``; ``time`` the Unix time. The JSON body
(``--format json``) carries the same fields as one object. Pure: no I/O.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

Value = str | bytes | int | bool | None | Sequence[Any] | Mapping[str, Any]

#: The spec's fields per trigger, after id/type/timestamp/time.
SPEC_FIELDS: dict[str, tuple[str, ...]] = {
    "failure": ("recipient", "action", "state", "code", "extended", "description", "tags"),
    "bounce": ("recipient", "envelope", "mime", "tags"),
    "delivery": ("recipient", "code", "extended", "description", "tags"),
    "complaint": ("recipient", "feedback_type", "tags"),
}
#: Ours, after the spec's (left out when a webhook asks for the spec's fields only).
EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "failure": ("reason", "severity", "step", "errortype", "mailing", "reported_recipient",
                "rule", "matched", "detector", "expired", "status_field"),
    "bounce": ("kind", "reason", "mailing", "tied", "reported_recipient", "rule", "matched",
               "detector", "expired"),
    "delivery": ("state", "mailing"),
    "complaint": ("mailing", "reported_recipient"),
}
TRIGGERS = tuple(SPEC_FIELDS)


def fields(trigger: str, event_id: str, when: datetime, data: Mapping[str, Any], *,
           extras: bool = True) -> list[tuple[str, Value]]:
    """The ordered fields of one event: ``event_id`` is the message id (the spec's ``id``),
    ``data`` the event's data (storage.events) plus ``mime`` for a bounce."""
    if trigger not in SPEC_FIELDS:
        raise ValueError(f"unknown trigger {trigger!r}: one of {', '.join(TRIGGERS)}")
    when = when.astimezone(UTC)
    out: list[tuple[str, Value]] = [
        ("id", event_id), ("type", trigger),
        ("timestamp", when.strftime("%Y-%m-%d %H:%M:%S")), ("time", int(when.timestamp())),
    ]
    names = SPEC_FIELDS[trigger] + (EXTRA_FIELDS[trigger] if extras else ())
    for name in names:
        value = data.get(name)
        if name == "tags":
            value = list(value or [])
        out.append((name, "" if value is None else value))
    return out


def _scalar(value: Any) -> str | bytes:
    if isinstance(value, bool):
        return "1" if value else "0"  # what PHP itself sends for true/false in a form
    if isinstance(value, bytes):
        return value  # percent-encoded as is: a bounce's MIME arrives byte for byte
    return str(value)


def _pairs(key: str, value: Any) -> list[tuple[str, str | bytes]]:
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _pairs(f"{key}[{k}]", v)]
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _pairs(f"{key}[]", v)]
    return [(key, _scalar(value))]


#: What quote_plus leaves as it is; a value of only these needs no quoting (the common case:
#: codes, ids, times), which saves most of the cost of encoding a body.
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")


@functools.lru_cache(maxsize=1024)
def _key(key: str) -> str:
    return quote_plus(key, safe="[]")


def _value(value: str | bytes) -> str:
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        return value
    return quote_plus(value)


def form(items: Sequence[tuple[str, Value]]) -> bytes:
    """``application/x-www-form-urlencoded`` in bracket notation, UTF-8."""
    # quote_plus leaves only A-Z a-z 0-9 _ . - ~ unescaped: "&", "=", "[", "]" in a tag or a
    # key's content are escaped, so they cannot split a field or open a nested one.
    out: list[str] = []
    for key, value in items:
        # Plain strings and ints (most fields) straight away: a call's body is encoded on
        # the webhook worker's event loop, once per call (bench/webhooks.py).
        if type(value) is str:
            out.append(f"{_key(key)}={_value(value)}")
        elif type(value) is int:
            out.append(f"{_key(key)}={value}")  # digits and "-": nothing to quote
        else:
            out.extend(f"{_key(k)}={_value(v)}" for k, v in _pairs(key, value))
    return "&".join(out).encode()


def json_body(items: Sequence[tuple[str, Value]]) -> bytes:
    """One JSON object; bytes (a bounce's MIME) as text, undecodable bytes replaced (JSON
    has no spelling for them: receivers that need the exact bytes take the form body)."""
    values = {k: v.decode("utf-8", "replace") if isinstance(v, bytes) else v
              for k, v in items}
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def body(trigger: str, when: datetime, data: Mapping[str, Any], *, extras: bool = True,
         format: str = "form") -> tuple[str, bytes]:
    """(Content-Type, body) of one event's call; ``data`` has the message id as ``id``."""
    items = fields(trigger, str(data.get("id") or ""), when, data, extras=extras)
    if format == "json":
        return JSON, json_body(items)
    # No charset parameter: the form type has none (WHATWG URL, urlencoded); it is UTF-8.
    return FORM, form(items)
