"""parse(): the parser's entry point returns a result with an error, never raises."""

from __future__ import annotations

import pickle
from pathlib import Path

from bounceloop.parsing import Result, parse
from tests.purepython import in_pure_python

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "bounces" / "activehunter-01.eml"


def test_a_bug_in_a_step_is_reported_with_its_traceback() -> None:
    # A step that breaks (as a detector's bug on an odd message would): the traceback
    # module is imported on this path only, so the path is exercised here. The step is
    # replaced where the parser is plain Python (a compiled caller would not see it).
    records, error, subject = in_pure_python(f"""
        import importlib
        from pathlib import Path

        from bounceloop.parsing import parse

        parse_module = importlib.import_module("bounceloop.parsing.parse")

        def broken(facts, mail, name, convention):
            raise ValueError("a detector's bug")

        parse_module.finish_all = broken
        result = parse(Path({str(SAMPLE)!r}).read_bytes())
        result = (result.records, result.error, result.subject)
    """)
    assert records == ()
    assert error.startswith("parser error: ")
    assert "ValueError: a detector's bug" in error
    assert subject


def test_the_sample_parses_without_error() -> None:
    result = parse(SAMPLE.read_bytes())
    assert not result.error and result.records


def test_a_result_survives_pickling() -> None:
    # The parser processes of the service send their results back pickled.
    result = parse(SAMPLE.read_bytes())
    again = pickle.loads(pickle.dumps(result))
    assert again == result and again.records == result.records
    assert (again.subject, again.sender) == (result.subject, result.sender) != ("", "")
    failed = Result(error="parser error: x", subject="s")
    assert pickle.loads(pickle.dumps(failed)) == failed
