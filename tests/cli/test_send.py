"""``bounceloop send`` (queue, and deliver with --wait) and ``bounceloop serve``'s errors.

Every case runs the command on a SQLite file in tmp_path and reads back what it printed and
what it stored. ``--wait`` delivers for real: a DNS server (FakeDNS) and an SMTP server
(FakeMX) on 127.0.0.1 run in the test's event loop while the command, which runs its own
loop with ``asyncio.run``, runs in a thread.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, Row, select

from bounceloop.cli import cli
from bounceloop.core import verp
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import jobs, mailings, messages
from bounceloop.testing import FakeDNS, FakeMX

MIME = b"From: news@sender.test\r\nSubject: hello\r\n\r\nHello.\r\n"
SENDER = "news@sender.test"
BOUNCE_DOMAIN = "bounce.sender.test"
SECRET = "s3cret"
QUEUED_KEYS = {"id", "recipient", "envelope", "status"}
WAIT_KEYS = {"id", "recipient", "envelope", "status", "step", "state", "code", "extended",
             "description", "errortype", "severity", "attempts"}


pytestmark = pytest.mark.usefixtures("clean_environment")


class Send:
    """One working directory with a message, a recipient list and a database."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.db_path = tmp_path / "send.db"
        self.url = f"sqlite:///{self.db_path}"
        self.mime = tmp_path / "message.eml"
        self.mime.write_bytes(MIME)
        self.csv = tmp_path / "recipients.csv"
        self.env: dict[str, str] = {"BOUNCELOOP_DATABASE_URL": self.url,
                                    "BOUNCELOOP_HOSTNAME": "client.sender.test"}

    def recipients(self, text: str) -> None:
        self.csv.write_text(text, encoding="utf-8")

    def args(self, *extra: str, sender: str = SENDER) -> list[str]:
        return ["send", "--from", sender, "--mime", str(self.mime), "--recipients",
                str(self.csv), *extra]

    def run(self, *extra: str, sender: str = SENDER, **env: str) -> Result:
        return CliRunner().invoke(cli, self.args(*extra, sender=sender),
                                  env={**self.env, **env})

    def database(self) -> Engine:
        return create_engine(self.url)

    def rows(self, table: Any) -> list[Row[Any]]:
        db = self.database()
        try:
            with db.connect() as conn:
                return list(conn.execute(select(table)))
        finally:
            db.dispose()


@pytest.fixture
def send(tmp_path: Path) -> Send:
    return Send(tmp_path)


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


# ------------------------------------------------------------------------------------------
# Queueing
# ------------------------------------------------------------------------------------------

def test_queues_one_json_line_per_message(send: Send) -> None:
    send.recipients("email,name\njane@dest.test,Jane\nJohn@DEST.test,John\n")
    result = send.run()
    assert result.exit_code == 0, result.stderr
    out = lines(result)
    assert [set(row) for row in out] == [QUEUED_KEYS, QUEUED_KEYS]
    assert [row["recipient"] for row in out] == ["jane@dest.test", "John@dest.test"]
    assert all(row["status"] == "queued" for row in out)
    # Without a bounce domain, the envelope is the --from address.
    assert all(row["envelope"] == SENDER for row in out)
    assert all(re.fullmatch(r"[0-9a-f]{16}", row["id"]) for row in out)
    assert len({row["id"] for row in out}) == 2
    assert result.stderr == "bounceloop: queued 2 messages in mailing 1\n"

    stored = {r.id: r for r in send.rows(messages)}
    assert set(stored) == {row["id"] for row in out}
    for row in out:
        msg = stored[row["id"]]
        assert (msg.recipient, msg.envelope, msg.sender, msg.status, msg.attempts) == (
            row["recipient"], SENDER, SENDER, "queued", 0)
    # The outbox: one pending delivery job per message.
    assert sorted((j.kind, j.ref, j.status) for j in send.rows(jobs)) == sorted(
        ("deliver", row["id"], "pending") for row in out)


def test_from_address_is_normalised(send: Send) -> None:
    send.recipients("email\njane@dest.test\n")
    result = send.run(sender="<News@Sender.TEST>")
    assert result.exit_code == 0, result.stderr
    assert lines(result)[0]["envelope"] == "News@sender.test"
    [mailing] = send.rows(mailings)
    assert mailing.sender == "News@sender.test"


def test_verp_envelopes_with_bounce_domain_and_secret(send: Send) -> None:
    send.recipients("email\njane@dest.test\njohn@dest.test\n")
    result = send.run(BOUNCELOOP_BOUNCE_DOMAIN=BOUNCE_DOMAIN, BOUNCELOOP_VERP_SECRET=SECRET)
    assert result.exit_code == 0, result.stderr
    out = lines(result)
    assert len(out) == 2
    for row in out:
        assert row["envelope"] == verp.encode(row["id"], BOUNCE_DOMAIN, SECRET)
        assert row["envelope"].startswith(f"b-{row['id']}-")
        assert row["envelope"].endswith(f"@{BOUNCE_DOMAIN}")
        assert verp.decode(row["envelope"], BOUNCE_DOMAIN, SECRET) == row["id"]
    assert {r.envelope for r in send.rows(messages)} == {row["envelope"] for row in out}


def test_bounce_domain_without_secret_is_bad_settings(send: Send) -> None:
    send.recipients("email\njane@dest.test\n")
    result = send.run(BOUNCELOOP_BOUNCE_DOMAIN=BOUNCE_DOMAIN)
    assert result.exit_code == 1
    assert result.stderr.startswith("bounceloop: bad settings: ")
    assert "BOUNCELOOP_VERP_SECRET" in result.stderr


def test_bad_rows_are_reported_and_skipped(send: Send) -> None:
    send.recipients(
        "email,name\n"                 # 1
        "jane@dest.test,Jane\n"        # 2
        "not-an-address,X\n"           # 3
        "john@dest.test\n"             # 4: one column
        "JANE@dest.test,Again\n"       # 5: duplicate of 2
        "ann@dest.test,Ann\n")         # 6
    result = send.run()
    assert result.exit_code == 0, result.stderr
    assert [row["recipient"] for row in lines(result)] == ["jane@dest.test", "ann@dest.test"]
    f = str(send.csv)
    assert result.stderr.splitlines() == [
        f"bounceloop: {f}:3: not an address: 'not-an-address'; skipped",
        f"bounceloop: {f}:4: 1 columns where the header has 2; skipped",
        f"bounceloop: {f}:5: JANE@dest.test is already on line 2; skipped",
        "bounceloop: queued 2 messages in mailing 1 (3 rows skipped)",
    ]
    assert len(send.rows(messages)) == 2


def test_all_rows_bad_is_exit_1_and_queues_nothing(send: Send) -> None:
    send.recipients("email\nnope\nalso-nope@\n")
    result = send.run()
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"bounceloop: {send.csv}: no valid recipients"
    assert result.stderr.count("; skipped") == 2
    assert not send.db_path.exists()


def test_header_only_is_exit_1(send: Send) -> None:
    send.recipients("email,name\n")
    result = send.run()
    assert result.exit_code == 1
    assert result.stderr == f"bounceloop: {send.csv}: no valid recipients\n"


def test_missing_email_column_is_exit_1(send: Send) -> None:
    send.recipients("mail,name\njane@dest.test,Jane\n")
    result = send.run()
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"bounceloop: {send.csv}: no 'email' column in the header row "
                             "(columns: mail, name)\n")


def test_recipients_not_utf8_is_exit_1(send: Send) -> None:
    send.csv.write_bytes(b"email,name\njane@dest.test,Ren\xe9\n")
    result = send.run()
    assert result.exit_code == 1
    assert f"{send.csv}: not UTF-8 text" in result.stderr


@pytest.mark.parametrize("which", ["mime", "recipients"])
def test_missing_file_is_exit_1(send: Send, which: str) -> None:
    send.recipients("email\njane@dest.test\n")
    missing = send.dir / "missing.file"
    args = send.args()
    args[args.index(f"--{which}") + 1] = str(missing)
    result = CliRunner().invoke(cli, args, env=send.env)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"bounceloop: cannot read {missing}: No such file or directory\n"
    assert not send.db_path.exists()


@pytest.mark.parametrize("which", ["mime", "recipients"])
def test_unreadable_file_is_exit_1(send: Send, which: str) -> None:
    # A directory cannot be read as a file (unlike a mode-000 file, also not as root).
    send.recipients("email\njane@dest.test\n")
    folder = send.dir / "a-folder"
    folder.mkdir()
    args = send.args()
    args[args.index(f"--{which}") + 1] = str(folder)
    result = CliRunner().invoke(cli, args, env=send.env)
    assert result.exit_code == 1
    assert result.stderr == f"bounceloop: cannot read {folder}: Is a directory\n"


NOT_A_FIELD = 'not a MIME message: line {} is not a header field ("Name: value", RFC 5322 2.2)'


@pytest.mark.parametrize(("data", "why"), [
    (b"", "the message is empty"),
    (b" \r\n", "the message is empty"),
    (b"Hello Jane,\n\nthe sale starts Monday.\n", NOT_A_FIELD.format(1) + ": 'Hello Jane,'"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", NOT_A_FIELD.format(1) + ": '\ufffdPNG'"),
    (b"Subject: hello\r\nHello.\r\n", NOT_A_FIELD.format(2) + " and no blank line ends the "
     "header fields before it: 'Hello.'"),
])
def test_a_file_that_is_not_a_message_is_exit_1(send: Send, data: bytes, why: str) -> None:
    # Not usable: docs/sending.md says 1, with the file and the reason on stderr;
    # nothing is queued (the database is not even opened).
    send.recipients("email\njane@dest.test\n")
    send.mime.write_bytes(data)
    result = send.run()
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"bounceloop: {send.mime}: {why}\n"
    assert not send.db_path.exists()


@pytest.mark.parametrize("sender", ["not-an-address", "news@", "jäne@sender.test", ""])
def test_bad_from_is_exit_2(send: Send, sender: str) -> None:
    send.recipients("email\njane@dest.test\n")
    result = send.run(sender=sender)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("bounceloop: --from: ")
    assert not send.db_path.exists()


@pytest.mark.parametrize("schedule", ["", "0", "-5", "abc", "60,0", "60 120"])
def test_bad_retry_schedule_is_exit_2(send: Send, schedule: str) -> None:
    send.recipients("email\njane@dest.test\n")
    result = send.run("--retry-schedule", schedule)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"bounceloop: --retry-schedule: not a retry schedule: {schedule!r}\n")
    assert not send.db_path.exists()


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_bad_max_delivery_time_is_exit_2(send: Send, value: str) -> None:
    send.recipients("email\njane@dest.test\n")
    result = send.run("--max-delivery-time", value)
    assert result.exit_code == 2
    assert "--max-delivery-time" in result.stderr


@pytest.mark.parametrize("missing", ["--from", "--mime", "--recipients"])
def test_required_options(send: Send, missing: str) -> None:
    send.recipients("email\njane@dest.test\n")
    args = send.args()
    at = args.index(missing)
    del args[at:at + 2]
    result = CliRunner().invoke(cli, args, env=send.env)
    assert result.exit_code == 2
    assert f"Missing option '{missing}'" in result.stderr


def test_tags_from_the_command_and_the_rows_are_merged(send: Send) -> None:
    send.recipients(
        "email,tags,city\n"
        "a@dest.test,vip;news,Paris\n"
        "b@dest.test,,Rome\n"
        "c@dest.test, promo ; extra ,Oslo\n")
    result = send.run("--tag", "news", "--tag", "promo")
    assert result.exit_code == 0, result.stderr
    stored = {r.recipient: r for r in send.rows(messages)}
    # The command's tags first, then the row's; each once.
    assert json.loads(stored["a@dest.test"].tags) == ["news", "promo", "vip"]
    assert json.loads(stored["b@dest.test"].tags) == ["news", "promo"]
    assert json.loads(stored["c@dest.test"].tags) == ["news", "promo", "extra"]
    assert json.loads(stored["a@dest.test"].fields) == {"city": "Paris"}
    [mailing] = send.rows(mailings)
    assert json.loads(mailing.tags) == ["news", "promo"]


def test_without_tags(send: Send) -> None:
    send.recipients("email\na@dest.test\n")
    assert send.run().exit_code == 0
    [msg] = send.rows(messages)
    assert json.loads(msg.tags) == [] and json.loads(msg.fields) == {}
    [mailing] = send.rows(mailings)
    assert json.loads(mailing.tags) == []


def test_mailing_stores_name_sender_message_schedule_and_max_time(send: Send) -> None:
    send.recipients("email\na@dest.test\nb@dest.test\n")
    result = send.run("--mailing", "January news", "--retry-schedule", "60, 120",
                      "--max-delivery-time", "3600")
    assert result.exit_code == 0, result.stderr
    [mailing] = send.rows(mailings)
    assert (mailing.name, mailing.sender, mailing.mime) == ("January news", SENDER, MIME)
    assert (mailing.retry_schedule, mailing.max_delivery_time) == ("60,120", 3600)
    stored = send.rows(messages)
    assert len(stored) == 2
    for msg in stored:
        assert msg.mailing_id == mailing.id
        assert msg.created_at == mailing.created_at
        assert msg.expires_at - msg.created_at == timedelta(seconds=3600)
        assert msg.next_attempt_at == msg.created_at


def test_defaults_for_schedule_and_max_time_come_from_settings(send: Send) -> None:
    send.recipients("email\na@dest.test\n")
    result = send.run(BOUNCELOOP_MAX_DELIVERY_TIME="7200")
    assert result.exit_code == 0, result.stderr
    [mailing] = send.rows(mailings)
    # Not stored on the mailing: the service's settings apply.
    assert (mailing.name, mailing.retry_schedule, mailing.max_delivery_time) == ("", None, None)
    [msg] = send.rows(messages)
    assert msg.expires_at - msg.created_at == timedelta(seconds=7200)


def test_second_send_is_a_second_mailing(send: Send) -> None:
    send.recipients("email\na@dest.test\n")
    assert send.run().exit_code == 0
    result = send.run()
    assert result.exit_code == 0
    assert result.stderr == "bounceloop: queued 1 messages in mailing 2\n"
    assert len(send.rows(messages)) == 2


@pytest.mark.parametrize(("env", "field"), [
    ({"BOUNCELOOP_MX_PORT": "abc"}, "mx_port"),
    ({"BOUNCELOOP_RETRY_SCHEDULE": "0"}, "retry_schedule"),
    ({"BOUNCELOOP_ALLOWED_TARGET_NETWORKS": "10.0.0.0/33"}, "allowed_target_networks"),
    ({"BOUNCELOOP_TLS": "sometimes"}, "tls"),
    ({"BOUNCELOOP_DNS_SERVERS": "127.0.0.1:dns"}, "dns_servers"),
])
def test_bad_settings_are_exit_1(send: Send, env: dict[str, str], field: str) -> None:
    send.recipients("email\na@dest.test\n")
    result = send.run(**env)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(f"bounceloop: bad settings: {field}: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not send.db_path.exists()


@pytest.mark.parametrize(("url", "expected"), [
    ("not a url", "bounceloop: bad database URL 'not a url'"),
    ("mysql://db.example/x", "unsupported database 'mysql'"),
    ("sqlite:////nonexistent/dir/bounceloop.db", "unable to open database file"),
    ("postgresql+psycopg://bl:secret@127.0.0.1:1/x", "Connection refused"),
])
def test_bad_database_is_exit_1_with_one_clear_line(send: Send, url: str,
                                                    expected: str) -> None:
    send.recipients("email\na@dest.test\n")
    result = send.run(BOUNCELOOP_DATABASE_URL=url)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("bounceloop: ") and result.stderr.count("\n") == 1
    assert expected in result.stderr
    assert "secret" not in result.stderr


# ------------------------------------------------------------------------------------------
# --wait: deliver for real, over loopback.
# ------------------------------------------------------------------------------------------

def _zone(dns: FakeDNS) -> None:
    dns.zone[("dest.test", "MX")] = ["10 mx1.dest.test."]
    dns.zone[("mx1.dest.test", "A")] = ["127.0.0.1"]
    dns.zone[("nowhere.test", "MX")] = "NXDOMAIN"


@pytest.mark.parametrize("process_from", [None, 1], ids=["thread", "process"])
async def test_wait_delivers_and_prints_each_outcome(send: Send, process_from: int | None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Under PROCESS_FROM messages the database work stays in a thread; from it on, in a
    # process of its own (delivery.database).
    import bounceloop.cli.send as command
    from bounceloop.delivery import database, engine
    made: list[type] = []

    def worker_for(*args: Any) -> database.Worker:
        made.append(type(chosen := database.worker_for(*args)))
        return chosen
    monkeypatch.setattr(engine, "worker_for", worker_for)
    if process_from is not None:
        monkeypatch.setattr(command, "PROCESS_FROM", process_from)
    send.recipients(
        "email\n"
        "jane@dest.test\n"
        "r550-511.x@dest.test\n"
        "r452-422.x@dest.test\n"
        "jane@nowhere.test\n")
    async with FakeDNS() as dns, FakeMX() as mx:
        _zone(dns)
        env = {
            **send.env,
            "BOUNCELOOP_DNS_SERVERS": f"{dns.host}:{dns.port}",
            "BOUNCELOOP_MX_PORT": str(mx.port),
            "BOUNCELOOP_ALLOWED_TARGET_NETWORKS": "127.0.0.0/8",
            "BOUNCELOOP_BOUNCE_DOMAIN": BOUNCE_DOMAIN,
            "BOUNCELOOP_VERP_SECRET": SECRET,
            "BOUNCELOOP_DNS_TIMEOUT": "2",
            "BOUNCELOOP_CONNECT_TIMEOUT": "2",
            "BOUNCELOOP_GREETING_TIMEOUT": "2",
            "BOUNCELOOP_COMMAND_TIMEOUT": "2",
            "BOUNCELOOP_DATA_TIMEOUT": "2",
        }
        result = await asyncio.wait_for(
            asyncio.to_thread(CliRunner().invoke, cli, [*send.args(), "--wait"], env=env), 60)

    assert result.exit_code == 0, (result.stderr, result.exception)
    assert result.stderr == "bounceloop: queued 4 messages in mailing 1\n"
    assert made == [database.InThread if process_from is None else database.InProcess]
    out = lines(result)
    assert [set(row) for row in out] == [WAIT_KEYS] * 4
    by_rcpt = {row["recipient"]: row for row in out}
    assert list(by_rcpt) == ["jane@dest.test", "r550-511.x@dest.test", "r452-422.x@dest.test",
                             "jane@nowhere.test"]
    for row in out:
        assert row["envelope"] == verp.encode(row["id"], BOUNCE_DOMAIN, SECRET)
        assert row["attempts"] == 1

    def outcome(rcpt: str) -> tuple[Any, ...]:
        r = by_rcpt[rcpt]
        return (r["status"], r["step"], r["state"], r["code"], r["extended"], r["errortype"],
                r["severity"])

    assert outcome("jane@dest.test") == ("delivered", 4, "message", "250", "2.0.0", "", "")
    assert by_rcpt["jane@dest.test"]["description"].startswith("250 ")
    assert outcome("r550-511.x@dest.test") == (
        "failed", 4, "rcptto", "550", "5.1.1", "error", "hard")
    assert by_rcpt["r550-511.x@dest.test"]["description"] == (
        "550 5.1.1 Bad destination mailbox address")
    assert outcome("r452-422.x@dest.test") == (
        "deferred", 4, "rcptto", "452", "4.2.2", "error", "soft")
    assert by_rcpt["r452-422.x@dest.test"]["description"] == "452 4.2.2 Mailbox full"
    assert outcome("jane@nowhere.test") == ("failed", 1, "dns", "", "5.1.2", "nohost", "hard")
    assert "nowhere.test" in by_rcpt["jane@nowhere.test"]["description"]
    assert "NXDOMAIN" in by_rcpt["jane@nowhere.test"]["description"]

    # The server got the one message it accepted, from its VERP envelope.
    [received] = mx.messages
    assert received.rcpt_tos == ["jane@dest.test"]
    assert received.mail_from == by_rcpt["jane@dest.test"]["envelope"]
    assert b"Hello." in received.data
    assert received.helo == "client.sender.test"

    # What was printed is what was stored.
    stored = {r.id: r for r in send.rows(messages)}
    for row in out:
        msg = stored[row["id"]]
        assert (msg.status, msg.step, msg.state, msg.code or "", msg.extended or "",
                msg.attempts) == (row["status"], row["step"], row["state"], row["code"],
                                  row["extended"], row["attempts"])


async def test_wait_without_verp_uses_the_from_address(send: Send) -> None:
    send.recipients("email\njane@dest.test\n")
    async with FakeDNS() as dns, FakeMX() as mx:
        _zone(dns)
        env = {**send.env, "BOUNCELOOP_DNS_SERVERS": f"{dns.host}:{dns.port}",
               "BOUNCELOOP_MX_PORT": str(mx.port),
               "BOUNCELOOP_ALLOWED_TARGET_NETWORKS": "127.0.0.0/8",
               "BOUNCELOOP_CONNECT_TIMEOUT": "2", "BOUNCELOOP_COMMAND_TIMEOUT": "2"}
        result = await asyncio.wait_for(
            asyncio.to_thread(CliRunner().invoke, cli, [*send.args(), "--wait"], env=env), 60)
    assert result.exit_code == 0, (result.stderr, result.exception)
    [row] = lines(result)
    assert (row["envelope"], row["status"]) == (SENDER, "delivered")
    [received] = mx.messages
    assert received.mail_from == SENDER


async def test_wait_refuses_private_targets_unless_allowed(send: Send) -> None:
    # Without BOUNCELOOP_ALLOWED_TARGET_NETWORKS, 127.0.0.1 is a private address: refused.
    send.recipients("email\njane@dest.test\n")
    async with FakeDNS() as dns, FakeMX() as mx:
        _zone(dns)
        env = {**send.env, "BOUNCELOOP_DNS_SERVERS": f"{dns.host}:{dns.port}",
               "BOUNCELOOP_MX_PORT": str(mx.port)}
        result = await asyncio.wait_for(
            asyncio.to_thread(CliRunner().invoke, cli, [*send.args(), "--wait"], env=env), 60)
    assert result.exit_code == 0, (result.stderr, result.exception)
    [row] = lines(result)
    assert (row["status"], row["step"], row["state"], row["extended"], row["errortype"]) == (
        "failed", 1, "dns", "5.4.4", "privateiprange")
    assert mx.messages == [] and mx.connections == 0


# ------------------------------------------------------------------------------------------
# serve: its errors (running it for real is tests/test_service.py's).
# ------------------------------------------------------------------------------------------

@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _serve(env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, ["serve"], env={"BOUNCELOOP_HOSTNAME": "client.test", **env})


@pytest.mark.parametrize(("url", "expected"), [
    ("not a url", "bounceloop: bad database URL 'not a url'"),
    ("sqlite:////nonexistent/dir/bounceloop.db", "unable to open database file"),
    ("postgresql+psycopg://bl:secret@127.0.0.1:1/x", "Connection refused"),
])
def test_serve_bad_database_is_exit_1(url: str, expected: str, busy_port: int) -> None:
    # The database is opened first: its error is the one reported, even with a busy port.
    result = _serve({"BOUNCELOOP_DATABASE_URL": url,
                     "BOUNCELOOP_HTTP_LISTEN": f"127.0.0.1:{busy_port}"})
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("bounceloop: ") and result.stderr.count("\n") == 1
    assert expected in result.stderr
    assert "secret" not in result.stderr


def test_serve_port_in_use_is_exit_1(tmp_path: Path, busy_port: int) -> None:
    result = _serve({"BOUNCELOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
                     "BOUNCELOOP_HTTP_LISTEN": f"127.0.0.1:{busy_port}"})
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(f"bounceloop: cannot listen on 127.0.0.1:{busy_port} "
                                    "(BOUNCELOOP_HTTP_LISTEN): Address already in use")
    assert result.stderr.count("\n") == 1
    assert "serving" not in result.stderr


def test_serve_bad_settings_is_exit_1(tmp_path: Path) -> None:
    result = _serve({"BOUNCELOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
                     "BOUNCELOOP_HTTP_LISTEN": "127.0.0.1:http"})
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("bounceloop: bad settings: http_listen: ")
    assert not (tmp_path / "serve.db").exists()
