"""``bounceloop ingest``, ``reprocess``, ``errors`` and ``events`` on a SQLite file.

Messages are queued with ``bounceloop send`` (no delivery needed: a bounce may name any
message we queued), bounces are fed from files, and everything is read back through the
commands a user would script.
"""

from __future__ import annotations

import csv
import io
import json
import mailbox
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update

from bounceloop.cli import cli
from bounceloop.core import signed
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import errors, received
from bounceloop.testing import bounces

pytestmark = pytest.mark.usefixtures("clean_environment")

MIME = b"Message-ID: <winter@sender.test>\r\nFrom: news@sender.test\r\nSubject: W\r\n\r\nHi.\r\n"


def invoke(tmp_path: Path, *args: str, input: bytes | None = None) -> Result:
    env = {"BOUNCELOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
           "BOUNCELOOP_BOUNCE_DOMAIN": "bounce.sender.test",
           "BOUNCELOOP_VERP_SECRET": "cli-secret", "BOUNCELOOP_HOSTNAME": "client.test",
           "BOUNCELOOP_PARSE_PROCESSES": "0"}
    return CliRunner().invoke(cli, list(args), env=env, input=input)


@pytest.fixture
def sent(tmp_path: Path) -> dict[str, dict[str, Any]]:
    (tmp_path / "msg.eml").write_bytes(MIME)
    (tmp_path / "rcpts.csv").write_text("email,tags\nann@dest.test,w\nbob@dest.test,w\n"
                                        "cy@dest.test,w\n")
    result = invoke(tmp_path, "send", "--from", "news@sender.test", "--mime",
                    str(tmp_path / "msg.eml"), "--recipients", str(tmp_path / "rcpts.csv"))
    assert result.exit_code == 0, result.output
    return {m["recipient"]: m for m in map(json.loads, result.stdout.splitlines())}


def copy(message: dict[str, Any]) -> bytes:
    """The copy its MX received: our signed header (delivery.engine), then the document."""
    _, head = signed.stamp(secret="cli-secret", recipients=[(message["id"],
                                                             message["recipient"])],
                           mailing_id=1)
    return head + MIME


def jsonl(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_ingest_eml_mbox_and_maildir_then_list(tmp_path: Path,
                                               sent: dict[str, dict[str, Any]]) -> None:
    # An .eml delivered to the VERP envelope (the MTA wrote Delivered-To).
    eml = tmp_path / "one.eml"
    eml.write_bytes(f"Delivered-To: {sent['ann@dest.test']['envelope']}\r\n".encode()
                    + bounces.dsn("ann@dest.test", copy(sent["ann@dest.test"])))
    # An mbox with a qmail bounce (tied by our header) and an auto-reply, which answers the
    # document's own Message-ID (the same in every copy): untied, and kept.
    box = mailbox.mbox(str(tmp_path / "box.mbox"))
    box.add(bounces.qmail("bob@dest.test", copy(sent["bob@dest.test"])))
    box.add(bounces.autoreply("cy@dest.test", copy(sent["cy@dest.test"])))
    box.close()
    # A maildir with something nobody can read, tied to nothing.
    md = mailbox.Maildir(str(tmp_path / "md"))
    md.add(b"Subject: hi\r\n\r\nno clue here\r\n")
    md.close()
    result = invoke(tmp_path, "ingest", str(eml), str(tmp_path / "box.mbox"),
                    str(tmp_path / "md"), str(tmp_path / "missing.eml"))
    assert result.exit_code == 1  # the missing path
    assert "missing.eml: no such file or directory" in result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary == {"received": 4, "tied": 2, "unrecognised": 1, "failed": 1}

    db = create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    with db.connect() as conn:
        rows = {r.recipient or "": r for r in conn.execute(select(received))}
    db.dispose()
    assert (rows["ann@dest.test"].tied_by, json.loads(rows["ann@dest.test"].rcpts)) == (
        "verp", [sent["ann@dest.test"]["envelope"]])
    assert rows["bob@dest.test"].tied_by == "header"
    assert rows["ann@dest.test"].source == "ingest"

    errs = jsonl(invoke(tmp_path, "errors", "--format", "jsonl"))
    assert sorted((e["recipient"], e["errortype"], e["reason"], e["tied"]) for e in errs) == [
        ("", "mailmessage", "", False), ("", "mailmessage", "vacation", False),
        ("ann@dest.test", "mailerror", "userunknown", True),
        ("bob@dest.test", "mailerror", "userunknown", True)]
    untied = jsonl(invoke(tmp_path, "errors", "--format", "jsonl", "--untied"))
    assert sorted(e["reported_recipient"] or "" for e in untied) == ["", "cy@dest.test"]
    only = jsonl(invoke(tmp_path, "errors", "--format", "jsonl", "--type", "mailerror",
                        "--recipient", "bob@dest.test"))
    assert [e["message_id"] for e in only] == [sent["bob@dest.test"]["id"]]
    assert jsonl(invoke(tmp_path, "errors", "--since", "2999-01-01")) == []
    assert len(jsonl(invoke(tmp_path, "errors", "--limit", "2"))) == 2

    evs = jsonl(invoke(tmp_path, "events", "--format", "jsonl"))
    assert sorted(e["type"] for e in evs) == ["bounce", "bounce", "bounce", "bounce",
                                              "failure", "failure"]
    assert len(jsonl(invoke(tmp_path, "events", "--format", "jsonl", "--untied"))) == 2
    assert all(e["message_id"] in ("", *(m["id"] for m in sent.values())) for e in evs)
    failures = jsonl(invoke(tmp_path, "events", "--type", "failure"))
    assert {f["recipient"] for f in failures} == {"ann@dest.test", "bob@dest.test"}

    table = invoke(tmp_path, "errors", "--format", "table")
    assert table.exit_code == 0 and "userunknown" in table.stdout
    rows_csv = list(csv.DictReader(io.StringIO(invoke(tmp_path, "events", "--format",
                                                      "csv").stdout)))
    assert len(rows_csv) == 6 and json.loads(rows_csv[0]["data"])["received"]


def test_ingest_twice_keeps_both_ties_both_and_counts_the_bounce_once(
        tmp_path: Path, sent: dict[str, dict[str, Any]]) -> None:
    # The same bytes again (as an MTA resends a bounce whose 250 it never saw): stored and
    # tied, but a duplicate of the first, with no error row or event of its own.
    eml = tmp_path / "one.eml"
    eml.write_bytes(bounces.exim("cy@dest.test", copy(sent["cy@dest.test"])))
    for _ in range(2):
        summary = json.loads(invoke(tmp_path, "ingest", str(eml)).stdout)
        assert summary == {"received": 1, "tied": 1, "unrecognised": 0, "failed": 0}
    assert len(jsonl(invoke(tmp_path, "errors"))) == 1
    assert sorted(e["type"] for e in jsonl(invoke(tmp_path, "events", "--format", "jsonl"))
                  ) == ["bounce", "failure"]
    db = create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    with db.connect() as conn:
        rows = conn.execute(select(received.c.id, received.c.status, received.c.message_id,
                                   received.c.error).order_by(received.c.id)).all()
    db.dispose()
    assert [r.status for r in rows] == ["processed", "duplicate"]
    assert rows[0].message_id == rows[1].message_id == sent["cy@dest.test"]["id"]
    assert rows[1].error == f"a copy of returned message {rows[0].id}, sent again"
    # Other bytes to the same message are a bounce of their own.
    eml.write_bytes(bounces.dsn("cy@dest.test", copy(sent["cy@dest.test"])))
    invoke(tmp_path, "ingest", str(eml))
    assert len(jsonl(invoke(tmp_path, "errors"))) == 2


def test_reprocess_updates_changed_rows_and_keeps_history(
        tmp_path: Path, sent: dict[str, dict[str, Any]]) -> None:
    eml = tmp_path / "one.eml"
    eml.write_bytes(bounces.dsn("ann@dest.test", copy(sent["ann@dest.test"])))
    invoke(tmp_path, "ingest", str(eml))
    db = create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    with db.begin() as conn:  # what an older parser had concluded
        conn.execute(update(errors).values(reason="undefined", hardbounce=False))
    db.dispose()
    result = invoke(tmp_path, "reprocess")
    assert json.loads(result.stdout) == {"processed": 1, "changed": 1}
    assert json.loads(invoke(tmp_path, "reprocess").stdout) == {"processed": 1, "changed": 0}
    assert json.loads(invoke(tmp_path, "reprocess", "--since", "2999-01-01").stdout) == {
        "processed": 0, "changed": 0}
    current = jsonl(invoke(tmp_path, "errors"))
    assert [(e["reason"], e["current"]) for e in current] == [("userunknown", True)]
    history = jsonl(invoke(tmp_path, "errors", "--history"))
    assert [(e["reason"], e["current"]) for e in history] == [("undefined", False),
                                                               ("userunknown", True)]
    assert [e["type"] for e in jsonl(invoke(tmp_path, "events"))] == [
        "bounce", "failure", "reclassified"]


@pytest.mark.parametrize(("args", "message"), [
    (("errors", "--since", "yesterday"), "not a date or date-time: 'yesterday'"),
    (("events", "--type", "nonsense"), "'nonsense' is not one of"),
    (("ingest",), "Missing argument 'PATHS...'"),
])
def test_bad_usage_is_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = invoke(tmp_path, *args)
    assert result.exit_code == 2 and message in result.stderr


def test_ingest_from_stdin(tmp_path: Path, sent: dict[str, dict[str, Any]]) -> None:
    raw = bounces.dsn("bob@dest.test", copy(sent["bob@dest.test"]))
    summary = json.loads(invoke(tmp_path, "ingest", "-", input=raw).stdout)
    assert summary == {"received": 1, "tied": 1, "unrecognised": 0, "failed": 0}
