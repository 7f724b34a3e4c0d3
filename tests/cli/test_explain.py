"""``bounceloop explain FILE``: the decision path per recipient, as text or JSON."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bounceloop.cli.main import cli

BOUNCES = Path(__file__).resolve().parents[1] / "data" / "bounces"


def test_text() -> None:
    result = CliRunner().invoke(cli, ["explain", str(BOUNCES / "rfc3464-01.eml")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "read by: rfc3464" in out
    assert "rule status:5.1.1, matched '5.1.1'" in out
    assert "rule phrase:networkerror/host-name-lookup-failure" in out


def test_json_per_file_and_a_missing_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["explain", "--format", "json",
                                      str(BOUNCES / "office365-02.eml"),
                                      str(tmp_path / "missing.eml")])
    assert result.exit_code == 1
    (line,) = [li for li in result.stdout.splitlines() if li.strip()]
    body = json.loads(line)
    assert body["detector"] == "office365"
    (record,) = body["records"]
    assert (record["reason"], record["rule"], record["matched"], record["expired"]) == (
        "userunknown", "provider:microsoft/userunknown.1", "recipientnotfound", False)
    assert body["tried"][-1] == {"detector": "office365", "matched": True, "facts": 1}
    assert "missing.eml" in result.stderr
