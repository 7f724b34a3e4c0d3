"""The benchmark acceptance figures, checked with the official scorer.

Reads ``../shared/corpus/sisimai`` and ``../shared/tools/score_bounces.py`` (not part of
this repository; the test skips when they are absent). It guards the figures issue 2 asks
for: reason >= 0.97, hardbounce >= 0.98, status_std >= 0.97, replycode >= 0.97, recipient
match >= 0.99, and no record for a message that is not a bounce.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bounceloop.parsing import parse
from bounceloop.sources import split_mbox

SHARED = Path(__file__).resolve().parents[3] / "shared"
CORPUS = SHARED / "corpus" / "sisimai"
SCORER = SHARED / "tools" / "score_bounces.py"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not (CORPUS.is_dir() and SCORER.is_file()),
                       reason="../shared/corpus/sisimai or its scorer is not present"),
]

THRESHOLDS = {
    "reason_accuracy": 0.97,
    "hardbounce_accuracy": 0.98,
    # Issue 18 makes a DSN's Status field the verdict (RFC 3464 2.3.4), where Sisimai's
    # labels take the remote reply's code: Sendmail's 4.4.7 on an expiry, a 4.5.0 field
    # beside a 550 reply. Four of the 358 labels differ by that convention alone.
    "status_std_accuracy": 0.97,
    "replycode_accuracy": 0.97,
    "recipient_match_accuracy": 0.99,
}


def test_corpus_scores(tmp_path: Path) -> None:
    preds = tmp_path / "preds.jsonl"
    with preds.open("w") as out:
        for path in sorted((CORPUS / "eml").iterdir()):
            # As `bounceloop parse` reads a file (the figures are its output's): an mbox
            # holds several messages (rfc3464-28.eml holds two, each with its label).
            for raw in split_mbox(path.read_bytes()):
                result = parse(raw)
                assert not result.error, (path.name, result.error)
                for record in result.records:
                    row = {"file": path.name, **record.as_dict()}
                    out.write(json.dumps(row) + "\n")
    summary = tmp_path / "summary.json"
    subprocess.run([sys.executable, str(SCORER), str(CORPUS / "labels.jsonl"), str(CORPUS),
                    str(preds), "--json", str(summary), "--quiet"], check=True,
                   capture_output=True)
    scores = json.loads(summary.read_text())
    low = {k: round(scores[k], 4) for k, floor in THRESHOLDS.items() if scores[k] < floor}
    assert not low, low
    assert scores["not_bounce_false_positives"] == 0
