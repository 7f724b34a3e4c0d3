"""The webhook wire format and signatures, decoded by the receivers users actually run:
PHP's own parse_str (Debian php-cli) and Python's form parser; docs/webhooks.md's verification
snippets, in Python and in PHP, run as written."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from bounceloop.webhooks import fields, form, json_body, sign, verify

WHEN = datetime(2024, 3, 5, 10, 15, 2, tzinfo=UTC)
WEBHOOKS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
PHP = shutil.which("php")
HOSTILE_TAGS = ["news&letter", "a=b", "x[y]", "[]", "héllo ✓", "", "100%", "a+b c"]

FAILURE = {"recipient": "jane@example.org", "action": "failed", "state": "rcptto",
           "code": "550", "extended": "5.1.1", "description": "5.1.1 User unknown",
           "tags": ["newsletter", "2024-03"], "reason": "userunknown", "severity": "hard",
           "step": 4, "errortype": "error", "mailing": 7}


def php_parse_str(body: bytes) -> Any:
    if PHP is None:
        pytest.fail("php-cli is missing (Debian package php-cli, packages/debian-test.txt)")
    code = "parse_str(stream_get_contents(STDIN), $out); echo json_encode($out);"
    done = subprocess.run([PHP, "-r", code], input=body, capture_output=True, check=True)
    return json.loads(done.stdout)


def test_failure_fields_in_the_spec_order_then_ours() -> None:
    items = fields("failure", "9f3c2a7e51", WHEN, FAILURE)
    assert [k for k, _ in items] == [
        "id", "type", "timestamp", "time", "recipient", "action", "state", "code", "extended",
        "description", "tags", "reason", "severity", "step", "errortype", "mailing",
        "reported_recipient", "rule", "matched", "detector", "expired", "status_field"]
    assert form(items).startswith(
        b"id=9f3c2a7e51&type=failure&timestamp=2024-03-05+10%3A15%3A02&time=1709633702"
        b"&recipient=jane%40example.org&action=failed&state=rcptto&code=550&extended=5.1.1"
        b"&description=5.1.1+User+unknown&tags[]=newsletter&tags[]=2024-03&reason=userunknown")
    strict = fields("failure", "9f3c2a7e51", WHEN, FAILURE, extras=False)
    assert [k for k, _ in strict][-1] == "tags"


@pytest.mark.parametrize(("trigger", "data", "names"), [
    ("bounce", {"recipient": "a@b.test", "envelope": "b-1@x", "mime": "From: x\r\n\r\nbody",
                "tags": ["t"], "kind": "failure"},
     ["id", "type", "timestamp", "time", "recipient", "envelope", "mime", "tags", "kind",
      "reason", "mailing", "tied", "reported_recipient", "rule", "matched", "detector",
      "expired"]),
    ("delivery", {"recipient": "a@b.test", "code": "250", "extended": "2.0.0",
                  "description": "ok", "tags": []},
     ["id", "type", "timestamp", "time", "recipient", "code", "extended", "description",
      "tags", "state", "mailing"]),
    ("complaint", {"recipient": "a@b.test", "feedback_type": "abuse", "tags": ["t"]},
     ["id", "type", "timestamp", "time", "recipient", "feedback_type", "tags", "mailing",
      "reported_recipient"]),
])
def test_each_trigger_has_its_fields(trigger: str, data: dict[str, Any],
                                     names: list[str]) -> None:
    assert [k for k, _ in fields(trigger, "m1", WHEN, data)] == names


def test_a_failure_says_why_in_its_extras() -> None:
    """The rule that decided the reason, the text it matched, the detector and the expiry
    (issue 18), after the other extras; left out with the extras."""
    data = {**FAILURE, "reason": "blocked", "rule": "phrase:blocked/greylist",
            "matched": "greylist", "detector": "exim", "expired": True,
            "status_field": "5.0.0"}
    body = form(fields("failure", "9f3c2a7e51", WHEN, data))
    assert body.endswith(b"&reported_recipient=&rule=phrase%3Ablocked%2Fgreylist"
                         b"&matched=greylist&detector=exim&expired=1&status_field=5.0.0")
    assert b"rule=" not in form(fields("failure", "9f3c2a7e51", WHEN, data, extras=False))


def test_an_untied_bounce_says_tied_0_and_names_no_recipient() -> None:
    """A returned message tied to no message we sent (inbound.correlate): the receiver
    must be able to tell it from one that is, in the form body as PHP reads it."""
    data = {"id": "", "recipient": "", "envelope": "abuse@bounces.test", "mime": "x",
            "tags": [], "kind": "failure", "tied": 0,
            "reported_recipient": "victim@example.org"}
    body = form(fields("bounce", "", WHEN, data))
    assert b"&tied=0&reported_recipient=victim%40example.org" in body
    assert body.startswith(b"id=&type=bounce&")
    assert b"&recipient=&" in body


def test_an_unknown_trigger_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown trigger 'open'"):
        fields("open", "m1", WHEN, {})


@pytest.mark.parametrize("tags", [HOSTILE_TAGS, [], ["only"]], ids=["hostile", "empty", "one"])
def test_php_parse_str_reads_what_we_send(tags: list[str]) -> None:
    data = {**FAILURE, "tags": tags, "description": "550 5.1.1 <jane@example.org>: a=b&c"}
    body = form(fields("failure", "9f3c", WHEN, data))
    decoded = php_parse_str(body)
    assert decoded["description"] == data["description"]
    assert decoded["recipient"] == "jane@example.org"
    assert decoded["timestamp"] == "2024-03-05 10:15:02" and decoded["time"] == "1709633702"
    # PHP has no spelling for an empty array in a form: the field is absent, not [""].
    assert decoded.get("tags", []) == tags
    assert set(decoded) == {k for k, _ in fields("failure", "9f3c", WHEN, data)} - (
        set() if tags else {"tags"})


def test_maps_and_python_form_parsing() -> None:
    body = form([("id", "m"), ("fields", {"name": "Ann & Bob", "city": "Zürich"}),
                 ("tags", ["a=b", "c"])])
    assert php_parse_str(body) == {"id": "m", "fields": {"name": "Ann & Bob",
                                                           "city": "Zürich"},
                                   "tags": ["a=b", "c"]}
    assert parse_qsl(body.decode(), keep_blank_values=True) == [
        ("id", "m"), ("fields[name]", "Ann & Bob"), ("fields[city]", "Zürich"),
        ("tags[]", "a=b"), ("tags[]", "c")]


def test_json_body_has_the_same_fields() -> None:
    items = fields("failure", "9f3c", WHEN, FAILURE)
    assert json.loads(json_body(items)) == dict(items)


def test_signature_verifies_fails_when_tampered_old_or_another_key() -> None:
    body = form(fields("failure", "9f3c", WHEN, FAILURE))
    header = sign(["s1"], 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert verify(header, body, "s1", now=1_700_000_100)
    assert not verify(header, body + b"&x=1", "s1", now=1_700_000_100)
    assert not verify(header, body, "s2", now=1_700_000_100)
    assert not verify(header, body, "s1", now=1_700_000_000 + 301)
    assert not verify("v1=abc", body, "s1", now=1_700_000_000)
    # Rotation: both secrets sign, a receiver with either accepts.
    both = sign(["old", "new"], 1_700_000_000, body)
    assert verify(both, body, "old", now=1_700_000_000)
    assert verify(both, body, "new", now=1_700_000_000)


def _snippet(language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", WEBHOOKS.read_text(), re.S)
    [code] = [b for b in blocks if "verified" in b]
    return code


def test_the_readme_python_snippet_verifies_and_rejects() -> None:
    import time

    scope: dict[str, Any] = {}
    exec(compile(_snippet("python"), "docs/webhooks.md", "exec"), scope)
    body = form(fields("failure", "9f3c", WHEN, {**FAILURE, "tags": HOSTILE_TAGS}))
    header = sign(["whsec"], int(time.time()), body)
    assert scope["verified"](header, body, "whsec")
    assert not scope["verified"](header, body.replace(b"550", b"250"), "whsec")
    assert not scope["verified"](sign(["whsec"], int(time.time()) - 3600, body), body, "whsec")


def test_the_readme_php_snippet_verifies_and_rejects(tmp_path: Path) -> None:
    import time

    if PHP is None:
        pytest.fail("php-cli is missing (Debian package php-cli, packages/debian-test.txt)")
    body = form(fields("failure", "9f3c", WHEN, {**FAILURE, "tags": HOSTILE_TAGS}))
    good = sign(["old", "whsec"], int(time.time()), body)
    script = tmp_path / "check.php"
    script.write_text("<?php\n" + _snippet("php") + """
$body = file_get_contents($argv[1]);
echo json_encode([verified($argv[2], $body, 'whsec'), verified($argv[2], $body . 'x', 'whsec'),
                  verified($argv[2], $body, 'other')]);
""")
    (tmp_path / "body").write_bytes(body)
    done = subprocess.run([PHP, str(script), str(tmp_path / "body"), good],
                          capture_output=True, check=True)
    assert json.loads(done.stdout) == [True, False, False]


def test_form_is_urlencode_of_the_bracketed_pairs() -> None:
    """The encoder's shortcuts for plain strings and ints give what the standard library's
    urlencode gives for the same pairs (bools as PHP's 1/0, bytes as they are)."""
    from urllib.parse import quote_plus, urlencode

    from hypothesis import given, settings
    from hypothesis import strategies as st

    scalar = st.one_of(st.text(), st.integers(), st.booleans(), st.binary())
    value = st.one_of(scalar, st.lists(scalar, max_size=3),
                      st.dictionaries(st.text(max_size=5), scalar, max_size=3))

    def flat(key: str, v: Any) -> list[tuple[str, str | bytes]]:
        if isinstance(v, dict):
            return [p for k, x in v.items() for p in flat(f"{key}[{k}]", x)]
        if isinstance(v, list):
            return [p for x in v for p in flat(f"{key}[]", x)]
        if isinstance(v, bool):
            return [(key, "1" if v else "0")]
        return [(key, v if isinstance(v, bytes) else str(v))]

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(st.text(min_size=1, max_size=8), value), max_size=6))
    def check(items: list[tuple[str, Any]]) -> None:
        pairs = [p for k, v in items for p in flat(k, v)]
        expected = "&".join(
            f"{quote_plus(k, safe='[]')}={urlencode([('', v)], quote_via=quote_plus)[1:]}"
            for k, v in pairs)
        assert form(items) == expected.encode()

    check()
