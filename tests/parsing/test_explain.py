"""The decision path (parsing/explain.py, ``bounceloop explain``): it runs the parser's own
steps, so it tells the same story as ``parse``, with the steps and alternatives shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from bounceloop.parsing.explain import explain, render
from bounceloop.parsing.parse import parse

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = sorted((DATA / "bounces").glob("*.eml"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_the_same_records_as_parse(path: Path) -> None:
    raw = path.read_bytes()
    e = explain(raw)
    result = parse(raw)
    assert not e.error
    assert tuple(p.record for p in e.paths) == result.records
    assert e.detector == result.detector
    if result.records:
        # The detectors were tried in order, and the last one tried read the message.
        assert e.tried[-1].detector == result.detector and e.tried[-1].facts
        assert not any(t.facts for t in e.tried[:-1])
        for p in e.paths:
            assert p.steps[-1] == f"decided: {p.record.reason} by {p.record.rule}"


def test_a_filter_after_data() -> None:
    e = explain((DATA / "bounces" / "surfcontrol-01.eml").read_bytes())
    (p,) = e.paths
    assert "probe filtered: phrase:userunknown" in p.steps
    # The same phrase reads as an unknown user elsewhere: an alternative considered.
    assert [(a.reason, a.rule) for a in p.alternatives] == [
        ("userunknown", "phrase:userunknown/no-such-user")]
    assert p.stated_status == "5.0.0"
    text = render("surfcontrol-01.eml", e)
    assert "read by: surfcontrol" in text
    assert "rule phrase:userunknown/no-such-user, matched 'no such user'" in text


def test_an_expiry_shows_its_cause() -> None:
    e = explain((DATA / "dsnfarm" / "eml" / "exim-expire-postgrey.eml").read_bytes())
    (p,) = e.paths
    assert p.record.expired and p.record.reason == "blocked"
    assert any(s.startswith("expiry: expiry:retry-timeout-exceeded") for s in p.steps)
    assert ("expired", "phrase:expired/retry-time-exceeded", "retry timeout exceeded") in [
        (a.reason, a.rule, a.matched) for a in p.alternatives]
    # Exim's Status: 5.0.0 is the verdict (RFC 3464 2.3.4); the reason is read from the
    # cause, the reply's own 4.2.0.
    assert (p.record.extended, p.record.code) == ("5.0.0", "450")
    assert p.status_source == "the report's status field (as the detector read it)"
    assert ("the reason is read from the cause 4.2.0 (the reply's own code), not the "
            "verdict 5.0.0") in p.steps


def test_a_message_no_detector_reads() -> None:
    e = explain(b"From: someone@example.org\r\nSubject: hello\r\n\r\njust a note\r\n")
    assert (e.paths, e.detector, e.error) == ([], "", "")
    assert all(not t.facts for t in e.tried)
    assert "no records" in render("note.eml", e)


def test_a_reason_read_in_the_html_alternative() -> None:
    """finish reads a stub notification's HTML alternative when the plain text decides
    nothing (issue 18); explain shows that step and the decision it led to."""
    from tests.parsing.test_finish import _alternative_report

    html = "<p>The recipient&#39;s mailbox is full and can&#39;t accept messages now.</p>"
    e = explain(_alternative_report(
        "Your message could not be delivered to someone@example.com.", html))
    (p,) = e.paths
    assert (p.record.reason, p.record.rule) == ("mailboxfull", "phrase:mailboxfull/mailbox-full")
    assert ("the plain notification decided nothing: its HTML alternative is read as "
            "notification text") in p.steps
    assert p.steps[-1] == "decided: mailboxfull by phrase:mailboxfull/mailbox-full"
