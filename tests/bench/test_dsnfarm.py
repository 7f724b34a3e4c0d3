"""The DSN farm's committed samples agree with their labels (issue 18 item 3).

tests/data/dsnfarm/ holds bounces that real MTAs wrote (bench/dsnfarm/farm.py) and one
labels.jsonl, a line per failed recipient, whose labels came from the scenarios, not from a
parser. This checks, without the MTAs: every sample has labels and every label names a
sample; reasons are bounceloop's own, statuses are RFC 3463 codes; each labelled recipient
and the ``Status:`` field the label says the MTA wrote are in the sample (dma writes no
field: its label's is empty and its sample has none); a refined status (issue 18: a
generic field refined by the remote reply's code of the same class; no field counts as
``5.0.0``) is in the sample's text; ``hardbounce`` follows the reason; and each label's
half is the farm's split function of the file name. The checker is also shown a broken
copy, so it can fail.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from bounceloop.core.reasons import NOT_ERRORS, REASONS, is_hardbounce
from tests import scripts

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "dsnfarm"
STATUS = re.compile(r"[45]\.\d{1,3}\.\d{1,3}")
MTAS = {"postfix", "exim", "opensmtpd", "sendmail", "courier", "chasquid", "dma",
        "nullmailer"}
#: MTAs whose bounce has no ``Status:`` field (dma's is plain text).
NO_STATUS_FIELD = {"dma"}
#: The kinds of scenario each MTA plays (bench/dsnfarm/scenarios.py says why some cannot):
#: chasquid and dma have compiled-in queue lifetimes of hours and days (no expiry),
#: chasquid defers a missing domain and nullmailer looks up no MX (no dns), dma and
#: nullmailer cannot report a mix recipient by recipient.
KINDS = dict.fromkeys(MTAS, ("reply", "expiry", "dns", "mix")) | {
    "chasquid": ("reply", "mix"), "dma": ("reply", "dns"), "nullmailer": ("reply", "expiry")}


def _split() -> ModuleType:
    return scripts.load("bench/dsnfarm/split.py", "dsnfarm_split")


half = _split().half


def load(data: Path) -> list[dict[str, object]]:
    lines = (data / "labels.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def problems(data: Path, labels: list[dict[str, object]]) -> list[str]:
    """Every disagreement between the samples under ``data/eml`` and ``labels``."""
    found: list[str] = []
    samples = {path.name: path for path in (data / "eml").glob("*.eml")}
    by_file: dict[str, list[dict[str, object]]] = {}
    for row in labels:
        by_file.setdefault(str(row["file"]), []).append(row)
    found += [f"{name}: no labels" for name in sorted(set(samples) - set(by_file))]
    found += [f"{name}: labelled, no sample" for name in sorted(set(by_file) - set(samples))]
    for name, rows in sorted(by_file.items()):
        if name not in samples:
            continue
        text = samples[name].read_bytes().decode("latin-1")
        fields = set(re.findall(r"(?im)^Status:\s*([245]\.\d{1,3}\.\d{1,3})", text))
        if [row["index"] for row in rows] != list(range(1, len(rows) + 1)):
            found.append(f"{name}: indexes {[row['index'] for row in rows]}")
        for row in rows:
            where = f"{name} #{row['index']}"
            reason, status, field = str(row["reason"]), str(row["status"]), str(row["status_field"])
            code = str(row["replycode"])
            if reason not in REASONS or reason in NOT_ERRORS | {"onhold", "undefined"}:
                found.append(f"{where}: reason {reason!r} is not a failure reason of ours")
            fieldless = field == "" and row["source"] in NO_STATUS_FIELD
            # A bounce with no field carries only the code of the reply it quotes, if any.
            if not (STATUS.fullmatch(status) or (fieldless and status == "")) or not (
                    fieldless or STATUS.fullmatch(field)):
                found.append(f"{where}: status {status!r} / field {field!r} not RFC 3463")
                continue
            if code and not re.fullmatch(r"[45]\d\d", code):
                found.append(f"{where}: reply code {code!r}")
            if str(row["recipient"]).lower() not in text.lower():
                found.append(f"{where}: recipient {row['recipient']} not in the sample")
            if fieldless and fields:
                found.append(f"{where}: no field labelled, the sample has {sorted(fields)}")
            elif not fieldless and field not in fields:
                found.append(f"{where}: no Status: {field} in the sample ({sorted(fields)})")
            if fieldless:
                if status and status not in text:
                    found.append(f"{where}: status {status} is not a code in the sample")
            elif status != field and not (field.endswith(".0.0") and status[0] == field[0]
                                          and status in text):
                found.append(f"{where}: status {status} is neither the field {field} nor"
                             " its refinement by a code in the sample")
            if row["hardbounce"] != is_hardbounce(reason, code, status):
                found.append(f"{where}: hardbounce {row['hardbounce']} for {reason}")
            if row["expired"] and row["fate"] not in ("defer", "refused"):
                found.append(f"{where}: expired, but its fate is {row['fate']}")
            if row["half"] != half(name):
                found.append(f"{where}: half {row['half']}, the split says {half(name)}")
            if row["source"] not in MTAS or not str(name).startswith(f"{row['source']}-"):
                found.append(f"{where}: source {row['source']!r}")
    return found


pytestmark = pytest.mark.skipif(not (DATA / "labels.jsonl").exists(),
                                reason="no DSN farm samples")


def test_samples_and_labels_agree() -> None:
    assert problems(DATA, load(DATA)) == []


def test_every_mta_and_kind_is_there_and_both_halves_hold_some() -> None:
    labels = load(DATA)
    files = {str(row["file"]): row for row in labels}
    assert {str(row["source"]) for row in files.values()} == MTAS
    kinds = Counter((str(row["source"]), str(row["kind"])) for row in files.values())
    for mta in MTAS:
        for kind in KINDS[mta]:
            assert kinds[(mta, kind)] > 0, (mta, kind)
    halves = Counter(half(name) for name in files)
    assert min(halves.values()) > len(files) // 4, halves


def test_split_is_a_function_of_the_base_name() -> None:
    assert half("exim-rcpt-gmail-nosuchuser.eml") == half("exim-rcpt-gmail-nosuchuser.eml")
    assert {half(f"postfix-{n}.eml") for n in range(20)} == {"look", "score"}
    with pytest.raises(ValueError):
        half("eml/exim-rcpt-gmail-nosuchuser.eml")


def test_the_checker_finds_what_is_wrong(tmp_path: Path) -> None:
    labels = load(DATA)
    first = next(row for row in labels if row["fate"] == "reply"
                 and str(row["status_field"]) == str(row["status"]))
    name = str(first["file"])
    (tmp_path / "eml").mkdir()
    shutil.copy(DATA / "eml" / name, tmp_path / "eml" / name)
    shutil.copy(DATA / "eml" / name, tmp_path / "eml" / "orphan.eml")
    rows = [dict(row) for row in labels if row["file"] == name]
    assert problems(tmp_path, rows) == ["orphan.eml: no labels"]
    (tmp_path / "eml" / "orphan.eml").unlink()
    broken = {"recipient": "nobody@elsewhere.test", "reason": "mistyped", "status": "5.9",
              "half": "score" if first["half"] == "look" else "look"}
    for key, value in broken.items():
        row = {**rows[0], key: value}
        found = problems(tmp_path, [row, *rows[1:]])
        assert any(key in problem for problem in found), (key, found)
    refined = {**rows[0], "status": "5.1.999"}
    assert "neither the field" in problems(tmp_path, [refined, *rows[1:]])[0]
    ghost = {**rows[0], "file": "ghost.eml"}
    assert problems(tmp_path, [*rows, ghost]) == ["ghost.eml: labelled, no sample"]


def test_the_checker_knows_a_bounce_without_a_status_field(tmp_path: Path) -> None:
    labels = load(DATA)
    first = next(row for row in labels if row["source"] in NO_STATUS_FIELD)
    name = str(first["file"])
    (tmp_path / "eml").mkdir()
    shutil.copy(DATA / "eml" / name, tmp_path / "eml" / name)
    rows = [dict(row) for row in labels if row["file"] == name]
    assert problems(tmp_path, rows) == []
    claimed = {**rows[0], "status_field": "5.0.0"}
    assert "no Status: 5.0.0" in problems(tmp_path, [claimed, *rows[1:]])[0]
    elsewhere = {**rows[0], "source": "exim", "file": name}
    assert any("not RFC 3463" in problem
               for problem in problems(tmp_path, [elsewhere, *rows[1:]]))
