"""Webhooks end to end: ``bounceloop serve`` receives bounces over SMTP, turns them into
events and POSTs them to a receiver on loopback; it is SIGKILLed mid-delivery and
restarted, and every event still arrives (at least once; a repeat carries the same event
id and the same body), as PHP's ``parse_str`` reads it.
"""

from __future__ import annotations

import asyncio
import collections
import json
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import events
from bounceloop.testing import FakeDNS, FakeMX, Receiver, bounces
from tests.test_inbound_e2e import returned
from tests.test_service import all_jobs_done, environment, run, start_service, wait_for


def php_parse(body: bytes) -> Any:
    """What PHP's own parse_str makes of a body (the receiver's $_POST)."""
    code = "parse_str(stream_get_contents(STDIN), $out); echo json_encode($out);"
    done = subprocess.run(["php", "-r", code], input=body, capture_output=True, check=True,
                          timeout=30)
    return json.loads(done.stdout)


@pytest.mark.skipif(shutil.which("php") is None, reason="php-cli is not installed")
async def test_sigkill_mid_delivery_loses_no_event(tmp_path: Path, database_url: str,
                                                   three_domains: FakeDNS) -> None:
    total = 60
    async with Receiver(delay=0.05) as rx, FakeMX() as mx:
        env = environment(database_url, three_domains, mx.port, tmp_path / "spool",
                          BOUNCELOOP_WEBHOOK_RETRY_BASE="0.2",
                          BOUNCELOOP_WEBHOOK_RETRY_MAX_DELAY="0.5",
                          BOUNCELOOP_WEBHOOK_POLL_INTERVAL="0.05")
        port = int(env["BOUNCELOOP_SMTP_LISTEN"].rsplit(":", 1)[1])
        # The messages the DSNs answer (a DSN ties only to mail we sent, issue 16).
        (tmp_path / "list.csv").write_text("email\n" + "".join(
            f"user{i}@d0.test\n" for i in range(total)))
        (tmp_path / "msg.eml").write_bytes(b"From: news@sender.test\r\nSubject: n\r\n\r\nx\r\n")
        code, out, err = await run(env, "send", "--from", "news@sender.test", "--mime",
                                   str(tmp_path / "msg.eml"), "--recipients",
                                   str(tmp_path / "list.csv"), "--wait")
        assert code == 0, err.decode()
        sent = [json.loads(line) for line in out.splitlines()]
        copy = {m.rcpt_tos[0]: m.data for m in mx.messages}
        code, _, err = await run(env, "webhook", "add", rx.url, "--trigger", "failure",
                                   "--trigger", "bounce", "--concurrency", "2")
        assert code == 0, err.decode()

        service = await start_service(env)
        for m in sent:
            raw = bounces.dsn(m["recipient"], copy[m["recipient"]])
            status, _ = await returned(port, m["envelope"], raw)
            assert status == 250
        await wait_for(lambda: len(rx.answers) >= 20, 60, "20 calls answered")
        service.send_signal(signal.SIGKILL)
        await service.wait()
        at_kill = len(rx.answers)
        service = await start_service(env)

        db = create_engine(database_url)
        try:
            await all_jobs_done(db, 120, "every job to be done")
            service.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(service.wait(), 30) == 0
            with db.connect() as conn:
                made = {str(r.id): r for r in conn.execute(
                    select(events).where(events.c.type.in_(["failure", "bounce"])))}
        finally:
            db.dispose()

    assert at_kill < 2 * total  # killed with work left
    assert len(made) == 2 * total  # a bounce and a failure event per DSN
    delivered = collections.defaultdict(list)
    for request, answer in zip(rx.requests, rx.answers, strict=False):
        delivered[request.event].append((answer, request.body))
    assert set(delivered) == set(made)
    for event_id, calls in delivered.items():
        assert any(answer == 200 for answer, _ in calls), event_id
        assert len({body for _, body in calls}) == 1  # a repeat is the same call
    assert len(rx.requests) >= len(made)

    sample = next(r for r in rx.requests if r.headers["x-bounceloop-trigger"] == "failure")
    got = php_parse(sample.body)
    row = made[sample.event]
    data = json.loads(row.data)
    assert got["type"] == "failure" and got["recipient"] == data["recipient"]
    assert got["extended"] == "5.1.1" and got["state"] == "bounce" and got["step"] == "5"
    bounce = next(r for r in rx.requests if r.headers["x-bounceloop-trigger"] == "bounce")
    got = php_parse(bounce.body)
    assert got["envelope"].startswith("b-") and got["tied"] == "1"
    assert got["mime"].startswith("From: ") or "Content-Type" in got["mime"]
