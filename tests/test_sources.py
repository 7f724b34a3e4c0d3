"""Inputs: files, directories, mboxes."""

from __future__ import annotations

from pathlib import Path

from bounceloop.sources import Item, SourceError, expand, load, split_mbox


def test_split_mbox_unquotes_from_lines_and_keeps_single_messages() -> None:
    box = (b"From a@example.org Mon Mar  4 10:00:00 2024\nSubject: one\n\n>From the start\n"
           b"\nFrom b@example.org Mon Mar  4 10:01:00 2024\nSubject: two\n\nbody\n")
    one, two = split_mbox(box)
    assert b"Subject: one" in one and b"\nFrom the start" in one
    assert two.startswith(b"From b@example.org") and b"Subject: two" in two
    eml = b"Subject: plain\n\nFrom here on it is body text.\n"
    assert split_mbox(eml) == [eml]
    # A "From " line in a body without a date is not an mbox separator.
    assert len(split_mbox(b"From x\n\nFrom y\n")) == 1


def test_expand_reports_missing_paths_in_place(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(b"x")
    got = list(expand([str(tmp_path / "nope"), str(tmp_path)]))
    assert isinstance(got[0], SourceError) and "no such file" in str(got[0])
    assert got[1] == Item(str(tmp_path / "a.eml"), str(tmp_path / "a.eml"))
    assert load(got[1]) == [b"x"]  # type: ignore[arg-type]
