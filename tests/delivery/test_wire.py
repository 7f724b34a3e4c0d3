"""delivery.wire: replies parsed as the bytes arrive, however the server's writes split them."""

from __future__ import annotations

import asyncio

import pytest

from bounceloop.delivery.wire import MAX_LINE, MAX_LINES, Garbage, Reply, Wire

# A pipelined group's replies (RFC 2920) as one server write: MAIL, two RCPTs, DATA.
GROUP = (b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550-5.1.1 No such user\r\n550 5.1.1 here\r\n"
         b"354 End data with <CR><LF>.<CR><LF>\r\n")
EXPECTED = [Reply(250, "2.1.0 Ok"), Reply(250, "2.1.5 Ok"),
            Reply(550, "5.1.1 No such user\n5.1.1 here"),
            Reply(354, "End data with <CR><LF>.<CR><LF>")]


async def _replies(chunks: list[bytes]) -> tuple[list[Reply], Exception | None]:
    wire = Wire()
    for chunk in chunks:
        wire.data_received(chunk)
    out = []
    try:
        while True:
            out.append(await wire.read(0.01))
    except (Garbage, TimeoutError) as exc:
        return out, exc if isinstance(exc, Garbage) else None


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16, len(GROUP)])
def test_replies_are_the_same_however_the_bytes_are_split(size: int) -> None:
    chunks = [GROUP[i:i + size] for i in range(0, len(GROUP), size)]
    assert asyncio.run(_replies(chunks)) == (EXPECTED, None)


def test_bare_lf_line_ends_and_a_code_alone_are_replies() -> None:
    assert asyncio.run(_replies([b"250\n221 2.0.0 Bye\n"])) == (
        [Reply(250, ""), Reply(221, "2.0.0 Bye")], None)


def test_what_is_not_a_reply_is_kept_as_the_reason_the_next_read_fails() -> None:
    replies, error = asyncio.run(_replies([b"250 Ok\r\nHTTP/1.1 400 Bad Request\r\n250 Ok\r\n"]))
    assert replies == [Reply(250, "Ok")]
    assert isinstance(error, Garbage) and "HTTP/1.1 400" in str(error)


def test_a_line_without_end_longer_than_the_limit_fails_before_it_ends() -> None:
    replies, error = asyncio.run(_replies([b"250 Ok\r\n250 ", b"x" * MAX_LINE]))
    assert replies == [Reply(250, "Ok")]
    assert isinstance(error, Garbage) and "longer than" in str(error)
    # Up to the limit it is still waited for.
    assert asyncio.run(_replies([b"250 " + b"x" * (MAX_LINE - 4)])) == ([], None)


def test_a_complete_line_longer_than_the_limit_fails() -> None:
    replies, error = asyncio.run(_replies([b"250 " + b"x" * MAX_LINE + b"\r\n"]))
    assert replies == [] and isinstance(error, Garbage)


def test_a_reply_of_too_many_lines_fails() -> None:
    many = b"250-x\r\n" * (MAX_LINES + 1) + b"250 end\r\n"
    replies, error = asyncio.run(_replies([many]))
    assert replies == [] and isinstance(error, Garbage) and "lines" in str(error)
    fits = b"250-x\r\n" * (MAX_LINES - 1) + b"250 end\r\n"
    replies, error = asyncio.run(_replies([fits]))
    assert error is None and len(replies) == 1 and replies[0].text.count("\n") == MAX_LINES - 1
