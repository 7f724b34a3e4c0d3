"""Webhook fixtures: settings for loopback receivers, and events written the real way."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from bounceloop.config import Settings
from bounceloop.storage import events
from bounceloop.storage import webhooks as store

_keys = itertools.count(1)


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    """Loopback allowed (the receivers are on 127.0.0.1); retries in tenths of seconds."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}", allowed_target_networks=["127.0.0.0/8"],
        webhook_retry_base=0.05, webhook_retry_max_delay=0.2, webhook_poll_interval=0.05,
        webhook_timeout=2, job_lease=30.0, spool_dir=tmp_path / "spool")


def failure(message: str = "m1", *, tags: Sequence[str] = ("news",), mailing: int = 1,
            recipient: str = "ann@example.org") -> dict[str, Any]:
    """An events row as the sender writes it for a final synchronous failure."""
    return events.row(
        time=datetime(2026, 11, 22, 10, 30, 5, tzinfo=UTC), type="failure",
        key=f"failure:{message}:{next(_keys)}", message_id=message, mailing_id=mailing,
        recipient=recipient, data={
            "id": message, "recipient": recipient, "mailing": mailing, "tags": list(tags),
            "action": "failed", "state": "rcpt", "code": "550", "extended": "5.1.1",
            "description": "user unknown", "reason": "userunknown", "severity": "hard",
            "step": 4, "errortype": "error"})


def write(db: Engine, rows: Sequence[dict[str, Any]]) -> int:
    with db.begin() as conn:
        return events.add(conn, rows)


def hook(db: Engine, url: str, **kw: Any) -> store.Webhook:
    kw.setdefault("triggers", ["failure"])
    kw.setdefault("concurrency", 4)
    kw.setdefault("timeout", 2)
    with db.begin() as conn:
        return store.create(conn, url=url, **kw)
