"""bounceloop.native: the compiled parser is used only while it matches the sources, and it
gives what the plain-Python parser gives."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bounceloop import native
from tests.scripts import load

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "data" / "bounces"
BOUNCELOOP = str(Path(sys.executable).with_name("bounceloop"))


def _tree(root: Path) -> None:
    """A package tree with stamped sources and a compiled directory stamped for them."""
    for rel in ("parsing/__init__.py", "parsing/mime.py", "parsing/detectors/exim.py",
                "core/status.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"# {rel}\n")
    (root / "parsing" / "__pycache__").mkdir()
    (root / "parsing" / "__pycache__" / "x.py").write_text("not a source")
    (root / "_native").mkdir()
    (root / "_native" / "stamp").write_bytes(native.stamp(str(root)))


def test_a_stamp_made_from_the_sources_is_fresh(tmp_path: Path) -> None:
    _tree(tmp_path)
    assert native.fresh(str(tmp_path))
    assert set(native.sources(str(tmp_path))) == {
        os.path.join("parsing", "__init__.py"), os.path.join("parsing", "mime.py"),
        os.path.join("parsing", "detectors", "exim.py"), os.path.join("core", "status.py")}


@pytest.mark.parametrize("change", ["edited", "touched", "removed", "added", "added-deep"])
def test_any_change_to_the_sources_makes_it_stale(tmp_path: Path, change: str) -> None:
    _tree(tmp_path)
    mime = tmp_path / "parsing" / "mime.py"
    if change == "edited":
        mime.write_text("# parsing/mime.py, edited\n")
    elif change == "touched":
        st = mime.stat()
        os.utime(mime, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    elif change == "removed":
        mime.unlink()
    elif change == "added":
        (tmp_path / "core" / "new.py").write_text("")
    else:
        (tmp_path / "parsing" / "rules").mkdir()
        (tmp_path / "parsing" / "rules" / "table.py").write_text("")
    assert not native.fresh(str(tmp_path))


def test_no_stamp_a_broken_one_or_another_interpreters_is_not_fresh(tmp_path: Path) -> None:
    _tree(tmp_path)
    stamp = tmp_path / "_native" / "stamp"
    stamp.write_bytes(marshal.dumps(("cpython-39-linux", native.sources(str(tmp_path)))))
    assert not native.fresh(str(tmp_path))
    stamp.write_bytes(b"\x00garbage")
    assert not native.fresh(str(tmp_path))
    stamp.unlink()
    assert not native.fresh(str(tmp_path))


def test_the_search_path_puts_the_compiled_directory_first_only_when_in_use(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "parsing" / "detectors").mkdir(parents=True)
    monkeypatch.setattr(native, "DIR", str(tmp_path))
    path = ["/src/bounceloop/parsing"]
    monkeypatch.setattr(native, "_fresh", False)
    assert native.search_path("bounceloop.parsing", path) == path
    monkeypatch.setattr(native, "_fresh", True)
    assert native.search_path("bounceloop.parsing", path) == [str(tmp_path / "parsing"), *path]
    assert native.search_path("bounceloop.parsing.detectors", ["/d"]) == [
        str(tmp_path / "parsing" / "detectors"), "/d"]
    # No compiled modules of that package: its path as it is.
    assert native.search_path("bounceloop.core", ["/c"]) == ["/c"]
    # The package itself: the group's shared library, after the package's own directory.
    assert native.search_path("bounceloop", ["/b"]) == ["/b", str(tmp_path)]


def test_the_environment_can_ask_for_plain_python() -> None:
    code = "from bounceloop import native; print(native.active())"
    env = {**os.environ, native.ENV: "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def _build_script() -> object:
    return load("scripts/native.py", "native_build")


def test_what_is_compiled() -> None:
    names = {str(p) for p in _build_script().modules()}  # type: ignore[attr-defined]
    parsing = ROOT / "src" / "bounceloop" / "parsing"
    expected = {f"bounceloop/parsing/{p.name}" for p in parsing.glob("*.py")}
    expected |= {f"bounceloop/parsing/detectors/{p.name}"
                 for p in (parsing / "detectors").glob("*.py")}
    # The packages' __init__ stay Python (each puts its compiled directory on its own
    # __path__), and so do literals.py (`python -m` cannot run an extension module) and
    # checkpoint.py (where the compiled parser lets Python run a signal handler).
    expected -= {"bounceloop/parsing/__init__.py", "bounceloop/parsing/detectors/__init__.py",
                 "bounceloop/parsing/literals.py", "bounceloop/parsing/checkpoint.py"}
    assert names == expected | {"bounceloop/core/status.py"}


# Where scripts/setup compiled the parser (scripts/native.py), and the sources are as they were
# then: the installed package must use it, and give what plain Python gives.
built = pytest.mark.skipif(not native.fresh(),
                           reason="no compiled parser for these sources (scripts/native.py)")


@built
def test_the_parser_modules_are_loaded_compiled() -> None:
    # Loaded from an extension module, or not.
    code = ("import importlib, importlib.machinery, sys\n"
            "suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)\n"
            "for name in sys.argv[1:]:\n"
            "    print(name, importlib.import_module(name).__file__.endswith(suffixes))")
    names = ["bounceloop.parsing.mime", "bounceloop.parsing.classify",
             "bounceloop.parsing.detectors.postfix", "bounceloop.core.status",
             "bounceloop.parsing.literals", "bounceloop.core.model"]
    env = {k: v for k, v in os.environ.items() if k != native.ENV}
    out = subprocess.run([sys.executable, "-c", code, *names], env=env, capture_output=True,
                         text=True, check=True).stdout.split("\n")
    assert out[:6] == [
        "bounceloop.parsing.mime True", "bounceloop.parsing.classify True",
        "bounceloop.parsing.detectors.postfix True", "bounceloop.core.status True",
        "bounceloop.parsing.literals False", "bounceloop.core.model False"]


@built
def test_compiled_and_plain_python_give_the_same_records() -> None:
    def run(native_setting: str) -> bytes:
        env = {**os.environ, native.ENV: native_setting}
        done = subprocess.run([BOUNCELOOP, "parse", "--format", "jsonl", "--all", str(SAMPLES)],
                              env=env, capture_output=True, check=False)
        assert done.returncode in (0, 1), done.stderr[-2000:]
        return done.stdout + done.stderr

    compiled = run("1")
    assert compiled.count(b"\n") > 400
    assert compiled == run("0")
