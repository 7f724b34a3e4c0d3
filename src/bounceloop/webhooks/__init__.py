"""Webhooks (the spec's feedback loops): events POSTed to the user's URLs.

    wire       the form (and JSON) body of each trigger, per the spec (pure)
    signature  X-Bounceloop-Signature: HMAC-SHA256 over time and body (pure)
    retry      what a call's result means: done, retry (backoff, jitter), dead, gone (pure)
    guard      the SSRF guard: http(s) only, every resolved address public or allowed
    http       the HTTP/1.1 client that calls the address the guard vetted
    dispatch   the worker: claims webhook jobs, calls, writes results in batches
    manage     add (URL vetted), test and verification calls, for the CLI and the API

Subscriptions and their queues are stored by storage.webhooks.
"""

from __future__ import annotations

from bounceloop.webhooks.signature import sign, verify
from bounceloop.webhooks.wire import TRIGGERS, fields, form, json_body

__all__ = ["TRIGGERS", "fields", "form", "json_body", "sign", "verify"]
