"""The ``bounceloop`` group: commands imported when they run, the list printed from a table.

Start-up time itself is measured in bench/ (hyperfine or bench/parse.py); these tests pin
what a command imports, so a module-level import of the database or the web framework in
the wrong place cannot slow ``parse`` down again unnoticed.
"""

from __future__ import annotations

import gc
import importlib
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from bounceloop.cli.main import COMMANDS, cli, loading
from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine

EXE = Path(sys.executable).with_name("bounceloop")
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "bounces" / "postfix-01.eml"
CLI_DIR = Path(__file__).resolve().parents[2] / "src" / "bounceloop" / "cli"
#: What a parser run has no use for: the database, the web stack, the SMTP server.
SERVICE_PACKAGES = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "aiosmtpd")


def _imported(*args: str, env: dict[str, str] | None = None,
              ) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the console script as a user does; the modules it imported (``-X importtime``
    writes one line per module to stderr, forked workers included)."""
    done = subprocess.run([str(EXE), *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {}), "PYTHONPROFILEIMPORTTIME": "1"})
    modules = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    assert modules, done.stderr
    return done, modules


def _tops(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_table_help_is_the_commands_docstring(name: str) -> None:
    entry = COMMANDS[name]
    command = getattr(importlib.import_module(entry.module), entry.attr)
    assert isinstance(command, click.Command)
    assert command.name == name
    # The sentence click's own listing would take from the docstring, unshortened.
    assert command.get_short_help_str(limit=10_000) == entry.help
    assert cli.get_command(click.Context(cli), name) is command


def test_every_command_module_command_is_in_the_table() -> None:
    """A command added to a module of cli/ but not to the table would be unreachable."""
    commands: dict[int, str] = {}
    children: set[int] = set()
    for path in sorted(CLI_DIR.glob("*.py")):
        module = importlib.import_module(f"bounceloop.cli.{path.stem}")
        for attr, value in vars(module).items():
            if (isinstance(value, click.Command)
                    and getattr(value.callback, "__module__", "") == module.__name__):
                commands[id(value)] = f"{module.__name__}:{attr}"
                if isinstance(value, click.Group):
                    children |= {id(c) for c in value.commands.values()}
    commands.pop(id(cli))
    top = {where for key, where in commands.items() if key not in children}
    assert top == {f"{e.module}:{e.attr}" for e in COMMANDS.values()}


def test_help_lists_every_command_without_importing_any() -> None:
    done, modules = _imported("--help")
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split("Commands:", 1)[1]
    for name, entry in COMMANDS.items():
        line = next(li for li in listed.splitlines() if li.split()[:1] == [name])
        shown = line.split(None, 1)[1].removesuffix("...")
        assert entry.help.startswith(shown)
    assert not {e.module for e in COMMANDS.values()} & modules
    assert "bounceloop.parsing" not in modules
    assert not _tops(modules) & {*SERVICE_PACKAGES, "pydantic", "rich"}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_parse_imports_no_database_web_or_smtp_code(workers: str) -> None:
    done, modules = _imported("parse", "--format", "jsonl", "--workers", workers,
                              str(SAMPLE), str(SAMPLE))
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert rows and all('"reason": ' in row for row in rows)
    assert "bounceloop.parsing" in modules
    assert not _tops(modules) & set(SERVICE_PACKAGES)
    assert not {e.module for e in COMMANDS.values() if e.attr != "parse_command"} & modules


def test_parse_imports_no_network_or_path_modules() -> None:
    # email.utils (for odd dates and SES's JSON dates) and pathlib pull in socket,
    # urllib.parse and ipaddress: ~10 ms of the start of every run, of no use to it. All
    # our samples, so that odd dates and an SES notification are among them.
    done, modules = _imported("parse", "--format", "jsonl", str(SAMPLE.parent))
    assert done.returncode == 0, done.stderr
    assert "bounceloop.parsing.detectors.amazonses" in modules
    assert not modules & {"email.utils", "socket", "urllib.parse", "ipaddress", "pathlib"}
    # Nor what only a parser error (traceback, with textwrap) or csv output needs: ~1.5 ms.
    assert not modules & {"traceback", "textwrap", "csv"}


def test_send_help_imports_no_database_web_or_smtp_code() -> None:
    done, modules = _imported("send", "--help")
    assert done.returncode == 0 and "--recipients" in done.stdout
    assert not _tops(modules) & {*SERVICE_PACKAGES, "pydantic"}


def test_send_imports_no_web_or_smtp_server(tmp_path: Path) -> None:
    # Sending needs the database and the delivery engine, not the service's web and SMTP
    # servers (bounceloop.service imports those in serve()).
    done, modules = _imported("send", "--from", "a@example.org", "--mime",
                              str(tmp_path / "missing.eml"), "--recipients",
                              str(tmp_path / "missing.csv"))
    assert done.returncode == 1 and "missing.eml" in done.stderr
    assert "bounceloop.service" in modules
    assert not _tops(modules) & {"fastapi", "starlette", "aiosmtpd"}


def test_commands_on_a_database_at_head_import_no_alembic_or_web_server(
        tmp_path: Path) -> None:
    """A database at head needs no migration tool (storage.migrate reads its version
    itself), and only serve needs the HTTP server; errors does not deliver either."""
    url = f"sqlite:///{tmp_path / 'head.db'}"
    db = create_engine(url)
    migrate.upgrade(db)
    db.dispose()
    (tmp_path / "m.eml").write_bytes(b"From: a@example.org\nSubject: x\n\nhi\n")
    (tmp_path / "list.csv").write_text("email\nr1@d0.test\n")
    env = {"BOUNCELOOP_DATABASE_URL": url, "BOUNCELOOP_SPOOL_DIR": str(tmp_path / "spool")}
    done, sent = _imported("send", "--from", "a@example.org", "--mime", str(tmp_path / "m.eml"),
                           "--recipients", str(tmp_path / "list.csv"), env=env)
    assert done.returncode == 0 and '"status": "queued"' in done.stdout, done.stderr
    assert {"bounceloop.delivery.engine", "sqlalchemy"} <= sent
    # The bounce parser's classifier is loaded by the first failure that needs it.
    assert "bounceloop.parsing" not in sent
    done, listed = _imported("errors", env=env)
    assert done.returncode == 0, done.stderr
    assert "sqlalchemy" in listed
    assert not _tops(sent | listed) & {"alembic", "uvicorn"}
    assert not {m for m in listed if m.startswith("bounceloop.delivery")}


def test_loading_turns_the_collector_off_then_back_as_it_was() -> None:
    assert gc.isenabled()
    try:
        with loading():
            assert not gc.isenabled()
            made = [[n] for n in range(1000)]
        assert gc.isenabled() and gc.get_freeze_count() >= len(made)
        gc.disable()
        with loading():
            pass
        assert not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


_SEND_THEN_GC = """
import gc, sys
from bounceloop.cli.main import cli
try:
    cli(["send", "--from", "a@example.org", "--mime", sys.argv[1], "--recipients", sys.argv[1]])
except SystemExit as exc:
    print(exc.code, gc.isenabled(), gc.get_freeze_count())
"""


def test_send_collects_garbage_after_its_imports(tmp_path: Path) -> None:
    """send imports under loading(): the collector runs again for the delivery, and the
    modules' objects are frozen out of it."""
    done = subprocess.run([sys.executable, "-c", _SEND_THEN_GC, str(tmp_path / "missing")],
                          capture_output=True, text=True, check=True)
    code, enabled, frozen = done.stdout.split()
    assert (code, enabled) == ("1", "True")
    assert int(frozen) > 10_000  # SQLAlchemy, pydantic and the engine's modules (~100,000)


_PARSE_THEN_GC = """
import gc, sys
from bounceloop.cli.main import cli
try:
    cli(["parse", "--format", "jsonl", sys.argv[1]])
except SystemExit as exc:
    print(exc.code, gc.isenabled(), gc.get_freeze_count(), file=sys.stderr)
"""


def test_every_command_is_imported_under_loading() -> None:
    """The group imports a command's module (and, for parse, the parser) under loading():
    the collector is back on for the parsing, and what the imports made is frozen."""
    done = subprocess.run([sys.executable, "-c", _PARSE_THEN_GC, str(SAMPLE)],
                          capture_output=True, text=True, check=True)
    assert '"recipient"' in done.stdout
    code, enabled, frozen = done.stderr.split()
    assert (code, enabled) == ("0", "True")
    assert int(frozen) > 10_000  # click, the parser's modules and patterns


@pytest.mark.parametrize(("setting", "parser"), [("0", "plain Python"), ("1", None)])
def test_version_says_which_parser_runs(setting: str, parser: str | None) -> None:
    from bounceloop import native

    env = {**os.environ, native.ENV: setting}
    out = subprocess.run([str(EXE), "--version"], env=env, capture_output=True, text=True,
                         check=True).stdout
    expected = parser or ("compiled (mypyc)" if native.fresh() else "plain Python")
    assert out.strip().endswith(f"(parser: {expected})")
