"""The API under test: an app on the test's database, and tokens for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bounceloop.config import Settings
from bounceloop.observability.metrics import Metrics
from bounceloop.storage import tokens
from bounceloop.web.app import create_app


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    # Loopback webhook URLs are allowed: the receivers in these tests listen there.
    settings = Settings(database_url="sqlite://", allowed_target_networks=["127.0.0.0/8"],
                        spool_dir=tmp_path)
    with TestClient(create_app(engine, Metrics(), settings)) as c:
        yield c


def bearer(engine: Engine, scope: str) -> dict[str, str]:
    """The Authorization header of a new token of this scope."""
    with engine.begin() as conn:
        _, token = tokens.create(conn, scope, f"test {scope}")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def rw(engine: Engine) -> dict[str, str]:
    return bearer(engine, "write")


@pytest.fixture
def ro(engine: Engine) -> dict[str, str]:
    return bearer(engine, "read")
