#!/usr/bin/env python3
"""Accuracy of ``bounceloop parse`` on corpora it was not written against (issue 18 item 5).

Reads ``../shared/corpus`` (the public corpora beside this repository; ``--shared`` names
another folder) and says so and exits 0 when it is absent. The test data's DSN farm
(tests/data/dsnfarm) is always there.

Each corpus other than Sisimai's is split into a ``look`` half, whose emails one may open
while writing rules, and a ``score`` half that is only ever scored, by the DSN farm's rule:
the first byte of the SHA-256 of the email's base name (``bench/dsnfarm/split.py``'s
``half()``, loaded from there, not copied). The farm's labels carry that half already.
Sisimai's corpus is scored whole, as before.

It runs the real command, ``bounceloop parse --format jsonl`` (this tree's ``src``), once a
corpus, and the corpora's own scorers (``shared/tools/score_recipients.py`` and
``score_bounces.py``) on each half, through labels and ``files.jsonl`` manifests filtered to
that half in a temporary folder. Per corpus and half it prints recipient recall and
precision (predictions on ``not-bounce`` emails count against precision), and the accuracy
of reason, status and hardbounce over the records where that field is labelled (the
corpora's ``views/<field>.jsonl``), the messages the parser could not parse (it must be
none), and the emitted recipients that are not valid bounded addresses (it must be none).

``--detail`` adds the scorer's misses and extras, for the ``look`` halves only: what a
``score`` half missed is never shown, so no rule is written against it.

    python3 bench/accuracy.py [--shared DIR] [--detail]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FARM = ROOT / "tests" / "data" / "dsnfarm"
SPLIT_CORPORA = ("bounceparser", "bounce_email", "misc")
FIELDS = ("reason", "status", "hardbounce")

Row = dict[str, Any]


def _half() -> Callable[[str], str]:
    """The DSN farm's split function (one definition, in bench/dsnfarm/split.py)."""
    path = ROOT / "bench" / "dsnfarm" / "split.py"
    spec = importlib.util.spec_from_file_location("dsnfarm_split", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    half: Callable[[str], str] = module.half
    return half


half = _half()


def load(path: Path) -> list[Row]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def dump(path: Path, rows: Iterable[Row]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def parse(emails: Path) -> tuple[list[Row], int]:
    """The records ``bounceloop parse --format jsonl`` prints for a folder, and its parse errors."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run([sys.executable, "-m", "bounceloop", "parse", "--format", "jsonl",
                           "--no-progress", str(emails)],
                          capture_output=True, text=True, env=env, check=False)
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return rows, done.stderr.count("cannot parse") + done.stderr.count("cannot read")


def valid(address: str) -> bool:
    """Could an emitted recipient be a mailbox at all? An outside check, not the parser's own:
    one @ splits a non-empty local part of at most 64 octets from a domain of at most 255,
    at most 254 octets in all (RFC 5321 4.5.3.1), no space or control character outside a
    quoted local part, and no angle brackets or route left on."""
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or len(local.encode()) > 64 or len(domain.encode()) > 255:
        return False
    if len(address.encode()) > 254:
        return False
    if any(c in "<>,;:@ " or ord(c) < 33 or ord(c) == 127 for c in domain):
        return False
    quoted = local.startswith('"') and local.endswith('"') and len(local) > 1
    return quoted or not any(c in '<>,;:@" ' or ord(c) < 33 or ord(c) == 127 for c in local)


def score(tools: Path, work: Path, corpus: Path, files: list[Row], labels: list[Row],
          views: dict[str, list[Row]], preds: list[Row], detail: bool) -> Row:
    """One half's figures from the shared scorers, given its emails, labels and predictions."""
    work.mkdir(parents=True)
    eml = work / "eml"
    eml.mkdir()
    for row in files:
        (eml / row["file"]).symlink_to(corpus / row["file"])
    manifest = dump(work / "files.jsonl", files)
    predictions = dump(work / "preds.jsonl", preds)
    out: Row = {"emails": len(files), "labels": len(labels)}
    summary = work / "recipients.json"
    done = subprocess.run([sys.executable, str(tools / "score_recipients.py"),
                           str(dump(work / "labels.jsonl", labels)), str(predictions),
                           "--files", str(manifest), "--json", str(summary)]
                          + ([] if detail else ["--quiet"]),
                          capture_output=True, text=True, check=True)
    if detail:
        out["detail"] = [line for line in done.stdout.splitlines()
                         if line.startswith(("missed", "extra"))]
    figures = json.loads(summary.read_text())
    out["recall"] = figures["recipient_recall"]
    out["precision"] = figures["recipient_precision"]
    for name, rows in views.items():
        if not rows:
            continue
        summary = work / f"{name}.json"
        subprocess.run([sys.executable, str(tools / "score_bounces.py"),
                        str(dump(work / f"view-{name}.jsonl", rows)), str(work), str(predictions),
                        "--quiet", "--json", str(summary)],
                       capture_output=True, text=True, check=True)
        out[name] = json.loads(summary.read_text())[f"{name}_accuracy"]
        out[f"{name}_n"] = len(rows)
    out["invalid"] = sum(1 for row in preds if row.get("recipient") and not valid(row["recipient"]))
    return out


def split_corpus(tools: Path, tmp: Path, folder: Path, detail: bool) -> list[tuple[str, Row]]:
    files = load(folder / "files.jsonl")
    labels = load(folder / "labels.jsonl")
    views = {name: load(folder / "views" / f"{name}.jsonl") for name in FIELDS}
    preds, errors = parse(folder / "eml")
    results = []
    for part in ("look", "score"):
        def mine(row: Row, part: str = part) -> bool:
            return half(os.path.basename(row["file"])) == part
        figures = score(tools, tmp / folder.name / part, folder / "eml",
                        [row for row in files if mine(row)], [row for row in labels if mine(row)],
                        {name: [row for row in rows if mine(row)] for name, rows in views.items()},
                        [row for row in preds if mine(row)], detail and part == "look")
        figures["errors"] = errors if part == "look" else 0  # the whole corpus's, shown once
        results.append((part, figures))
    return results


def farm(tools: Path, tmp: Path, detail: bool) -> list[tuple[str, Row]]:
    labels = load(FARM / "labels.jsonl")
    names = sorted(p.name for p in (FARM / "eml").glob("*.eml"))
    preds, errors = parse(FARM / "eml")
    results = []
    for part in ("look", "score"):
        rows = [row for row in labels if row["half"] == part]
        files = [{"file": name, "kind": "bounce"} for name in names if half(name) == part]
        figures = score(tools, tmp / "dsnfarm" / part, FARM / "eml", files, rows,
                        dict.fromkeys(FIELDS, rows),
                        [row for row in preds if half(os.path.basename(row["file"])) == part],
                        detail and part == "look")
        figures["errors"] = errors if part == "look" else 0
        results.append((part, figures))
    return results


def sisimai(tools: Path, tmp: Path, folder: Path) -> list[tuple[str, Row]]:
    labels = load(folder / "labels.jsonl")
    preds, errors = parse(folder / "eml")
    figures = score(tools, tmp / "sisimai", folder / "eml", load(folder / "files.jsonl"), labels,
                    dict.fromkeys(FIELDS, labels), preds, False)
    figures["errors"] = errors
    return [("whole", figures)]


def show(corpus: str, part: str, f: Row) -> None:
    def cell(name: str) -> str:
        if name not in f:
            return "-"
        return f"{f[name]:.3f}" + (f"/{f[name + '_n']}" if name + "_n" in f else "")
    print(f"{corpus:<13} {part:<6} {f['emails']:>6} {f['labels']:>6} {cell('recall'):>7} "
          f"{cell('precision'):>7} {cell('reason'):>9} {cell('status'):>9} {cell('hardbounce'):>9} "
          f"{f['errors']:>6} {f['invalid']:>7}")
    for line in f.get("detail", []):
        print(f"    {line}")


def _shared() -> Path:
    """../shared beside this checkout or, in a git worktree, beside the main checkout."""
    here = ROOT.parent / "shared"
    if here.exists():
        return here
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--path-format=absolute",
                           "--git-common-dir"], capture_output=True, text=True, check=False)
    common = Path(done.stdout.strip()) if done.returncode == 0 else ROOT / ".git"
    return common.parent.parent / "shared"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=_shared(),
                    help="the shared folder holding corpus/ and tools/ (default: ../shared "
                         "beside this checkout, or beside the main one for a git worktree)")
    ap.add_argument("--detail", action="store_true",
                    help="print the misses and extras of the look halves (never of a score half)")
    args = ap.parse_args()
    corpora, tools = args.shared / "corpus", args.shared / "tools"
    if not (tools / "score_recipients.py").exists():
        print(f"bench/accuracy.py reads {args.shared}/corpus and {args.shared}/tools: "
              "absent, nothing measured")
        return 0
    print(f"{'corpus':<13} {'half':<6} {'emails':>6} {'labels':>6} {'recall':>7} {'precis':>7} "
          f"{'reason/n':>9} {'status/n':>9} {'hard/n':>9} {'errors':>6} {'invalid':>7}")
    with tempfile.TemporaryDirectory(prefix="bounceloop-accuracy-") as name:
        tmp = Path(name)
        for corpus in SPLIT_CORPORA:
            if (corpora / corpus / "eml").is_dir():
                for part, figures in split_corpus(tools, tmp, corpora / corpus, args.detail):
                    show(corpus, part, figures)
            else:
                print(f"{corpus:<13} absent")
        if (corpora / "sisimai" / "eml").is_dir():
            for part, figures in sisimai(tools, tmp, corpora / "sisimai"):
                show("sisimai", part, figures)
        for part, figures in farm(tools, tmp, args.detail):
            show("dsnfarm", part, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
