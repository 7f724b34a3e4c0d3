#!/usr/bin/env python3
"""Compile the parser's modules with mypyc into src/bounceloop/_native (see bounceloop/native.py).

Run by scripts/setup; does nothing when the compiled modules are there and made from the
sources as they are (``--force`` compiles anyway). Needs mypy (mypyc), setuptools and a C
compiler with Python's headers (the ``native`` extra; Debian's gcc, packages/debian-base.txt).
Exit status 1 when they cannot be compiled: bounceloop then runs the parser as plain Python,
about a quarter slower (bench/parse.py).

What is compiled: every module of ``bounceloop.parsing`` and ``bounceloop.parsing.detectors``
and ``bounceloop.core.status``, except the packages' ``__init__`` (each puts its compiled
directory on its own ``__path__``), ``parsing/literals.py`` (run with ``python -m``, which
cannot run an extension module), ``parsing/checkpoint.py`` (it is there to be Python) and
the rule tables (``parsing/rules``: data, nothing to gain). One group: the modules call one
another in C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "bounceloop"
GROUP = "bounceloop._native"
#: Modules under parsing/ left as Python (see the docstring).
KEEP_PYTHON = {"__init__.py", "literals.py", "checkpoint.py"}


def modules() -> list[Path]:
    """The source files to compile, relative to SRC."""
    picked = [p for d in ("parsing", "parsing/detectors")
              for p in sorted((PACKAGE / d).glob("*.py")) if p.name not in KEEP_PYTHON]
    picked.append(PACKAGE / "core" / "status.py")
    return [p.relative_to(SRC) for p in picked]


def missing_tools() -> str:
    """What is missing to compile ("" if nothing)."""
    try:
        import mypyc  # noqa: F401
        import setuptools  # type: ignore[import-untyped]  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[native]')"
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        return f"no C compiler ({cc}; Debian: apt-get install gcc)"
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").exists():
        return f"no Python.h in {include} (Debian: apt-get install python3-dev)"
    return ""


def build(jobs: int) -> None:
    from mypyc.build import mypycify
    from setuptools import Distribution

    from bounceloop import native

    # The stamp is of the sources as they were when compiling began: one edited meanwhile
    # makes it stale, and the compiled modules go unused until the next build.
    stamp = native.stamp()
    (SRC.parent / "build").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="native-", dir=SRC.parent / "build"))
    cwd = os.getcwd()
    try:
        os.chdir(SRC)  # mypyc names the modules after their paths
        # mypy's cache in build/, not in src/ where the build runs.
        os.environ.setdefault("MYPY_CACHE_DIR", str(SRC.parent / "build" / "mypy-cache"))
        extensions = mypycify([str(p) for p in modules()], group_name=GROUP,
                              target_dir=str(work / "c"))
        dist = Distribution({"name": "bounceloop-native", "ext_modules": extensions})
        command = dist.get_command_obj("build_ext")
        command.build_lib = str(work / "lib")
        command.build_temp = str(work / "tmp")
        command.parallel = jobs
        dist.run_command("build_ext")
        # The old directory goes first and the stamp comes last: a build that fails from
        # here on leaves no stamp, and the package runs as Python.
        shutil.rmtree(native.DIR, ignore_errors=True)
        os.rename(work / "lib" / "bounceloop", native.DIR)
        Path(native.STAMP).write_bytes(stamp)
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="compile even when up to date")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="C compilations at once")
    args = parser.parse_args()
    sys.path.insert(0, str(SRC))  # this tree's package, for build() too
    from bounceloop import native

    if native.fresh() and not args.force:
        print("native: the compiled parser is up to date", file=sys.stderr)
        return 0
    problem = missing_tools()
    if problem:
        print(f"native: cannot compile the parser: {problem}; it runs as plain Python",
              file=sys.stderr)
        return 1
    t0 = time.monotonic()
    build(args.jobs)
    if not native.fresh():
        print("native: the sources changed while compiling; run scripts/native.py again",
              file=sys.stderr)
        return 1
    print(f"native: compiled {len(modules())} modules in {time.monotonic() - t0:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
