"""The service's log lines: JSON with bound fields, the text form, per-task binding."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bounceloop.observability import logs

log = logging.getLogger("bounceloop.test")


@pytest.fixture
def json_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logs.setup("json", "info", stream)
    yield stream
    logs.teardown(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_time_level_logger_msg_and_the_call_s_fields(
        json_stream: io.StringIO) -> None:
    log.info("deferred %s", "now", extra=logs.fields(
        message_id="abc", recipient="jo@x.test", code=None, when=datetime(2026, 1, 2, tzinfo=UTC)))
    [line] = lines(json_stream)
    assert line["msg"] == "deferred now" and line["level"] == "info"
    assert line["logger"] == "bounceloop.test"
    assert (line["message_id"], line["recipient"]) == ("abc", "jo@x.test")
    assert "code" not in line  # None is left out
    assert line["when"] == "2026-01-02 00:00:00+00:00"  # what JSON cannot hold: a string
    assert isinstance(line["time"], str) and line["time"].endswith("Z")


def test_debug_is_below_the_level_and_other_loggers_warnings_show(
        json_stream: io.StringIO) -> None:
    log.debug("not shown")
    logging.getLogger("somelib").info("not shown either")
    logging.getLogger("somelib").warning("shown")
    assert [line["msg"] for line in lines(json_stream)] == ["shown"]


def test_exceptions_are_one_line_with_the_traceback_inside(json_stream: io.StringIO) -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        log.exception("failed", extra=logs.fields(message_id="m1"))
    text = json_stream.getvalue()
    assert text.count("\n") == 1
    [line] = lines(json_stream)
    assert "ValueError: broken" in str(line["exc"]) and line["message_id"] == "m1"


async def test_bound_fields_stay_with_their_own_task(json_stream: io.StringIO) -> None:
    async def work(name: str) -> None:
        with logs.bind(round=name):
            await asyncio.sleep(0.01)
            log.info("step", extra=logs.fields(message_id=f"id-{name}"))

    with logs.bind(role="worker"):
        await asyncio.gather(work("a"), work("b"))
        log.info("after")
    found = {(line.get("round"), line.get("message_id"), line["role"])
             for line in lines(json_stream)}
    assert found == {("a", "id-a", "worker"), ("b", "id-b", "worker"), (None, None, "worker")}


def test_the_text_form_keeps_bounceloop_prefix_and_quotes_spaces() -> None:
    stream = io.StringIO()
    handler = logs.setup("text", "info", stream)
    try:
        with logs.bind(role="all"):
            log.info("failed", extra=logs.fields(recipient="jo@x.test", text="550 no such user",
                                                 empty=""))
    finally:
        logs.teardown(handler)
    assert stream.getvalue() == (
        'bounceloop: failed recipient=jo@x.test text="550 no such user" empty=""\n')


def test_setup_refuses_unknown_formats_and_levels_and_replaces_its_handler() -> None:
    with pytest.raises(ValueError, match="json"):
        logs.setup("xml")
    with pytest.raises(ValueError, match="warning"):
        logs.setup("json", "loud")
    first, second = io.StringIO(), io.StringIO()
    logs.setup("json", "info", first)
    handler = logs.setup("json", "info", second)
    try:
        log.info("once")
    finally:
        logs.teardown(handler)
    log.warning("after teardown")
    assert first.getvalue() == "" and second.getvalue().count("\n") == 1
