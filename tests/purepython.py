"""Run test code where the parser is plain Python, not its compiled modules (bounceloop.native).

Compiled modules call one another directly in C: a test that replaces a module's function
with ``monkeypatch.setattr`` (to record what a step is given, or to make a step fail) changes
what Python code sees and nothing the compiled callers do. Such a test runs its code here:

    records = in_pure_python("result = ...")

``source`` runs in a new interpreter with ``BOUNCELOOP_NATIVE=0`` and must set ``result``,
which comes back pickled. Where nothing is compiled it runs the same way.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from bounceloop import native

ROOT = Path(__file__).resolve().parents[1]

_WRAPPER = """
import pickle, sys
from bounceloop import native
assert not native.active(), "compiled modules in use"
namespace = {}
exec(compile(sys.stdin.read(), "<pure python test code>", "exec"), namespace)
sys.stdout.buffer.write(pickle.dumps(namespace["result"]))
"""


def in_pure_python(source: str) -> Any:
    """The ``result`` that ``source`` sets, run with the package as plain Python."""
    env = {**os.environ, native.ENV: "0"}
    done = subprocess.run([sys.executable, "-c", _WRAPPER], input=textwrap.dedent(source).encode(),
                          capture_output=True, env=env, cwd=ROOT, check=False, timeout=240)
    if done.returncode != 0:
        raise AssertionError(f"pure-Python test code failed:\n{done.stderr.decode()[-3000:]}")
    return pickle.loads(done.stdout)
