"""``bounceloop select``: the spec's error selections over a CSV list the user brings.

A store with known errors, a list with every column kind and every kind of bad row; each
case is the command line and the addresses it must keep (in list order, all columns kept).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import insert

from bounceloop.cli import cli
from bounceloop.storage import messages as store
from bounceloop.storage import migrate, suppressions
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import errors

pytestmark = pytest.mark.usefixtures("clean_environment")

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def error(rcpt: str, day: int, code: str, extended: str, *, mailing: int, severity: str,
          errortype: str = "mailerror", current: bool = True) -> dict[str, Any]:
    return {"timestamp": T0 + timedelta(days=day), "message_id": None, "mailing_id": mailing,
            "recipient": rcpt, "domain": rcpt.rpartition("@")[2].lower(), "code": code or None,
            "extended": extended, "description": f"{code} {extended}", "errortype": errortype,
            "step": 5, "state": "bounce", "severity": severity, "reason": "x",
            "hardbounce": severity == "hard", "received_id": None, "current": current}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "b.db"
    db = create_engine(f"sqlite:///{path}")
    migrate.upgrade(db)
    with db.begin() as conn:
        m1, m2 = (store.create_mailing(conn, name=n, sender="news@sender.test", mime=b"x",
                                       tags=[], retry_schedule=None, max_delivery_time=None,
                                       now=T0) for n in ("one", "two"))
        assert (m1, m2) == (1, 2)
        conn.execute(insert(errors), [
            error("ann@x.test", 1, "550", "5.1.1", mailing=1, severity="hard"),
            error("ann@x.test", 10, "550", "5.1.1", mailing=1, severity="hard"),
            error("bob@x.test", 5, "452", "4.2.2", mailing=2, severity="soft"),
            # Stored as the bounce spelled it; the list has it in lower case.
            error("Cy@X.test", 20, "", "5.1.2", mailing=2, severity="hard",
                  errortype="nohost"),
            # Replaced by a reprocessing: history, not an error any more.
            error("di@x.test", 3, "550", "5.1.1", mailing=1, severity="hard", current=False),
        ])
        suppressions.put(conn, suppressions.manual("address", "eve@x.test"), source="manual",
                         actor="test", now=T0)
    db.dispose()
    return path


LIST = (
    b'Name,Email,City\r\n'                        # 1
    b'Ann,ann@x.test,"Amsterdam, NL"\r\n'         # 2
    b'Bob,bob@x.test,Utrecht\r\n'                 # 3
    b'Cy,cy@x.test,"Den\r\nHaag"\r\n'             # 4-5: a field over two lines
    b'Not one,not-an-address,Delft\r\n'           # 6
    b'Di,di@x.test,Leiden\r\n'                    # 7
    b'Short,fay@x.test\r\n'                       # 8
    b'\r\n'                                       # 9: blank, skipped
    b'Eve,eve@x.test,"Say ""hi"""\r\n'            # 10
    b'Nobody,,Zwolle\r\n'                         # 11
) + b'Gil,gil@x.test,K\xf6ln\r\n'       # 12: Latin-1, not UTF-8

BAD = ["line 6: not an address: 'not-an-address'",
       "line 8: 2 fields, the header has 3", "line 11: no address", "line 12: not UTF-8 text"]


def run(db_path: Path, tmp_path: Path, *args: str, data: bytes = LIST) -> Result:
    src = tmp_path / "in.csv"
    src.write_bytes(data)
    return CliRunner().invoke(cli, ["select", *args, str(src)],
                              env={"BOUNCELOOP_DATABASE_URL": f"sqlite:///{db_path}"})


def rows_of(result: Result) -> list[list[str]]:
    # stdout_bytes: click's Result.stdout turns every CRLF into LF, quoted ones too.
    return list(csv.reader(io.StringIO(result.stdout_bytes.decode(), newline="")))


def kept(result: Result) -> list[str]:
    rows = rows_of(result)
    assert rows[0] == ["Name", "Email", "City"]
    return [r[1] for r in rows[1:]]


CASES = [
    (["--no-errors"], ["di@x.test", "eve@x.test"]),
    (["--errors"], ["ann@x.test", "bob@x.test", "cy@x.test"]),
    (["--errors", "--count", ">1"], ["ann@x.test"]),
    (["--errors", "--count", "=1"], ["bob@x.test", "cy@x.test"]),
    (["--errors", "--count", "<2"], ["bob@x.test", "cy@x.test", "di@x.test", "eve@x.test"]),
    (["--no-errors", "--count", ">1"], ["bob@x.test", "cy@x.test", "di@x.test",
                                        "eve@x.test"]),
    (["--errors", "--final"], ["ann@x.test", "cy@x.test"]),
    (["--errors", "--temporary"], ["bob@x.test"]),
    (["--no-errors", "--final"], ["bob@x.test", "di@x.test", "eve@x.test"]),
    (["--errors", "--mailing", "1"], ["ann@x.test"]),
    (["--errors", "--errortype", "nohost"], ["cy@x.test"]),
    (["--errors", "--errortype", "nohost", "--errortype", "mailerror"],
     ["ann@x.test", "bob@x.test", "cy@x.test"]),
    (["--errors", "--code", "550"], ["ann@x.test"]),
    (["--errors", "--code", "4.2.2", "--code", "5.1.2"], ["bob@x.test", "cy@x.test"]),
    (["--errors", "--since", "2026-03-07"], ["ann@x.test", "cy@x.test"]),
    (["--errors", "--until", "2026-03-07"], ["ann@x.test", "bob@x.test"]),
    (["--errors", "--since", "2026-03-07", "--count", ">1"], []),
    (["--no-errors", "--not-suppressed"], ["di@x.test"]),
]


@pytest.mark.parametrize(("args", "expected"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_selection(db_path: Path, tmp_path: Path, args: list[str], expected: list[str]
                   ) -> None:
    result = run(db_path, tmp_path, *args)
    assert result.exit_code == 0, result.output
    assert kept(result) == expected
    lines = result.stderr.splitlines()
    assert lines[:-1] == BAD
    removed = 5 - len(expected)
    assert lines[-1].startswith(f"select: 9 rows read, {len(expected)} kept, {removed} "
                                f"removed")
    assert lines[-1].endswith(", 4 bad")


def test_every_column_is_kept_as_it_was(db_path: Path, tmp_path: Path) -> None:
    result = run(db_path, tmp_path, "--no-errors", "--count", ">5")
    rows = rows_of(result)
    assert rows == [["Name", "Email", "City"], ["Ann", "ann@x.test", "Amsterdam, NL"],
                    ["Bob", "bob@x.test", "Utrecht"], ["Cy", "cy@x.test", "Den\r\nHaag"],
                    ["Di", "di@x.test", "Leiden"], ["Eve", "eve@x.test", 'Say "hi"']]


def test_semicolons_no_header_and_a_named_column(db_path: Path, tmp_path: Path) -> None:
    semi = run(db_path, tmp_path, "--errors", data=b"naam;e-mail\nAnn;ann@x.test\nZo;zo@x.test\n")
    assert semi.stdout.splitlines() == ["naam;e-mail", "Ann;ann@x.test"]
    bare = run(db_path, tmp_path, "--no-errors", "--no-header", "--column", "2",
               data=b"Ann,ann@x.test\nZo,zo@x.test\n")
    assert bare.stdout.splitlines() == ["Zo,zo@x.test"]
    named = run(db_path, tmp_path, "--errors", "--column", "work",
                data=b"home,work\nzo@x.test,ann@x.test\n")
    assert named.stdout.splitlines() == ["home,work", "zo@x.test,ann@x.test"]


def test_rejects_file_keeps_the_bad_rows(db_path: Path, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    result = run(db_path, tmp_path, "--no-errors", "--rejects", str(rejects), "--strict")
    assert result.exit_code == 1
    with rejects.open(encoding="utf-8", errors="surrogateescape", newline="") as f:
        rows = list(csv.reader(f))
    assert [r[:2] for r in rows] == [["line", "error"], ["6", "not an address: "
                                                          "'not-an-address'"],
                                     ["8", "2 fields, the header has 3"],
                                     ["11", "no address"], ["12", "not UTF-8 text"]]
    assert rows[1][2:] == ["Not one", "not-an-address", "Delft"]


@pytest.mark.parametrize(("args", "data", "status", "message"), [
    ([], LIST, 2, "--errors or --no-errors"),
    (["--errors", "--count", "about 3"], LIST, 2, "like '>2'"),
    (["--errors", "--code", "55"], LIST, 2, "reply code (550)"),
    (["--errors", "--since", "yesterday"], LIST, 2, "not a date"),
    (["--errors", "--since", "2026-03-02", "--until", "2026-03-01"], LIST, 2,
     "since must be before until"),
    (["--errors"], b"name,city\nAnn,Delft\n", 1, "--column"),
    (["--errors", "--column", "mail"], b"name,email\n", 1, "no column 'mail'"),
    (["--errors"], b"", 1, "empty"),
])
def test_bad_requests_say_why(db_path: Path, tmp_path: Path, args: list[str], data: bytes,
                              status: int, message: str) -> None:
    result = run(db_path, tmp_path, *args, data=data)
    assert result.exit_code == status
    assert message in result.output


def test_a_missing_file(db_path: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["select", "--errors", str(tmp_path / "nope.csv")],
                                env={"BOUNCELOOP_DATABASE_URL": f"sqlite:///{db_path}"})
    assert result.exit_code == 1 and "cannot read" in result.output
