"""``bounceloop token create|list|revoke``: the token is the last line, stored hashed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bounceloop.cli import cli
from bounceloop.storage import tokens
from bounceloop.storage.engine import create_engine

pytestmark = pytest.mark.usefixtures("clean_environment")


def invoke(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args),
                              env={"BOUNCELOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"})


def test_create_list_revoke(tmp_path: Path) -> None:
    made = invoke(tmp_path, "token", "create", "--scope", "read", "--name", "dashboard")
    assert made.exit_code == 0, made.output
    token = made.stdout.splitlines()[-1]
    assert token.startswith("blt_") and len(token) > 40
    db = create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        with db.connect() as conn:
            assert tokens.scope_of(conn, token) == "read"
            assert tokens.scope_of(conn, token + "x") is None
            stored = conn.exec_driver_sql("SELECT digest FROM api_tokens").scalar_one()
        assert token not in stored and stored == tokens.digest(token)
        listed = [json.loads(x) for x in invoke(tmp_path, "token", "list", "--json")
                  .stdout.splitlines()]
        assert [(t["name"], t["scope"], t["revoked_at"]) for t in listed] == [
            ("dashboard", "read", None)]
        assert token not in invoke(tmp_path, "token", "list").stdout
        assert invoke(tmp_path, "token", "revoke", str(listed[0]["id"])).exit_code == 0
        assert invoke(tmp_path, "token", "revoke", str(listed[0]["id"])).exit_code == 1
        with db.connect() as conn:
            assert tokens.scope_of(conn, token) is None
    finally:
        db.dispose()
    assert invoke(tmp_path, "token", "create", "--scope", "admin").exit_code == 2
    assert invoke(tmp_path, "token", "create").exit_code == 2
