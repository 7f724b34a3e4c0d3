"""``bounceloop suppression``: manual entries with notes, the history, CSV export and
import (bad rows by line), the per-domain report, check and expire."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import insert

from bounceloop.cli import cli
from bounceloop.storage import suppressions
from bounceloop.storage.engine import create_engine, utcnow
from bounceloop.storage.tables import errors

pytestmark = pytest.mark.usefixtures("clean_environment")


def invoke(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args),
                              env={"BOUNCELOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"})


def jsonl(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_add_check_remove_with_notes_and_history(tmp_path: Path) -> None:
    assert invoke(tmp_path, "suppression", "check", "Jo@Dest.test").exit_code == 0
    added = invoke(tmp_path, "suppression", "add", "Jo@Dest.test", "--note", "asked",
                   "--days", "7")
    assert added.exit_code == 0 and "address jo@dest.test: suppressed until" in added.output
    checked = invoke(tmp_path, "suppression", "check", "jo@dest.test")
    assert checked.exit_code == 1
    assert "suppressed by address jo@dest.test (manual, 550 5.7.1" in checked.output
    again = invoke(tmp_path, "suppression", "add", "jo@dest.test", "--domain")
    assert again.exit_code == 1 and "not a domain" in again.output
    assert invoke(tmp_path, "suppression", "add", "dest.test", "--sender",
                  "news@sender.test").exit_code == 0
    assert invoke(tmp_path, "suppression", "check", "ann@dest.test").exit_code == 0
    assert invoke(tmp_path, "suppression", "check", "ann@dest.test", "--sender",
                  "news@sender.test").exit_code == 1
    listed = jsonl(invoke(tmp_path, "suppression", "list"))
    assert [(e["type"], e["value"], e["sender"], e["note"]) for e in listed] == [
        ("domain", "dest.test", "news@sender.test", ""), ("address", "jo@dest.test", "", "asked")]
    assert [e["value"] for e in jsonl(invoke(tmp_path, "suppression", "list", "--search",
                                             "JO@"))] == ["jo@dest.test"]
    assert invoke(tmp_path, "suppression", "remove", "jo@dest.test").exit_code == 2  # --note
    removed = invoke(tmp_path, "suppression", "remove", "jo@dest.test", "--note", "mistake")
    assert removed.exit_code == 0 and "removed (manual" in removed.output
    assert invoke(tmp_path, "suppression", "remove", "jo@dest.test", "--note",
                  "x").exit_code == 1
    assert invoke(tmp_path, "suppression", "check", "jo@dest.test").exit_code == 0
    shown = invoke(tmp_path, "suppression", "show", "jo@dest.test")
    assert "not on the list" in shown.output
    assert "remove manual (manual, cli) note: mistake" in shown.output
    log = jsonl(invoke(tmp_path, "suppression", "history", "jo@dest.test"))
    assert [(r["action"], r["note"], r["actor"]) for r in log] == [
        ("remove", "mistake", "cli"), ("add", "asked", "cli")]


def test_bad_input_is_refused(tmp_path: Path) -> None:
    for args, message in [
        (["add", "jo smith@dest.test"], "invalid local part"),
        (["add", "localhost"], "not a domain"),
        (["add", "jo@dest.test", "--expires", "2001-01-01"], "has passed"),
        (["add", "jo@dest.test", "--code", "250"], "4xx or 5xx"),
        (["add", "jo@dest.test", "--days", "1", "--expires", "2099-01-01"], "not both"),
        (["check", "nope"], "not an address"),
    ]:
        result = invoke(tmp_path, "suppression", *args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)


def test_export_then_import_elsewhere_round_trips(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    invoke(one, "suppression", "add", "jo@dest.test", "--note", "a, \"quoted\" note")
    invoke(one, "suppression", "add", "dead.test", "--days", "30", "--reason", "hostunknown")
    invoke(one, "suppression", "add", "ann@dest.test", "--sender", "news@sender.test")
    exported = invoke(one, "suppression", "export")
    assert exported.exit_code == 0 and "exported 3 entries" in exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(r["type"], r["value"], r["sender"], r["reason"]) for r in rows] == [
        ("address", "jo@dest.test", "", "manual"), ("domain", "dead.test", "", "hostunknown"),
        ("address", "ann@dest.test", "news@sender.test", "manual")]
    path = tmp_path / "list.csv"
    path.write_text(exported.stdout)
    imported = invoke(two, "suppression", "import", str(path))
    assert imported.exit_code == 0, imported.output
    assert "imported: 3 added, 0 changed, 0 unchanged, 0 bad" in imported.output
    again = invoke(two, "suppression", "import", str(path))
    assert "imported: 0 added, 0 changed, 3 unchanged, 0 bad" in again.output
    back = list(csv.DictReader(io.StringIO(invoke(two, "suppression", "export").stdout)))
    keep = ("type", "value", "sender", "reason", "code", "extended", "note", "expires_at")
    assert [{k: r[k] for k in keep} for r in back] == [{k: r[k] for k in keep} for r in rows]
    assert {r["source"] for r in back} == {"import"}


def test_import_lists_bad_rows_and_keeps_the_good(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("Email,Note\r\n"
                    "ok@dest.test,fine\r\n"           # 2
                    "broken,?\r\n"                    # 3
                    "two@dest.test\r\n"               # 4: a field short
                    ",empty\r\n"                      # 5
                    "\"multi\r\nline\"@x,bad\r\n"     # 6-7
                    "last@dest.test,\r\n")            # 8
    result = invoke(tmp_path, "suppression", "import", str(path), "--note", "from the CRM")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "line 3: not a domain: 'broken'", "line 4: not 2 fields, as the header has",
        "line 5: no value (address or domain)",
        "line 6: invalid local part: 'multi\\r\\nline@x'"]
    assert "2 added" in result.stdout
    listed = jsonl(invoke(tmp_path, "suppression", "list"))
    assert [(e["value"], e["note"], e["source"]) for e in listed] == [
        ("last@dest.test", "from the CRM", "import"), ("ok@dest.test", "fine", "import")]
    nohead = tmp_path / "nohead.csv"
    nohead.write_text("name,city\nJo,Delft\n")
    refused = invoke(tmp_path, "suppression", "import", str(nohead))
    assert refused.exit_code == 1 and "no value (or email, address, domain)" in refused.output


def test_domains_report_and_expire(tmp_path: Path) -> None:
    assert invoke(tmp_path, "db", "upgrade").exit_code == 0
    db = create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    now = utcnow()
    try:
        with db.begin() as conn:
            conn.execute(insert(errors), [{
                "timestamp": now - timedelta(days=d), "recipient": f"u{d}@big.test",
                "domain": "big.test", "code": "554", "extended": "5.7.1", "description": "x",
                "errortype": "mailerror", "step": 4, "state": "rcptto", "severity": "hard",
                "reason": reason, "hardbounce": False, "current": True}
                for d, reason in [(1, "blocked"), (2, "blocked"), (3, "userunknown"),
                                  (40, "blocked")]])
            suppressions.put(conn, suppressions.manual(
                "address", "old@dest.test", expires_at=now - timedelta(seconds=1)),
                source="manual", actor="test", now=now - timedelta(days=1))
    finally:
        db.dispose()
    rows = jsonl(invoke(tmp_path, "suppression", "domains"))
    assert [(r["domain"], r["reason"], r["count"]) for r in rows] == [("big.test", "blocked", 2)]
    assert [r["count"] for r in jsonl(invoke(tmp_path, "suppression", "domains", "--days",
                                             "60"))] == [3]
    assert jsonl(invoke(tmp_path, "suppression", "list")) == []
    assert len(jsonl(invoke(tmp_path, "suppression", "list", "--expired"))) == 1
    assert "expired 1 entries" in invoke(tmp_path, "suppression", "expire").output
    log = jsonl(invoke(tmp_path, "suppression", "history"))
    assert [(r["action"], r["actor"]) for r in log] == [("expire", "expiry"), ("add", "test")]


# Entries whose values begin with a character a spreadsheet would run, or with a quote
# before one (OWASP "CSV Injection", core.csvcell); "'plain" has no formula after its quote.
# Atext allows ' = + - (RFC 5322 3.2.3). EXPORTED is how the export must write them. (The
# import strips blanks around a value, so a tab or CR first would not come back.)
HOSTILE = [  # (value, sender, note, description)
    ("=1+2@dest.test", "", '=HYPERLINK("http://evil.test","x")', "@SUM(A1)"),
    ("-ann@dest.test", "+news@sender.test", "-- called", "+cmd"),
    ("'=odd@dest.test", "", "'@note", "'-x"),
    ("'plain@dest.test", "", "'quoted", "plain"),
]
EXPORTED = [
    ("'=1+2@dest.test", "", '\'=HYPERLINK("http://evil.test","x")', "'@SUM(A1)"),
    ("'-ann@dest.test", "'+news@sender.test", "'-- called", "'+cmd"),
    ("''=odd@dest.test", "", "''@note", "''-x"),
    ("'plain@dest.test", "", "'quoted", "plain"),
]
FIELDS = ("value", "sender", "note", "description")


def invoke_on(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"BOUNCELOOP_DATABASE_URL": url})


def test_csv_export_neutralises_formulas_and_import_undoes_it(database_url: str,
                                                              tmp_path: Path) -> None:
    for value, sender, note, description in HOSTILE:
        added = invoke_on(database_url, "suppression", "add", f"--sender={sender}",
                          f"--note={note}", f"--description={description}", "--", value)
        assert added.exit_code == 0, added.output
    entries = jsonl(invoke_on(database_url, "suppression", "list", "--format", "jsonl"))
    assert sorted(tuple(e[k] for k in FIELDS) for e in entries) == sorted(HOSTILE)

    exported = invoke_on(database_url, "suppression", "export")
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout, newline="")))
    assert sorted(tuple(r[k] for k in FIELDS) for r in rows) == sorted(EXPORTED)
    listed = list(csv.DictReader(io.StringIO(invoke_on(
        database_url, "suppression", "list", "--format", "csv").stdout, newline="")))
    assert sorted(r["value"] for r in listed) == sorted(e[0] for e in EXPORTED)
    history = list(csv.DictReader(io.StringIO(invoke_on(
        database_url, "suppression", "history", "--format", "csv").stdout, newline="")))
    assert sorted(r["note"] for r in history) == sorted(e[2] for e in EXPORTED)

    # Off the list, then back from the export: every value as it was.
    for value, sender, _, _ in HOSTILE:
        assert invoke_on(database_url, "suppression", "remove", f"--sender={sender}",
                         "--note", "round trip", "--", value).exit_code == 0
    path = tmp_path / "export.csv"
    path.write_text(exported.stdout, newline="")
    imported = invoke_on(database_url, "suppression", "import", str(path))
    assert imported.exit_code == 0, imported.output
    assert "imported: 4 added, 0 changed, 0 unchanged, 0 bad" in imported.stdout
    back = jsonl(invoke_on(database_url, "suppression", "list", "--format", "jsonl"))
    assert sorted(tuple(e[k] for k in FIELDS) for e in back) == sorted(HOSTILE)


@pytest.mark.parametrize(("cell", "imported"), [
    ("'+bob@dest.test", "+bob@dest.test"),    # a quote before a formula character: ours
    ("''-bob@dest.test", "'-bob@dest.test"),  # one quote off, as the export put one on
    ("'bob@dest.test", "'bob@dest.test"),     # a quote before anything else is the value's
    ("-bob@dest.test", "-bob@dest.test"),     # not quoted (another tool's list): as it is
])
def test_import_takes_one_quote_off_only_before_a_formula_character(
        database_url: str, tmp_path: Path, cell: str, imported: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text(f"email,note\r\n{cell},'=note\r\n")
    result = invoke_on(database_url, "suppression", "import", str(path))
    assert "imported: 1 added" in result.stdout, result.output
    [entry] = jsonl(invoke_on(database_url, "suppression", "list", "--format", "jsonl"))
    assert (entry["value"], entry["note"]) == (imported, "=note")
