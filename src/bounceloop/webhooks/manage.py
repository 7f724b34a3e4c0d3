"""Webhook operations shared by the CLI and the REST API: add (with the URL vetted), test
and verify calls. Storage of the rest (list, change, pause...) is storage.webhooks.

Ownership verification (``--verify``): before its first event a webhook is
``unverified``, its events held. bounceloop POSTs ``type=verification``, ``webhook=<id>``
and ``token=<token>`` (form encoded and signed like every call); the receiver proves it
is the URL's owner by answering 2xx with the token as the body (or anywhere in it). Then
the webhook becomes active and its held events are sent.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from bounceloop.config import Settings
from bounceloop.core.network import networks
from bounceloop.delivery.resolver import Resolver
from bounceloop.storage import webhooks as store
from bounceloop.storage.engine import utcnow
from bounceloop.webhooks import guard, signature, wire
from bounceloop.webhooks.dispatch import request
from bounceloop.webhooks.http import Client, Failed, Reply


@dataclass(frozen=True, slots=True)
class Spec:
    """What a user asks for when adding a webhook."""

    url: str
    triggers: Sequence[str]
    mailing_id: int | None = None
    tags: Sequence[str] = ()
    format: str = "form"
    extras: bool = True
    concurrency: int | None = None
    timeout: int | None = None
    verify: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class Called:
    """What a test or verification call got; ``ok``: it did what it should."""

    ok: bool
    answer: Reply | Failed | guard.Refused

    def describe(self) -> dict[str, Any]:
        a = self.answer
        if isinstance(a, Reply):
            return {"ok": self.ok, "status": a.status, "ip": a.ip,
                    "duration_ms": a.duration_ms,
                    "body": a.body[:200].decode("utf-8", "replace")}
        if isinstance(a, Failed):
            return {"ok": False, "error": a.error, "description": a.description, "ip": a.ip,
                    "duration_ms": a.duration_ms}
        return {"ok": False, "error": "refused-address", "description": a.reason}


async def vet(settings: Settings, url: str,
              resolver: Resolver | None = None) -> list[str] | guard.Refused:
    """The URL's addresses, or why it may not be called (webhooks.guard)."""
    return await guard.addresses(url, resolver or Resolver(settings),
                                 networks(settings.allowed_target_networks))


async def add(settings: Settings, db: Engine, spec: Spec,
              resolver: Resolver | None = None) -> store.Webhook | guard.Refused:
    """Vet the URL, then store the webhook. ValueError for bad triggers and the like."""
    store.check({"triggers": spec.triggers, "format": spec.format,
                 "concurrency": spec.concurrency, "timeout": spec.timeout})
    vetted = await vet(settings, spec.url, resolver)
    if isinstance(vetted, guard.Refused):
        return vetted
    with db.begin() as conn:
        return store.create(
            conn, url=spec.url, triggers=spec.triggers, mailing_id=spec.mailing_id,
            tags=spec.tags, format=spec.format, extras=spec.extras,
            concurrency=spec.concurrency or settings.webhook_concurrency,
            timeout=spec.timeout or settings.webhook_timeout, verify=spec.verify,
            description=spec.description)


def sample(trigger: str, now: datetime) -> store.Event:
    """A made-up event of ``trigger`` for a test call (its id is 0: not a real event)."""
    data: dict[str, Any] = {
        "id": "test", "recipient": "test@example.com", "mailing": 0, "tags": ["test"],
        "action": "failed", "state": "rcpt", "code": "550", "extended": "5.1.1",
        "description": "bounceloop test call", "reason": "userunknown", "severity": "hard",
        "step": 4, "errortype": "error", "envelope": "test@bounces.example.com",
        "mime": b"From: MAILER-DAEMON@example.com\r\nSubject: test\r\n\r\ntest\r\n",
        "kind": "failure", "feedback_type": "abuse", "rule": "status:5.1.1",
        "matched": "5.1.1", "expired": False}
    if trigger == "delivery":
        data.update(code="250", extended="2.0.0", description="bounceloop test call",
                    state="data")
    return store.Event(0, trigger, now, data)


async def _post(settings: Settings, hook: store.Webhook, headers: list[tuple[str, str]],
                body: bytes, resolver: Resolver | None, client: Client | None
                ) -> Reply | Failed | guard.Refused:
    vetted = await vet(settings, hook.url, resolver)
    if isinstance(vetted, guard.Refused):
        return vetted
    own = client is None
    client = client or Client(
        cafile=str(settings.webhook_ca_file) if settings.webhook_ca_file else None)
    try:
        return await client.post(hook.url, vetted[0], headers, body, hook.timeout)
    finally:
        if own:
            await client.aclose()


async def test(settings: Settings, hook: store.Webhook, resolver: Resolver | None = None,
               client: Client | None = None) -> Called:
    """POST a sample event of the webhook's first trigger now (paused or not); the
    event header is ``test-<random>``."""
    now = utcnow()
    headers, body = request(hook, sample(hook.triggers[0], now), 1, now,
                            settings.webhook_extras)
    headers = [(k, f"test-{secrets.token_hex(8)}" if k == "X-Bounceloop-Event" else v)
               for k, v in headers]
    answer = await _post(settings, hook, headers, body, resolver, client)
    return Called(isinstance(answer, Reply) and 200 <= answer.status < 300, answer)


async def verify(settings: Settings, db: Engine, hook: store.Webhook,
                 resolver: Resolver | None = None, client: Client | None = None) -> Called:
    """The ownership check (module doc); on success the webhook becomes active."""
    token = hook.verify_token or ""
    now = utcnow()
    body = wire.form([("type", "verification"), ("webhook", hook.id), ("token", token)])
    headers = [("Content-Type", wire.FORM),
               ("X-Bounceloop-Event", f"verification-{hook.id}"),
               ("X-Bounceloop-Webhook", str(hook.id)),
               (signature.HEADER, signature.sign(hook.signing_secrets(now),
                                                 int(now.timestamp()), body))]
    answer = await _post(settings, hook, headers, body, resolver, client)
    ok = (isinstance(answer, Reply) and 200 <= answer.status < 300 and bool(token)
          and token.encode() in answer.body)
    if ok:
        with db.begin() as conn:
            store.verified(conn, hook.id)
    return Called(ok, answer)
