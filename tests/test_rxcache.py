"""The kept code of the parser's patterns (rxcache.py): written for every pattern the parser
compiles, read back into core/rx.py, and never in the way when missing or damaged."""

from __future__ import annotations

import marshal
import re
from pathlib import Path

import pytest

from bounceloop import rxcache
from bounceloop.core import rx


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("rx") / "table.marshal"
    return path, rxcache.write(path)


def test_written_table_holds_the_parsers_patterns(written: tuple[Path, int]) -> None:
    from bounceloop.parsing.detectors import _common

    path, count = written
    tag, table = marshal.loads(path.read_bytes())
    assert tag == rx.TAG
    assert len(table) == count > 300
    # Patterns of the modules (compiled at import) and phrases compiled at first use.
    assert (_common.ADDRESS.pattern, re.A) in table
    assert (_common.ANGLE_ADDRESS.pattern, 0) in table
    assert ("over ?quota", 0) in table
    # No literal phrase or rule: those are never compiled (searchers.searcher).
    assert ("spamhaus", 0) not in table


def test_every_written_pattern_is_re_compiles(written: tuple[Path, int]) -> None:
    _tag, table = marshal.loads(written[0].read_bytes())
    for (pattern, flags), code in table.items():
        assert rx._sre.compile(pattern, *code) == re.compile(pattern, flags), pattern


def test_install_hands_the_table_to_the_parser(written: tuple[Path, int],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rx, "_table", {})
    assert rxcache.install(written[0])
    _tag, table = marshal.loads(written[0].read_bytes())
    assert rx._table == table
    compiled: list[str] = []
    real = re.compile
    monkeypatch.setattr(rx.re, "compile",
                        lambda p, f=0: compiled.append(p) or real(p, f))
    for pattern, flags in list(table)[:50]:
        rx.compile(pattern, flags)
    assert compiled == []


@pytest.mark.parametrize("content", [b"", b"not marshal", marshal.dumps([1, 2, 3]),
                                     marshal.dumps(("cpython-399-1-2-3-4", {}))])
def test_unusable_file_installs_nothing(tmp_path: Path, content: bytes,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rx, "_table", {})
    path = tmp_path / "table.marshal"
    path.write_bytes(content)
    assert not rxcache.install(path)
    assert not rxcache.install(tmp_path / "missing.marshal")
    assert rx._table == {}
