"""FakeMX, driven step by step by aiosmtplib: it accepts, records, and fails as scripted."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator

import aiosmtplib
import pytest
from aiosmtpd.smtp import TLSSetupException

from bounceloop.testing.mx import FakeMX, rcpt_reply_for
from bounceloop.testing.ports import free_port
from bounceloop.testing.tls import tls_contexts

MESSAGE = b"From: a@sender.example\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n"


def client(mx: FakeMX, *, timeout: float = 1.0,
           tls: ssl.SSLContext | None = None) -> aiosmtplib.SMTP:
    # start_tls=False: aiosmtplib would otherwise STARTTLS on its own inside connect().
    return aiosmtplib.SMTP(hostname=mx.host, port=mx.port, timeout=timeout, start_tls=False,
                           local_hostname="client.test", tls_context=tls)


@pytest.fixture
async def mx() -> AsyncIterator[FakeMX]:
    async with FakeMX() as server:
        yield server


@pytest.fixture
async def smtp(mx: FakeMX) -> AsyncIterator[aiosmtplib.SMTP]:
    conn = client(mx)
    await conn.connect()
    await conn.ehlo()
    yield conn
    conn.close()


async def test_greets_and_advertises_extensions(mx: FakeMX) -> None:
    conn = client(mx)
    greeting = await conn.connect()
    assert (greeting.code, greeting.message) == (220, "mx.test ESMTP FakeMX")
    await conn.ehlo()
    for extension in ("size", "8bitmime", "enhancedstatuscodes", "pipelining", "dsn"):
        assert conn.supports_extension(extension), extension
    assert not conn.supports_extension("starttls")
    assert not conn.supports_extension("auth")
    assert conn.esmtp_extensions["size"] == str(2**25)
    await conn.quit()
    assert mx.commands == [(1, "EHLO client.test"), (1, "QUIT")]


async def test_help_still_lists_the_wrapped_commands(mx: FakeMX,
                                                    smtp: aiosmtplib.SMTP) -> None:
    reply = await smtp.execute_command(b"HELP")
    assert reply.code == 250
    for command in ("DATA", "EHLO", "HELO", "MAIL", "RCPT", "RSET", "QUIT"):
        assert command in reply.message.split(), command
    assert "STARTTLS" not in reply.message  # no tls_context
    reply = await smtp.execute_command(b"HELP", b"MAIL")
    assert reply.message == "Syntax: MAIL FROM: <address> [SP <mail-parameters>]"


async def test_records_envelope_params_data_and_peer(mx: FakeMX,
                                                     smtp: aiosmtplib.SMTP) -> None:
    reply = await smtp.mail("bounce+Tok3n@sender.example",
                            options=["RET=HDRS", "ENVID=Ab+2Bc", "SIZE=70", "BODY=8BITMIME"])
    assert (reply.code, reply.message) == (250, "2.1.0 Sender OK")
    reply = await smtp.rcpt("Bob@rcpt.example",
                            options=["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;Bob@rcpt.example"])
    assert (reply.code, reply.message) == (250, "2.1.5 Recipient OK")
    await smtp.rcpt("carol@rcpt.example")
    reply = await smtp.data(MESSAGE)
    assert (reply.code, reply.message) == (250, "2.0.0 Ok: queued as 1")

    [message] = mx.messages
    assert message.mail_from == "bounce+Tok3n@sender.example"
    assert message.rcpt_tos == ["Bob@rcpt.example", "carol@rcpt.example"]
    # Case kept (aiosmtpd alone would upper-case ENVID and ORCPT); xtext not decoded.
    assert message.mail_params == {"RET": "HDRS", "ENVID": "Ab+2Bc", "SIZE": "70",
                                   "BODY": "8BITMIME"}
    assert message.rcpt_params == [
        {"NOTIFY": "FAILURE,DELAY", "ORCPT": "rfc822;Bob@rcpt.example"}, {}]
    assert message.data == MESSAGE  # dot-stuffing undone
    assert message.peer[0] == "127.0.0.1"
    assert message.peer[1] == smtp.get_transport_info("sockname")[1]
    assert message.helo == "client.test"
    assert message.tls is False
    assert message.connection == 1


async def test_dsn_off_refuses_dsn_parameters() -> None:
    async with FakeMX(dsn=False) as mx:
        conn = client(mx)
        await conn.connect()
        await conn.ehlo()
        assert not conn.supports_extension("dsn")
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await conn.mail("a@sender.example", options=["RET=FULL"])
        assert refused.value.code == 555
        await conn.mail("a@sender.example", options=["SIZE=10"])
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as rcpt:
            await conn.rcpt("b@rcpt.example", options=["NOTIFY=NEVER"])
        assert rcpt.value.code == 555
        conn.close()


@pytest.mark.parametrize(("command", "option"), [
    ("mail", "RET=BODY"), ("mail", "ENVID="), ("mail", "ENVID=" + "x" * 101),
    ("rcpt", "NOTIFY=NEVER,FAILURE"), ("rcpt", "NOTIFY=SOMETIMES"), ("rcpt", "ORCPT=bob"),
])
async def test_invalid_dsn_parameters_get_501(mx: FakeMX, smtp: aiosmtplib.SMTP,
                                              command: str, option: str) -> None:
    if command == "rcpt":
        await smtp.mail("a@sender.example")
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as error:
            await smtp.rcpt("b@rcpt.example", options=[option])
    else:
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as error:  # type: ignore[assignment]
            await smtp.mail("a@sender.example", options=[option])
    assert error.value.code == 501
    assert error.value.message.startswith("5.5.4 Invalid")


@pytest.mark.parametrize(("address", "code", "text"), [
    ("r550-511.bob@rcpt.example", 550, "5.1.1 Bad destination mailbox address"),
    ("r452-422@rcpt.example", 452, "4.2.2 Mailbox full"),
    ("R554-571+x@rcpt.example", 554, "5.7.1 Delivery not authorized, message refused"),
    ("r550-5110.x@rcpt.example", 550, "5.1.10 Recipient address has null MX"),
    ("r550-5726.x@rcpt.example", 550, "5.7.26 Scripted failure"),
    ("r450.x@rcpt.example", 450, "Requested mail action not taken: mailbox unavailable"),
])
async def test_recipient_replies_by_local_part(mx: FakeMX, smtp: aiosmtplib.SMTP,
                                               address: str, code: int, text: str) -> None:
    await smtp.mail("a@sender.example")
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
        await smtp.rcpt(address)
    assert (refused.value.code, refused.value.message, refused.value.recipient) == (
        code, text, address)
    # The others in the same transaction carry on; the message goes to them only.
    await smtp.rcpt("ok@rcpt.example")
    await smtp.data(MESSAGE)
    assert mx.messages[0].rcpt_tos == ["ok@rcpt.example"]


def test_rcpt_reply_for_leaves_ordinary_addresses_alone() -> None:
    for address in ("bob@x.example", "r5@x.example", "r650-511@x.example", "rob.r550@x",
                    "r550bob@x.example"):
        assert rcpt_reply_for(address) is None, address
    assert rcpt_reply_for("r421-470.x@x.example") == (
        "421 4.7.0 Other or undefined security status")


async def test_rcpt_421_closes_the_connection(mx: FakeMX, smtp: aiosmtplib.SMTP) -> None:
    await smtp.mail("a@sender.example")
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
        await smtp.rcpt("r421-470.x@rcpt.example")
    assert refused.value.code == 421
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await smtp.rcpt("ok@rcpt.example")
    assert mx.messages == []


async def test_fail_next_each_command(mx: FakeMX) -> None:
    mx.fail_next("EHLO", "554 5.7.1 Go away")
    mx.fail_next("MAIL", "553 5.1.8 Sender domain does not exist")
    mx.fail_next("RCPT", "550 5.7.1 Relaying denied")
    mx.fail_next("DATA", "554 5.7.1 No data for you")
    mx.fail_next("DATA_END", "552 5.2.2 Over quota")
    conn = client(mx)
    await conn.connect()
    with pytest.raises(aiosmtplib.SMTPHeloError) as helo:
        await conn.ehlo()
    assert (helo.value.code, helo.value.message) == (554, "5.7.1 Go away")
    await conn.ehlo()  # queued once: the second EHLO passes
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as mail:
        await conn.mail("a@sender.example")
    assert (mail.value.code, mail.value.message) == (553, "5.1.8 Sender domain does not exist")
    await conn.mail("a@sender.example")
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as rcpt:
        await conn.rcpt("b@rcpt.example")
    assert rcpt.value.code == 550
    await conn.rcpt("b@rcpt.example")
    with pytest.raises(aiosmtplib.SMTPDataError) as data:
        await conn.data(MESSAGE)
    assert (data.value.code, data.value.message) == (554, "5.7.1 No data for you")
    with pytest.raises(aiosmtplib.SMTPDataError) as data_end:
        await conn.data(MESSAGE)
    assert (data_end.value.code, data_end.value.message) == (552, "5.2.2 Over quota")
    assert mx.messages == []  # refused after the dot: not recorded
    await conn.mail("a@sender.example")
    await conn.rcpt("b@rcpt.example")
    await conn.data(MESSAGE)
    assert len(mx.messages) == 1
    # A refused DATA command leaves the transaction open (the second DATA reused it); the
    # reply after the dot ends it, so two MAIL commands were accepted.
    assert mx.transactions == 2
    # DATA (before 354) was refused once: the client sent the content only twice.
    assert [c for _, c in mx.commands].count("DATA") == 3
    conn.close()


async def test_fail_next_queues_in_order_and_helo_fallback(mx: FakeMX) -> None:
    mx.fail_next("EHLO", "502 5.5.2 Command not recognized")
    mx.fail_next("MAIL", "451 4.3.0 First", "452 4.3.1 Second")
    conn = client(mx)
    await conn.connect()
    # No explicit EHLO: aiosmtplib tries EHLO, gets 502 and falls back to HELO.
    for code in (451, 452):
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await conn.mail("a@sender.example")
        assert refused.value.code == code
    assert (await conn.mail("a@sender.example")).code == 250
    assert [c for _, c in mx.commands][:2] == ["EHLO client.test", "HELO client.test"]
    conn.close()


async def test_override_persists_until_cleared(mx: FakeMX, smtp: aiosmtplib.SMTP) -> None:
    mx.override("MAIL", "421 4.3.2 System shutting down")
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await smtp.mail("a@sender.example")
    assert refused.value.code == 421
    for _ in range(2):  # the override holds across connections
        conn = client(mx)
        await conn.connect()
        with pytest.raises(aiosmtplib.SMTPSenderRefused):
            await conn.mail("a@sender.example")
        conn.close()
    mx.override("MAIL", None)
    conn = client(mx)
    await conn.connect()
    assert (await conn.mail("a@sender.example")).code == 250
    conn.close()
    assert mx.connections == 4


async def test_queued_reply_wins_over_override_and_local_part(
        mx: FakeMX, smtp: aiosmtplib.SMTP) -> None:
    mx.override("RCPT", "450 4.2.0 Try later")
    mx.fail_next("RCPT", "550 5.1.1 Queued first")
    await smtp.mail("a@sender.example")
    for expected in ("5.1.1 Queued first", "4.2.0 Try later"):
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await smtp.rcpt("r552-522.x@rcpt.example")
        assert refused.value.message == expected
    mx.reset_script()
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
        await smtp.rcpt("r552-522.x@rcpt.example")
    assert refused.value.message == "5.2.2 Mailbox full"


async def test_multiline_scripted_reply(mx: FakeMX, smtp: aiosmtplib.SMTP) -> None:
    mx.fail_next("MAIL", "550 5.7.1 Line one\n550 5.7.1 Line two\n550 5.7.1 Line three")
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await smtp.mail("a@sender.example")
    assert refused.value.message == "5.7.1 Line one\n5.7.1 Line two\n5.7.1 Line three"


async def test_scripted_ehlo_capabilities(mx: FakeMX) -> None:
    # An old server: no DSN, no PIPELINING; the session still works.
    mx.override("EHLO", "250-old.example\n250 8BITMIME")
    conn = client(mx)
    await conn.connect()
    await conn.ehlo()
    assert conn.supports_extension("8bitmime")
    assert not conn.supports_extension("dsn")
    await conn.mail("a@sender.example")
    await conn.rcpt("b@rcpt.example")
    await conn.data(MESSAGE)
    assert mx.messages[0].helo == "client.test"
    conn.close()


@pytest.mark.parametrize(("command", "reply"), [
    ("QUIT", "554 no"), ("MAIL", "250 2.1.0 fine"), ("RCPT", "bogus"),
    ("DATA", "354 go on"), ("MAIL", "550 a\n551 b"),
])
def test_bad_scripts_are_refused(command: str, reply: str) -> None:
    with pytest.raises(ValueError):
        FakeMX().fail_next(command, reply)


def test_bad_stall_command_is_refused() -> None:
    with pytest.raises(ValueError):
        FakeMX().stall_next("CONNECT", 1.0)


async def test_stall_provokes_a_read_timeout(mx: FakeMX) -> None:
    mx.stall_next("RCPT", 1.0)
    conn = client(mx, timeout=0.2)
    await conn.connect()
    await conn.mail("a@sender.example")
    started = time.monotonic()
    with pytest.raises(aiosmtplib.SMTPReadTimeoutError):
        await conn.rcpt("b@rcpt.example")
    assert 0.2 <= time.monotonic() - started < 0.8
    conn.close()
    # Only the next RCPT stalled: a new session is served at once.
    conn = client(mx, timeout=0.5)
    await conn.connect()
    await conn.mail("a@sender.example")
    await conn.rcpt("b@rcpt.example")
    conn.close()


async def test_stall_after_the_final_dot(mx: FakeMX, smtp: aiosmtplib.SMTP) -> None:
    mx.stall_next("DATA_END", 0.5)
    await smtp.mail("a@sender.example")
    await smtp.rcpt("b@rcpt.example")
    with pytest.raises(aiosmtplib.SMTPReadTimeoutError):
        await smtp.data(MESSAGE, timeout=0.2)


async def test_connection_reuse_is_counted(mx: FakeMX) -> None:
    conn = client(mx)
    await conn.connect()
    for n in range(2):
        await conn.mail("a@sender.example")
        await conn.rcpt(f"b{n}@rcpt.example")
        await conn.data(MESSAGE)
        await conn.rset()
    await conn.quit()
    second = client(mx)
    await second.connect()
    await second.sendmail("a@sender.example", ["c@rcpt.example"], MESSAGE)
    await second.quit()
    assert mx.connections == 2
    assert mx.transactions == 3
    assert [m.connection for m in mx.messages] == [1, 1, 2]
    assert [c for n, c in mx.commands if n == 1].count("RSET") == 2


async def test_starttls_required(mx: FakeMX) -> None:
    pair = tls_contexts()
    async with FakeMX(tls_context=pair.server, require_tls=True) as tls_mx:
        conn = client(tls_mx, tls=pair.client)
        await conn.connect()
        await conn.ehlo()
        assert conn.supports_extension("starttls")
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await conn.mail("a@sender.example")
        assert (refused.value.code, refused.value.message) == (
            530, "5.7.0 Must issue a STARTTLS command first")
        await conn.starttls(server_hostname="mx.test")
        await conn.ehlo()
        assert not conn.supports_extension("starttls")
        assert not conn.supports_extension("auth")
        await conn.mail("a@sender.example")
        await conn.rcpt("b@rcpt.example")
        await conn.data(MESSAGE)
        assert tls_mx.messages[0].tls is True
        # Leaving with the TLS client still connected must not wait for close_notify.
        started = time.monotonic()
    assert time.monotonic() - started < 1.0
    conn.close()


async def test_starttls_with_wrong_certificate_name() -> None:
    pair = tls_contexts("other.example")
    async with FakeMX(tls_context=pair.server) as mx:
        conn = client(mx, tls=pair.client)
        await conn.connect()
        await conn.ehlo()
        with pytest.raises(ssl.SSLCertVerificationError):
            await conn.starttls(server_hostname="mx.test")
        conn.close()
        for _ in range(50):
            if mx.errors:
                break
            await asyncio.sleep(0.01)
        assert [type(e) for e in mx.errors] == [TLSSetupException]


async def test_scripted_starttls_refusal() -> None:
    pair = tls_contexts()
    async with FakeMX(tls_context=pair.server) as mx:
        mx.fail_next("STARTTLS", "454 4.7.0 TLS not available due to temporary reason")
        conn = client(mx, tls=pair.client)
        await conn.connect()
        await conn.ehlo()
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            await conn.starttls(server_hostname="mx.test")
        assert refused.value.code == 454
        # The session stays in clear text and still takes mail.
        await conn.mail("a@sender.example")
        await conn.rcpt("b@rcpt.example")
        await conn.data(MESSAGE)
        assert mx.messages[0].tls is False
        conn.close()


def test_require_tls_needs_a_context() -> None:
    with pytest.raises(ValueError):
        FakeMX(require_tls=True)


async def test_several_mx_hosts_share_a_port() -> None:
    port = free_port("127.0.0.2")
    async with FakeMX(host="127.0.0.2", port=port, hostname="mx1.test") as mx1, \
            FakeMX(host="127.0.0.3", port=port, hostname="mx2.test") as mx2:
        assert mx1.port == mx2.port == port
        for mx, rcpt in ((mx2, "to-mx2@rcpt.example"), (mx1, "to-mx1@rcpt.example")):
            conn = client(mx)
            greeting = await conn.connect()
            assert greeting.message.startswith(mx.hostname)
            await conn.sendmail("a@sender.example", [rcpt], MESSAGE)
            await conn.quit()
        assert [m.rcpt_tos for m in mx1.messages] == [["to-mx1@rcpt.example"]]
        assert [m.rcpt_tos for m in mx2.messages] == [["to-mx2@rcpt.example"]]


async def test_apply_script_as_data(mx: FakeMX, smtp: aiosmtplib.SMTP) -> None:
    mx.apply_script({"fail_next": {"RCPT": ["452 4.5.3 Too many recipients"]},
                     "override": {"DATA_END": "250 2.0.0 Ok: queued as ABC123"},
                     "stall_next": {"MAIL": 0.01}})
    await smtp.mail("a@sender.example")
    with pytest.raises(aiosmtplib.SMTPRecipientRefused):
        await smtp.rcpt("b@rcpt.example")
    await smtp.rcpt("b@rcpt.example")
    reply = await smtp.data(MESSAGE)
    assert reply.message == "2.0.0 Ok: queued as ABC123"
    assert len(mx.messages) == 1  # a scripted 2xx after the dot still records
    with pytest.raises(ValueError):
        mx.apply_script({"fail": {}})


async def test_close_ends_open_sessions_and_frees_the_port() -> None:
    mx = FakeMX()
    await mx.start()
    conn = client(mx)
    await conn.connect()
    await mx.close()
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await conn.mail("a@sender.example")
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(mx.host, mx.port)
