"""A real PHP receiver (``php -S``, Debian php-cli) takes the worker's calls: it checks the
signature with docs/webhooks.md's snippet, answers the ownership check as that page says, and
records ``$_POST`` as PHP itself decoded it."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bounceloop.config import Settings
from bounceloop.testing import free_port
from bounceloop.webhooks import manage
from tests.webhooks.support import failure, write
from tests.webhooks.test_dispatch import job_status, running, until
from tests.webhooks.test_wire import _snippet

pytestmark = pytest.mark.skipif(shutil.which("php") is None, reason="php-cli is not installed")

SECRET_FILE = "secret.txt"
RECEIVER = """<?php
{snippet}
$body = file_get_contents('php://input');
if (($_POST['type'] ?? '') === 'verification') {{ echo $_POST['token']; exit; }}
$secret = trim(file_get_contents(__DIR__ . '/secret.txt'));
$ok = verified($_SERVER['HTTP_X_BOUNCELOOP_SIGNATURE'] ?? '', $body, $secret);
$n = count(glob(__DIR__ . '/call-*.json'));
file_put_contents(__DIR__ . "/call-$n.json", json_encode([
    'signed' => $ok, 'post' => $_POST, 'event' => $_SERVER['HTTP_X_BOUNCELOOP_EVENT'],
    'type' => $_SERVER['CONTENT_TYPE']]));
http_response_code($ok ? 200 : 401);
"""


@pytest.fixture
def php_server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "php"
    root.mkdir()
    (root / "index.php").write_text(RECEIVER.format(snippet=_snippet("php").strip()
                                                    .removeprefix("<?php")))
    port = free_port()
    proc = subprocess.Popen(["php", "-S", f"127.0.0.1:{port}", "-t", str(root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/index.php"
    finally:
        proc.terminate()
        proc.wait(10)


async def test_php_receives_verifies_and_decodes(engine: Engine, settings: Settings,
                                                 php_server: str, tmp_path: Path) -> None:
    made = await manage.add(settings, engine, manage.Spec(
        url=php_server, triggers=["failure"], verify=True))
    assert not isinstance(made, manage.guard.Refused)
    (tmp_path / "php" / SECRET_FILE).write_text(made.secret)
    called = await manage.verify(settings, engine, made)
    assert called.ok, called.describe()
    tags = ["a&b", "x=y", "[z]", "a[]", "ünï", "%41", "+", ""]
    write(engine, [failure("m1", tags=tags), failure("m2", tags=[])])
    async with running(settings, engine):
        await until(lambda: job_status(engine) == ["done", "done"], 20)
    calls = [json.loads(p.read_text()) for p in sorted((tmp_path / "php").glob("call-*.json"))]
    assert len(calls) == 2 and all(c["signed"] for c in calls)
    assert {c["type"] for c in calls} == {"application/x-www-form-urlencoded"}
    by_id = {c["post"]["id"]: c["post"] for c in calls}
    assert by_id["m1"]["tags"] == tags
    assert "tags" not in by_id["m2"]  # an empty list: no field ($_POST['tags'] ?? [])
    assert by_id["m1"]["extended"] == "5.1.1" and by_id["m1"]["step"] == "4"
