"""FakeMX as a separate process: what it answered 250 to is on disk, even after SIGKILL."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiosmtplib
import pytest

from bounceloop.testing.mx import MXProcess, ReceivedMessage, read_records, spawn_mx

MESSAGE = b"Subject: crash test\r\n\r\nbody\r\n"


def client(proc: MXProcess) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(hostname=proc.host, port=proc.port, timeout=1.0, start_tls=False,
                           local_hostname="client.test")


async def test_records_survive_sigkill(tmp_path: Path) -> None:
    record = tmp_path / "mx.jsonl"
    with spawn_mx(record) as proc:
        assert proc.port > 0
        conn = client(proc)
        await conn.connect()
        for n in range(2):
            await conn.sendmail("a@sender.example", [f"b{n}@rcpt.example"], MESSAGE,
                                mail_options=["RET=HDRS", "ENVID=Env1"],
                                rcpt_options=["NOTIFY=FAILURE"])
        # Read while the child still runs: the 250 came after the fsync.
        assert [m.rcpt_tos for m in proc.messages()] == [["b0@rcpt.example"],
                                                         ["b1@rcpt.example"]]
        proc.kill()
        assert proc.process is not None
        assert proc.process.returncode == -9
        with pytest.raises(aiosmtplib.SMTPServerDisconnected):
            await conn.noop()
    messages = read_records(record)
    assert len(messages) == 2
    assert messages[0].data == MESSAGE
    # aiosmtplib's sendmail adds SIZE= on its own.
    assert messages[0].mail_params == {"SIZE": str(len(MESSAGE)), "RET": "HDRS",
                                       "ENVID": "Env1"}
    assert messages[0].rcpt_params == [{"NOTIFY": "FAILURE"}]
    assert messages[0].connection == messages[1].connection == 1
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(proc.host, proc.port)


async def test_script_and_fixed_port(tmp_path: Path) -> None:
    record = tmp_path / "mx.jsonl"
    script = {"fail_next": {"RCPT": ["452 4.2.2 Mailbox full"]}}
    first = spawn_mx(record, script=script)
    port = first.port
    first.terminate()
    assert first.process is not None
    assert first.process.returncode == 0
    # A second process on the same port (SO_REUSEADDR) appends to the same file.
    with MXProcess(record, port=port, script=script).start() as proc:
        assert proc.port == port
        conn = client(proc)
        await conn.connect()
        await conn.mail("a@sender.example")
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await conn.rcpt("b@rcpt.example")
        assert (refused.value.code, refused.value.message) == (452, "4.2.2 Mailbox full")
        await conn.rcpt("b@rcpt.example")
        await conn.data(MESSAGE)
        await conn.quit()
    assert [m.rcpt_tos for m in read_records(record)] == [["b@rcpt.example"]]


def test_read_records_ignores_a_torn_last_line(tmp_path: Path) -> None:
    record = tmp_path / "mx.jsonl"
    whole = ReceivedMessage(mail_from="a@x", rcpt_tos=["b@y"], data=b"\xff8bit\r\n",
                            peer=("127.0.0.1", 1234), connection=3)
    line = json.dumps(whole.to_json())
    record.write_text(line + "\n" + line[: len(line) // 2])
    assert read_records(record) == [whole]
    assert read_records(tmp_path / "missing.jsonl") == []


def test_start_reports_a_child_that_cannot_listen(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="exited"):
        spawn_mx(tmp_path / "mx.jsonl", script={"no such key": 1})
