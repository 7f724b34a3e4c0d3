"""Webhooks (the spec's feedback loops): events POSTed to the user's URLs.

    wire       the form (and JSON) body of each trigger, per the spec (pure)
    signature  X-Bounceloop-Signature: HMAC-SHA256 over time and body (pure)
"""

from __future__ import annotations

from bounceloop.webhooks.signature import sign, verify
from bounceloop.webhooks.wire import TRIGGERS, fields, form, json_body

__all__ = ["TRIGGERS", "fields", "form", "json_body", "sign", "verify"]
