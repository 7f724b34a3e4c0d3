"""``bounceloop parse``: inputs, formats, --all, --workers, errors and exit statuses."""

from __future__ import annotations

import csv
import io
import json
import mailbox
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bounceloop.cli import cli
from bounceloop.cli import parse as parse_module
from bounceloop.core.model import FIELDS

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "bounces"


def _dsn(rcpt: str, status: str = "5.1.1", text: str = "550 5.1.1 user unknown") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.net\nTo: s@example.org\nSubject: Delivery failure\n"
        "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
        "boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nFailed.\n\n--B\nContent-Type: "
        "message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
        f"Final-Recipient: rfc822; {rcpt}\nAction: failed\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {text}\n\n--B--\n"
    ).encode()


HAM = b"From: friend@example.org\nTo: me@example.com\nSubject: lunch\n\nTomorrow?\n"


def _run(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["parse", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def test_jsonl_has_model_fields_and_file(tmp_path: Path) -> None:
    path = tmp_path / "a.eml"
    path.write_bytes(_dsn("jane@example.com"))
    code, out, _ = _run("--format", "jsonl", str(path))
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert set(FIELDS) | {"file"} <= set(row)
    assert row["file"] == str(path)
    assert (row["recipient"], row["extended"], row["code"], row["reason"]) == (
        "jane@example.com", "5.1.1", "550", "userunknown")
    assert row["hardbounce"] is True and row["severity"] == "hard"
    assert row["state"] == "bounce" and row["kind"] == "failure"


def test_directory_is_recursive_and_sorted_and_skips_maildir_tmp(tmp_path: Path) -> None:
    md = mailbox.Maildir(tmp_path / "box", create=True)
    md.add(_dsn("b@example.com"))
    (tmp_path / "box" / "tmp" / "partial").write_bytes(_dsn("partial@example.com"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.eml").write_bytes(_dsn("a@example.com"))
    (tmp_path / "z.eml").write_bytes(_dsn("z@example.com"))
    code, out, _ = _run("--format", "jsonl", str(tmp_path))
    assert code == 0
    rcpts = [json.loads(line)["recipient"] for line in out.splitlines()]
    assert rcpts == ["b@example.com", "a@example.com", "z@example.com"]


def test_mbox_yields_every_message(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for rcpt in ("one@example.com", "two@example.com", "three@example.com"):
        box.add(_dsn(rcpt))
    box.close()
    code, out, _ = _run("--format", "jsonl", str(tmp_path / "bounces.mbox"))
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["recipient"] for r in rows] == ["one@example.com", "two@example.com",
                                              "three@example.com"]
    assert [r["message"] for r in rows] == [1, 2, 3]


def test_stdin() -> None:
    code, out, _ = _run("--format", "jsonl", "-", input=_dsn("in@example.com"))
    assert code == 0
    assert json.loads(out)["recipient"] == "in@example.com"
    assert json.loads(out)["file"] == "-"


def test_all_prints_unrecognized(tmp_path: Path) -> None:
    (tmp_path / "ham.eml").write_bytes(HAM)
    code, out, _ = _run("--format", "jsonl", str(tmp_path / "ham.eml"))
    assert (code, out) == (0, "")
    code, out, _ = _run("--format", "jsonl", "--all", str(tmp_path / "ham.eml"))
    row = json.loads(out)
    assert code == 0
    assert row["kind"] == "unrecognized"
    assert row["subject"] == "lunch"


def test_json_and_csv(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(_dsn("a@example.com"))
    (tmp_path / "b.eml").write_bytes(_dsn("b@example.com", "4.2.2", "452 4.2.2 mailbox full"))
    code, out, _ = _run("--format", "json", str(tmp_path))
    data = json.loads(out)
    assert code == 0 and [d["reason"] for d in data] == ["userunknown", "mailboxfull"]
    code, out, _ = _run("--format", "json", str(tmp_path / "nothing"))
    assert json.loads(out) == []
    code, out, _ = _run("--format", "csv", str(tmp_path))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["recipient"] for r in rows] == ["a@example.com", "b@example.com"]
    assert rows[1]["severity"] == "soft" and rows[1]["hardbounce"] == "false"


def test_csv_neutralises_formulas_and_jsonl_keeps_them(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The file name, the recipient, the diagnostic and a subject are someone else's text;
    # in CSV a cell that begins like a formula gets a quote (OWASP "CSV Injection").
    monkeypatch.chdir(tmp_path)
    Path("=cmd.eml").write_bytes(_dsn("-jane@example.com", text="@SUM(1+1) user unknown"))
    Path("+ham.eml").write_bytes(HAM.replace(b"lunch", b"=HYPERLINK(\"http://evil.test\")"))
    code, out, _ = _run("--format", "jsonl", "--all", "=cmd.eml", "+ham.eml")
    raw = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [(r["file"], r["recipient"], r["description"], r["subject"]) for r in raw] == [
        ("=cmd.eml", "-jane@example.com", "@SUM(1+1) user unknown", ""),
        ("+ham.eml", "", "not recognised as a bounce, complaint or auto-reply",
         '=HYPERLINK("http://evil.test")')]
    code, out, _ = _run("--format", "csv", "--all", "=cmd.eml", "+ham.eml")
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert code == 0
    assert [(r["file"], r["recipient"], r["description"], r["subject"]) for r in rows] == [
        ("'=cmd.eml", "'-jane@example.com", "'@SUM(1+1) user unknown", ""),
        ("'+ham.eml", "", "not recognised as a bounce, complaint or auto-reply",
         '\'=HYPERLINK("http://evil.test")')]


def test_table(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(_dsn("a@example.com"))
    code, out, _ = _run("--format", "table", str(tmp_path))
    assert code == 0
    assert "a@example.com" in out and "userunknown" in out
    # Piped (200 columns): the rule that decided the reason has a column (issue 18).
    assert "status:5.1.1" in out


def test_unreadable_inputs_are_named_and_the_run_goes_on(tmp_path: Path) -> None:
    good = tmp_path / "good.eml"
    good.write_bytes(_dsn("ok@example.com"))
    locked = tmp_path / "locked.eml"
    locked.write_bytes(_dsn("x@example.com"))
    locked.chmod(0)
    missing = tmp_path / "missing.eml"
    code, out, err = _run("--format", "jsonl", str(missing), str(locked), str(good))
    assert code == 1
    assert [json.loads(line)["recipient"] for line in out.splitlines()] == (
        ["ok@example.com"] if _unreadable(locked) else ["x@example.com", "ok@example.com"])
    assert f"{missing}: no such file or directory" in err
    if _unreadable(locked):
        assert f"cannot read {locked}" in err


def _unreadable(path: Path) -> bool:
    try:
        path.read_bytes()
    except OSError:
        return True
    return False  # running as root: permissions do not stop reads


def test_bad_usage_exits_2() -> None:
    assert _run()[0] == 2
    assert _run("--format", "xml", "x")[0] == 2
    assert _run("--workers", "0", "x")[0] == 2


@pytest.mark.parametrize(("fmt", "method"), [
    ("jsonl", "fork"), ("csv", "fork"), ("json", "fork"), ("jsonl", "spawn"),
])
def test_workers_give_the_same_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      fmt: str, method: str) -> None:
    # The workers get the jobs as the pool's initializer arguments (inherited when forked,
    # pickled when spawned) and send back each batch's rows joined (jsonl) or one by one.
    for i in range(40):
        status = ("5.1.1", "4.2.2", "5.7.1")[i % 3]
        (tmp_path / f"m{i:02}.eml").write_bytes(_dsn(f"r{i}@example.com", status,
                                                     f"550 {status} text {i}"))
    (tmp_path / "ham.eml").write_bytes(HAM)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: [method])
    one = _run("--format", fmt, "--all", str(tmp_path))
    two = _run("--format", fmt, "--all", "--workers", "3", str(tmp_path))
    assert one[0] == two[0] == 0
    assert one[1] == two[1]
    if fmt == "jsonl":
        assert len(one[1].splitlines()) == 41


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="no samples")
def test_console_script_end_to_end() -> None:
    exe = Path(sys.executable).with_name("bounceloop")
    done = subprocess.run([str(exe), "parse", "--format", "jsonl", str(SAMPLES)],
                          capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    expected = sum(len(json.loads(p.read_text())["records"]) for p in SAMPLES.glob("*.json"))
    assert len(rows) == expected
    missing = subprocess.run([str(exe), "parse", "/nonexistent/x.eml"], capture_output=True,
                             check=False)
    assert missing.returncode == 1
    assert b"/nonexistent/x.eml" in missing.stderr
    usage = subprocess.run([str(exe), "parse"], capture_output=True, check=False)
    assert usage.returncode == 2


def _on_terminal(args: list[str]) -> tuple[int, str]:
    """Run the console script with stdout and stderr on a pseudo-terminal."""
    import os
    import pty

    exe = Path(sys.executable).with_name("bounceloop")
    leader, follower = pty.openpty()
    proc = subprocess.Popen([str(exe), *args], stdout=follower, stderr=follower,
                            stdin=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "100"})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_terminal_defaults_to_table_progress_and_summary(tmp_path: Path) -> None:
    for i in range(30):
        (tmp_path / f"m{i:02}.eml").write_bytes(_dsn(f"r{i}@example.com"))
    (tmp_path / "ham.eml").write_bytes(HAM)
    code, screen = _on_terminal(["parse", str(tmp_path)])
    assert code == 0
    assert "recipient" in screen and "r0@example.com" in screen and "userunknown" in screen
    assert "parsing" in screen  # the progress bar
    assert "31 messages, 30 records, 1 not recognised" in screen


def test_pipe_gets_jsonl_and_no_progress(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(_dsn("a@example.com"))
    exe = Path(sys.executable).with_name("bounceloop")
    done = subprocess.run([str(exe), "parse", str(tmp_path)], capture_output=True, check=True)
    assert json.loads(done.stdout)["recipient"] == "a@example.com"
    assert done.stderr == b""


def test_a_worker_that_dies_is_reported(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker killed mid-run (here: it exits on its first batch, which holds m00.eml: the
    # pool is given the first ranges before the parent takes any) ends the run with status
    # 1 and each input it had named, not a hang.
    for i in range(40):
        (tmp_path / f"m{i:02}.eml").write_bytes(_dsn(f"r{i}@example.com"))
    real = parse_module.run_batch
    parent = os.getpid()

    def dying(jobs: list[parse_module.Job]) -> parse_module.Outcome:
        # The parent parses too (as one of the workers): only a worker process dies.
        if os.getpid() != parent:
            os._exit(3)
        return real(jobs)

    monkeypatch.setattr(parse_module, "run_batch", dying)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["fork"])
    code, out, err = _run("--format", "jsonl", "--workers", "2", str(tmp_path))
    assert code == 1
    written = [json.loads(line)["file"] for line in out.splitlines()]
    named = [line.split(": not parsed")[0].removeprefix("bounceloop: ")
             for line in err.splitlines() if "not parsed" in line]
    assert str(tmp_path / "m00.eml") in named
    # Every input is either written or named, each in order; the inputs after the range
    # the worker had are parsed by the parent.
    assert sorted(written + named) == sorted(str(p) for p in tmp_path.glob("*.eml"))
    assert written == sorted(written) and named == sorted(named)
    assert str(tmp_path / "m39.eml") in written
