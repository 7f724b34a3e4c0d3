"""Step 5 end to end, with real processes on loopback.

``bounceloop send --wait`` delivers a mailing to a local MX; an MTA-like peer then returns
DSNs, non-standard bounces, an auto-reply, a complaint and an unreadable reply to the VERP
envelopes over SMTP, to a running ``bounceloop serve``; the stored rows and events, read
back with ``bounceloop errors`` and ``bounceloop events``, must name the right message and
recipient for every kind. Then the server is killed with SIGKILL while peers send: every
message that got a 250 must be in the database, processed exactly once.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import signal
from collections.abc import Callable
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import func, select

from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import errors, events, received
from bounceloop.testing import FakeDNS, FakeMX, bounces, free_port
from tests.test_service import all_jobs_done, environment, run, start_service, wait_for

MIME = (b"Message-ID: <autumn-2026@sender.test>\r\nFrom: news@sender.test\r\n"
        b"Subject: Autumn\r\n\r\nHello.\r\n")
#: Our header in a copy: the message id, then its signature (core.signed).
ID_HEADER = re.compile(rb"^X-Bounceloop-Id: ([0-9a-f]+)\.[a-z2-7]+\r\n", re.M)

#: Recipient -> what its MX sends back (builder, expected kind, event, errortype, reason).
KINDS: dict[str, tuple[Callable[[str, bytes], bytes], str, str | None, str | None, str]] = {
    "ann@d0.test": (bounces.dsn, "failure", "failure", "mailerror", "userunknown"),
    "bob@d0.test": (bounces.qmail, "failure", "failure", "mailerror", "userunknown"),
    "cy@d1.test": (bounces.exim, "failure", "failure", "mailerror", "mailboxfull"),
    "di@d1.test": (lambda r, o: bounces.dsn(r, o, status="4.4.1", action="delayed",
                                            diagnostic="451 4.4.1 no answer from host"),
                   "delay", "delay", None, ""),
    "ed@d2.test": (bounces.autoreply, "autoreply", "autoreply", "mailmessage", "vacation"),
    "fay@d2.test": (lambda r, o: bounces.unknown(o), "unrecognized", None, "mailmessage", ""),
}
COMPLAINER = "gus@d0.test"


async def returned(port: int, envelope: str, raw: bytes) -> tuple[int, str]:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port,
                               local_hostname="mx.dest.test") as client:
        await client.mail("")
        await client.rcpt(envelope)
        code, reply = await client.data(raw)
        return code, reply


async def test_every_kind_of_returned_mail_is_tied_to_its_message(
        tmp_path: Path, database_url: str, three_domains: FakeDNS) -> None:
    everyone = [*KINDS, COMPLAINER, "hal@d1.test"]
    (tmp_path / "rcpts.csv").write_text("email,tags\n" + "".join(
        f"{r},autumn;{r[:3]}\n" for r in everyone))
    (tmp_path / "msg.eml").write_bytes(MIME)
    async with FakeMX() as mx:
        env = environment(database_url, three_domains, mx.port, tmp_path / "spool")
        code, out, err = await run(env, "send", "--from", "news@sender.test", "--mime",
                                   str(tmp_path / "msg.eml"), "--recipients",
                                   str(tmp_path / "rcpts.csv"), "--wait")
        assert code == 0, err.decode()
        sent = {m["recipient"]: m for m in map(json.loads, out.splitlines())}
        assert {m["status"] for m in sent.values()} == {"delivered"}
        copies = {m.rcpt_tos[0]: m for m in mx.messages}

    port = int(env["BOUNCELOOP_SMTP_LISTEN"].rsplit(":", 1)[1])
    service = await start_service(env)
    try:
        for rcpt, (build, *_) in KINDS.items():
            copy = copies[rcpt]
            assert copy.mail_from == sent[rcpt]["envelope"]
            code, _ = await returned(port, copy.mail_from, build(rcpt, copy.data))
            assert code == 250
        # The complaint comes to the abuse address, not to a VERP envelope.
        code, _ = await returned(port, "abuse@bounce.sender.test",
                                 bounces.arf(COMPLAINER, copies[COMPLAINER].data))
        assert code == 250
        # A forged token is refused at RCPT: nothing stored, nothing to bounce back.
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await returned(port, copies["hal@d1.test"].mail_from.replace("-", "-0", 1), b"x")
        assert refused.value.code == 550

        db = create_engine(database_url)
        try:
            def done() -> bool:
                with db.connect() as conn:
                    return conn.execute(select(func.count()).select_from(received).where(
                        received.c.status == "pending")).scalar_one() == 0
            await wait_for(done, 60, "every returned message to be processed")
        finally:
            db.dispose()
    finally:
        service.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(service.wait(), 30) == 0

    code, out, err = await run(env, "errors", "--format", "jsonl", "--since", "2000-01-01")
    assert code == 0, err.decode()
    error_rows = [json.loads(line) for line in out.splitlines()]
    code, out, err = await run(env, "events", "--format", "jsonl")
    assert code == 0, err.decode()
    stream = [json.loads(line) for line in out.splitlines()]

    by_recipient = collections.defaultdict(list)
    for e in stream:
        by_recipient[e["recipient"]].append(e)
    for rcpt, (_, kind, event, errortype, reason) in KINDS.items():
        mid = sent[rcpt]["id"]
        mine = by_recipient[rcpt]
        # One stream: the delivery, then what came back.
        assert [e["type"] for e in mine] == ["delivery", "bounce"] + ([event] if event else [])
        assert {e["message_id"] for e in mine} == {mid}
        bounce = mine[1]["data"]
        assert (bounce["kind"], bounce["tied_by"], bounce["envelope"], bounce["tags"]) == (
            kind, "verp", sent[rcpt]["envelope"], ["autumn", rcpt[:3]])
        rows = [r for r in error_rows if r["message_id"] == mid]
        assert [(r["errortype"], r["state"], r["step"]) for r in rows] == (
            [(errortype, "bounce", 5)] if errortype else [])
        if rows and reason:
            assert rows[0]["reason"] == reason and rows[0]["recipient"] == rcpt
        if event == "failure":
            data = mine[2]["data"]
            assert (data["recipient"], data["state"], data["action"], data["severity"]) == (
                rcpt, "bounce", "failed", "hard")
            assert data["extended"].startswith("5.")
    complaint = [e for e in by_recipient[COMPLAINER] if e["type"] == "complaint"]
    assert len(complaint) == 1
    assert complaint[0]["message_id"] == sent[COMPLAINER]["id"]
    assert complaint[0]["data"]["feedback_type"] == "abuse"
    # Filters: by type and by recipient.
    code, out, _ = await run(env, "events", "--format", "jsonl", "--type", "failure")
    assert {json.loads(line)["recipient"] for line in out.splitlines()} == {
        "ann@d0.test", "bob@d0.test", "cy@d1.test"}
    code, out, _ = await run(env, "errors", "--format", "csv", "--recipient", "cy@d1.test")
    lines = out.decode().splitlines()
    assert lines[0].startswith("id,timestamp,message_id") and len(lines) == 2


async def test_sigkill_under_load_loses_no_acknowledged_message(
        tmp_path: Path, database_url: str, three_domains: FakeDNS) -> None:
    env = environment(database_url, three_domains, 1, tmp_path / "spool",
                      BOUNCELOOP_SMTP_LISTEN=f"127.0.0.1:{free_port()}")
    port = int(env["BOUNCELOOP_SMTP_LISTEN"].rsplit(":", 1)[1])
    envelope = "abuse@bounce.sender.test"
    acknowledged: list[str] = []
    cut: list[str] = []
    stop = asyncio.Event()

    async def peer(n: int) -> None:
        """Send bounces one after another until stopped; note each one answered 250."""
        i = 0
        while not stop.is_set():
            marker = f"p{n}-{i}"
            i += 1
            raw = bounces.dsn(f"{marker}@d0.test", f"Subject: {marker}\r\n\r\n".encode())
            try:
                code, _ = await returned(port, envelope, raw)
            except (aiosmtplib.SMTPException, OSError):
                cut.append(marker)
                await asyncio.sleep(0.05)  # the server is down: try again
                continue
            if code == 250:
                acknowledged.append(marker)

    service = await start_service(env)
    peers = [asyncio.create_task(peer(n)) for n in range(8)]
    await wait_for(lambda: len(acknowledged) >= 300, 60, "300 messages accepted")
    service.send_signal(signal.SIGKILL)
    await service.wait()
    at_kill = len(acknowledged)
    service = await start_service(env)
    await wait_for(lambda: len(acknowledged) >= at_kill + 200, 60, "200 more after restart")
    stop.set()
    await asyncio.gather(*peers)

    db = create_engine(database_url)
    try:
        await all_jobs_done(db, 120, "every stored message to be processed")
        service.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(service.wait(), 30) == 0
        with db.connect() as conn:
            stored = conn.execute(select(received.c.id, received.c.reported_recipient,
                                         received.c.message_id,
                                         received.c.times_processed)).all()
            failures = collections.Counter(conn.execute(
                select(events.c.data).where(events.c.type == "failure")).scalars())
            bounce_events = conn.execute(select(func.count()).select_from(events).where(
                events.c.type == "bounce")).scalar_one()
            error_count = conn.execute(select(func.count()).select_from(errors)).scalar_one()
    finally:
        db.dispose()
    markers = collections.Counter(r.reported_recipient.split("@")[0] for r in stored)
    # None lost: every message that got 250 is stored (a message cut before its 250 may be
    # stored too: its sender would send it again).
    lost = [m for m in acknowledged if markers[m] == 0]
    assert lost == []
    # The kill came under load: sessions were cut in the middle.
    assert cut, "no session was cut by the kill"
    assert len(acknowledged) == len(set(acknowledged))
    # None processed twice: one bounce event and one error row each. They came to abuse@
    # naming addresses we never mailed: untied, so no failure event and no message.
    assert bounce_events == len(stored) == error_count
    assert not failures and {r.message_id for r in stored} == {None}
    assert {r.times_processed for r in stored} == {1}
