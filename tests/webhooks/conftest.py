"""Webhook fixtures: settings for loopback receivers."""

from __future__ import annotations

from typing import Any

import pytest

from bounceloop.config import Settings


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    """Loopback allowed (the receivers are on 127.0.0.1); retries in tenths of seconds."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}", allowed_target_networks=["127.0.0.0/8"],
        webhook_retry_base=0.05, webhook_retry_max_delay=0.2, webhook_poll_interval=0.05,
        webhook_timeout=2, job_lease=30.0, spool_dir=tmp_path / "spool")
