"""Webhook signatures: ``X-Bounceloop-Signature: t=<unix time>,v1=<hex>[,v1=<hex>]``.

``v1`` is HMAC-SHA256 with the webhook's secret over ``"<t>." + body`` (the raw body bytes),
so a receiver checks the body it got and that it is recent (replays of an old call fail the
tolerance). During a secret rotation both secrets sign, one ``v1`` each, and a receiver that
knows either accepts the call. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

HEADER = "X-Bounceloop-Signature"
TOLERANCE = 300


def digest(secret: str, t: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secrets: Iterable[str], t: int, body: bytes) -> str:
    """The header value for ``body`` sent at Unix time ``t``, one v1 per secret."""
    return ",".join([f"t={t}", *(f"v1={digest(s, t, body)}" for s in secrets if s)])


def verify(header: str, body: bytes, secret: str, now: int,
           tolerance: int = TOLERANCE) -> bool:
    """True when one v1 of ``header`` is ``secret``'s signature of ``body`` and ``t`` is
    within ``tolerance`` seconds of ``now``."""
    t: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            t = int(value)
        elif key == "v1":
            candidates.append(value)
    if t is None or abs(now - t) > tolerance:
        return False
    expected = digest(secret, t, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)
