"""ScriptedPeer plays broken SMTP dialogues that aiosmtplib must report, step by step."""

from __future__ import annotations

import asyncio
import time

import aiosmtplib
import pytest

from bounceloop.testing.peer import ScriptedPeer, Step

GREET: list[Step] = [("send", "220 peer.test ESMTP\r\n")]
EHLO: list[Step] = [("expect", "EHLO"), ("send", "250-peer.test\r\n250 8BITMIME\r\n")]
MAIL_OK: list[Step] = [("expect", "MAIL FROM"), ("send", "250 2.1.0 Ok\r\n")]


def client(peer: ScriptedPeer, timeout: float = 0.5) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(hostname=peer.host, port=peer.port, timeout=timeout,
                           start_tls=False, local_hostname="client.test")


async def test_multiline_554_greeting() -> None:
    async with ScriptedPeer([("send", "554-mx.example No service\r\n554 Go away\r\n")]) as peer:
        with pytest.raises(aiosmtplib.SMTPConnectResponseError) as refused:
            await client(peer).connect()
        assert (refused.value.code, refused.value.message) == (
            554, "mx.example No service\nGo away")
        assert len(peer.sessions) == 1


async def test_silent_greeting_times_out() -> None:
    async with ScriptedPeer([("stall", 5.0)]) as peer:
        started = time.monotonic()
        with pytest.raises(aiosmtplib.SMTPConnectTimeoutError, match="server ready"):
            await client(peer, timeout=0.2).connect()
        assert time.monotonic() - started < 1.0
    # close() ended the stall at once rather than waiting 5 s.
    assert time.monotonic() - started < 1.5


async def test_ehlo_refused() -> None:
    script: list[Step] = [*GREET, ("expect", "EHLO"), ("send", "554 5.7.1 No thanks\r\n"),
                          ("expect", "QUIT"), ("send", "221 Bye\r\n"), ("close",)]
    async with ScriptedPeer(script) as peer:
        conn = client(peer)
        await conn.connect()
        with pytest.raises(aiosmtplib.SMTPHeloError) as refused:
            await conn.ehlo()
        assert refused.value.code == 554
        await conn.quit()
    assert peer.received == ["EHLO client.test", "QUIT"]
    assert peer.errors == []
    assert peer.sessions[0].steps_done == len(script)


async def test_421_in_the_middle_of_a_transaction() -> None:
    script: list[Step] = [*GREET, *EHLO, *MAIL_OK, ("expect", "RCPT TO"),
                          ("send", "421 4.7.0 Too many connections, closing\r\n"), ("close",)]
    async with ScriptedPeer(script) as peer:
        conn = client(peer)
        await conn.connect()
        await conn.ehlo()
        await conn.mail("a@sender.example")
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await conn.rcpt("b@rcpt.example")
        assert refused.value.code == 421
        with pytest.raises(aiosmtplib.SMTPServerDisconnected):
            await conn.rcpt("c@rcpt.example")
    assert peer.received == ["EHLO client.test", "MAIL FROM:<a@sender.example>",
                             "RCPT TO:<b@rcpt.example>"]


async def test_close_mid_command() -> None:
    async with ScriptedPeer([*GREET, *EHLO, ("expect", "MAIL"), ("close",)]) as peer:
        conn = client(peer)
        await conn.connect()
        await conn.ehlo()
        with pytest.raises(aiosmtplib.SMTPServerDisconnected) as lost:
            await conn.mail("a@sender.example")
        assert lost.value.__cause__ is None  # a FIN, not a reset


async def test_reply_cut_short_then_close() -> None:
    async with ScriptedPeer([*GREET, *EHLO, ("expect", "MAIL"), ("send", "25"),
                             ("close",)]) as peer:
        conn = client(peer)
        await conn.connect()
        await conn.ehlo()
        with pytest.raises(aiosmtplib.SMTPServerDisconnected):
            await conn.mail("a@sender.example")


async def test_reset_mid_session() -> None:
    async with ScriptedPeer([*GREET, *EHLO, ("expect", "MAIL"), ("reset",)]) as peer:
        conn = client(peer)
        await conn.connect()
        await conn.ehlo()
        with pytest.raises(aiosmtplib.SMTPServerDisconnected) as lost:
            await conn.mail("a@sender.example")
        assert isinstance(lost.value.__cause__, ConnectionResetError)


async def test_garbage_reply() -> None:
    async with ScriptedPeer([*GREET, *EHLO, ("expect", "MAIL"),
                             ("garbage", b"\x00\xffnot smtp\r\n"), ("stall", 1.0)]) as peer:
        conn = client(peer)
        await conn.connect()
        await conn.ehlo()
        with pytest.raises(aiosmtplib.SMTPResponseException) as bad:
            await conn.mail("a@sender.example")
        assert bad.value.code == -1


async def test_stall_after_a_command_is_a_read_timeout() -> None:
    async with ScriptedPeer([*GREET, *EHLO, ("expect", "MAIL"), ("stall", 2.0)]) as peer:
        conn = client(peer, timeout=0.2)
        await conn.connect()
        await conn.ehlo()
        started = time.monotonic()
        with pytest.raises(aiosmtplib.SMTPReadTimeoutError):
            await conn.mail("a@sender.example")
        assert time.monotonic() - started < 0.8


async def test_full_transaction_records_the_content() -> None:
    script: list[Step] = [
        *GREET, *EHLO, *MAIL_OK,
        ("expect", "RCPT"), ("send", "250 2.1.5 Ok\r\n"),
        ("expect", "DATA"), ("send", "354 Go ahead\r\n"),
        ("expect_data",), ("send", "554 5.7.1 Content rejected\r\n"),
        ("expect", "QUIT"), ("send", "221 Bye\r\n"),
    ]
    async with ScriptedPeer(script) as peer:
        conn = client(peer)
        await conn.connect()
        await conn.ehlo()
        await conn.mail("a@sender.example")
        await conn.rcpt("b@rcpt.example")
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await conn.data(b"Subject: x\r\n\r\n.dot\r\n")
        assert refused.value.code == 554
        await conn.quit()
    [session] = peer.sessions
    assert session.data == [b"Subject: x\r\n\r\n..dot\r\n"]  # as sent: dot-stuffed
    assert session.errors == []
    assert session.client_closed is False


async def test_unexpected_command_is_recorded_and_ends_the_session() -> None:
    async with ScriptedPeer([*GREET, ("expect", "HELO"), ("send", "250 ok\r\n")]) as peer:
        conn = client(peer)
        await conn.connect()
        with pytest.raises(aiosmtplib.SMTPServerDisconnected):
            await conn.ehlo()
    assert peer.errors == ["step 1: expected 'HELO', got b'EHLO client.test'"]


async def test_each_connection_gets_its_script_the_last_repeats() -> None:
    refuse: list[Step] = [("send", "421 4.3.2 Try later\r\n"), ("close",)]
    serve: list[Step] = [*GREET, ("expect", "QUIT"), ("send", "221 Bye\r\n")]
    async with ScriptedPeer(refuse, serve) as peer:
        with pytest.raises(aiosmtplib.SMTPConnectResponseError) as first:
            await client(peer).connect()
        assert first.value.code == 421
        for _ in range(2):
            conn = client(peer)
            await conn.connect()
            await conn.quit()
    assert len(peer.sessions) == 3
    assert [s.received for s in peer.sessions] == [[], [b"QUIT"], [b"QUIT"]]


async def test_client_hanging_up_is_seen() -> None:
    async with ScriptedPeer([*GREET, ("expect", None)]) as peer:
        conn = client(peer)
        await conn.connect()
        conn.close()
        for _ in range(50):
            if peer.sessions[0].client_closed:
                break
            await asyncio.sleep(0.01)
        assert peer.sessions[0].client_closed


async def test_hold_keeps_reading_without_answering() -> None:
    async with ScriptedPeer(GREET, hold=True) as peer:
        reader, writer = await asyncio.open_connection(peer.host, peer.port)
        assert await reader.readline() == b"220 peer.test ESMTP\r\n"
        writer.write(b"EHLO a\r\nNOOP\r\n")
        await writer.drain()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.readline(), 0.2)
        assert peer.received == ["EHLO a", "NOOP"]
        writer.close()
        await writer.wait_closed()


@pytest.mark.parametrize("step", [("send",), ("wait", 1.0), ("close", 1), ()])
def test_bad_steps_are_refused(step: tuple[object, ...]) -> None:
    with pytest.raises(ValueError):
        ScriptedPeer([step])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        ScriptedPeer()
