"""``bounceloop user add|passwd|list|remove``: the real commands on a real database (both
backends), checked through storage.users."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from bounceloop.cli import cli
from bounceloop.storage import users
from bounceloop.storage.engine import create_engine

pytestmark = pytest.mark.usefixtures("clean_environment")

PASSWORD = "correct horse battery"


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def invoke(db: Engine, *args: str, stdin: str | None = None) -> Result:
    url = db.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli, list(args), input=stdin,
                              env={"BOUNCELOOP_DATABASE_URL": url})


def login(db: Engine, name: str, password: str) -> users.User | None:
    with db.begin() as conn:
        return users.authenticate(conn, name, password)


def test_add_then_log_in(db: Engine) -> None:
    added = invoke(db, "user", "add", "ann", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert added.stdout == "user 'ann' added\n"
    user = login(db, "ann", PASSWORD)
    assert user is not None and user.name == "ann"
    assert login(db, "ann", PASSWORD + "\n") is None
    assert login(db, "ann", "wrong password") is None


@pytest.mark.parametrize(("stdin", "password"), [
    ("only line", "only line"),                       # no newline at all
    ("first line\nsecond line\n", "first line"),
    ("windows line\r\n", "windows line"),
    ("  spaces kept  \n", "  spaces kept  "),
])
def test_password_stdin_is_the_first_line(db: Engine, stdin: str, password: str) -> None:
    assert invoke(db, "user", "add", "ann", "--password-stdin", stdin=stdin).exit_code == 0
    assert login(db, "ann", password) is not None


def test_the_prompt_asks_twice_and_hides_the_password(db: Engine) -> None:
    added = invoke(db, "user", "add", "ann", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output
    assert "Password:" in added.output and "Repeat for confirmation:" in added.output
    assert login(db, "ann", PASSWORD) is not None
    mismatch = invoke(db, "user", "add", "bob", stdin=f"{PASSWORD}\nsomething else\n")
    assert mismatch.exit_code != 0 and "do not match" in mismatch.output
    assert login(db, "bob", PASSWORD) is None


def test_refusals(db: Engine) -> None:
    assert invoke(db, "user", "add", "ann", "--password-stdin",
                  stdin=PASSWORD + "\n").exit_code == 0
    # (arguments, stdin, exit status, the message on stderr)
    cases: list[tuple[list[str], str, int, str]] = [
        (["add", "ann", "--password-stdin"], "another password\n", 1,
         "bounceloop: user 'ann' exists already"),
        (["add", "bob", "--password-stdin"], "short\n", 1,
         "bounceloop: a password has at least 8 characters"),
        (["add", "bob", "--password-stdin"], "", 1, "at least 8 characters"),
        (["add", " ", "--password-stdin"], PASSWORD, 2, "cannot be empty"),
        (["add", "x" * 101, "--password-stdin"], PASSWORD, 2, "at most 100 characters"),
        (["add"], "", 2, "Missing argument 'NAME'"),
        (["passwd", "bob", "--password-stdin"], PASSWORD, 1, "bounceloop: no user 'bob'"),
        (["passwd", "ann", "--password-stdin"], "short\n", 1, "at least 8 characters"),
        (["remove", "bob"], "", 1, "bounceloop: no user 'bob'"),
        (["remove"], "", 2, "Missing argument 'NAME'"),
        (["nonsense"], "", 2, "No such command"),
    ]
    for args, stdin, status, message in cases:
        result = invoke(db, "user", *args, stdin=stdin)
        assert (result.exit_code, message in result.stderr) == (status, True), (
            args, result.output)
    with db.connect() as conn:
        assert [u.name for u in users.listing(conn)] == ["ann"]
    assert login(db, "ann", PASSWORD) is not None


def test_passwd_changes_the_password_and_ends_sessions(db: Engine) -> None:
    invoke(db, "user", "add", "ann", "--password-stdin", stdin=PASSWORD + "\n")
    ann = login(db, "ann", PASSWORD)
    assert ann is not None
    with db.begin() as conn:
        token, _ = users.start(conn, ann.id)
    changed = invoke(db, "user", "passwd", "ann", "--password-stdin", stdin="new password\n")
    assert changed.exit_code == 0, changed.output
    assert "password of user 'ann' changed" in changed.stdout
    assert login(db, "ann", PASSWORD) is None
    assert login(db, "ann", "new password") is not None
    with db.begin() as conn:
        assert users.lookup(conn, token) is None
    prompted = invoke(db, "user", "passwd", "ann", stdin="third password\nthird password\n")
    assert prompted.exit_code == 0, prompted.output
    assert login(db, "ann", "third password") is not None


def test_list_and_remove(db: Engine) -> None:
    for name in ("bob", "ann"):
        assert invoke(db, "user", "add", name, "--password-stdin",
                      stdin=PASSWORD + "\n").exit_code == 0
    login(db, "bob", PASSWORD)
    listed = invoke(db, "user", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["name"], r["last_login_at"] is None) for r in rows] == [
        ("ann", True), ("bob", False)]
    assert all("password" not in r for r in rows)
    table = invoke(db, "user", "list")
    assert table.exit_code == 0
    assert "created_at" in table.stdout and "last_login_at" in table.stdout
    assert "ann" in table.stdout and "bob" in table.stdout
    assert "scrypt" not in table.stdout and "scrypt" not in listed.stdout

    bob = login(db, "bob", PASSWORD)
    assert bob is not None
    with db.begin() as conn:
        token, _ = users.start(conn, bob.id)
    removed = invoke(db, "user", "remove", "bob")
    assert removed.exit_code == 0 and removed.stdout == "user 'bob' removed\n"
    assert login(db, "bob", PASSWORD) is None
    with db.begin() as conn:
        assert users.lookup(conn, token) is None
    assert [json.loads(line)["name"] for line in
            invoke(db, "user", "list", "--json").stdout.splitlines()] == ["ann"]
