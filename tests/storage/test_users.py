"""storage.users: scrypt hashes, bad names and passwords, the login limits (per name and
client, per client, per name across clients), sessions (expiry, sliding, ending), on both
backends."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from bounceloop.storage import users
from bounceloop.storage.tables import login_failures, sessions
from bounceloop.storage.tables import users as users_table
from bounceloop.storage.tokens import digest

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A low scrypt cost (a real one takes some 60 ms, and these tests log in many times);
    tests about the hash itself ask for ``real_cost``."""
    monkeypatch.setattr(users, "SCRYPT_N", 2**4)
    users._dummy_hash.cache_clear()
    yield
    users._dummy_hash.cache_clear()


@pytest.fixture
def real_cost(cheap_scrypt: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "SCRYPT_N", 2**14)


def _add(engine: Engine, name: str = "ann", password: str = PASSWORD) -> int:
    with engine.begin() as conn:
        return users.add(conn, name, password, now=T0)


def _login(engine: Engine, password: str, at: datetime, name: str = "ann",
           client: str = "192.0.2.1") -> users.User | None:
    with engine.begin() as conn:
        return users.authenticate(conn, name, password, at, client=client)


def _stored_hash(engine: Engine, name: str = "ann") -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(users_table.c.password)
                                .where(users_table.c.name == name)).scalar_one())


# --- users -----------------------------------------------------------------------------------

#: (name, password, the error): what add() refuses.
REFUSED = [
    ("", PASSWORD, "cannot be empty"),
    ("   ", PASSWORD, "cannot be empty"),
    ("\t\n", PASSWORD, "cannot be empty"),
    ("x" * 101, PASSWORD, "at most 100 characters, not 101"),
    (" ann", PASSWORD, "start or end with whitespace"),
    ("ann ", PASSWORD, "start or end with whitespace"),
    ("an\x00n", PASSWORD, "control characters"),
    ("ann", "", "at least 8 characters"),
    ("ann", "1234567", "at least 8 characters"),
    ("ann", "é" * 7, "at least 8 characters"),
]
#: (name, password): the edges add() accepts.
ACCEPTED = [
    ("x" * 100, "12345678"),
    ("Ann Smith", " " * 8),
    ("ännchen", "pässwörd"),
]


def test_bad_names_and_passwords_are_refused(engine: Engine) -> None:
    for name, password, message in REFUSED:
        with engine.begin() as conn, pytest.raises(ValueError, match=message):
            users.add(conn, name, password, now=T0)
    with engine.connect() as conn:
        assert users.listing(conn) == []
    for name, password in ACCEPTED:
        _add(engine, name, password)
        assert _login(engine, password, T0, name) is not None, name
        assert _login(engine, password[:-1], T0, name) is None, name


def test_a_taken_name_is_refused(engine: Engine) -> None:
    first = _add(engine)
    with engine.begin() as conn, pytest.raises(ValueError, match="user 'ann' exists already"):
        users.add(conn, "ann", "another password")
    with engine.begin() as conn:
        assert users.add(conn, "Ann", "another password") != first  # names are case-sensitive
        assert [u.name for u in users.listing(conn)] == ["Ann", "ann"]


@pytest.mark.usefixtures("real_cost")
def test_hash_format_and_a_salt_per_user(engine: Engine) -> None:
    _add(engine, "ann")
    _add(engine, "bob")
    ann, bob = _stored_hash(engine, "ann"), _stored_hash(engine, "bob")
    assert PASSWORD not in ann
    for stored in (ann, bob):
        match = re.fullmatch(r"scrypt\$16384\$8\$1\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)",
                             stored)
        assert match, stored
        assert len(base64.b64decode(match[1])) == 16
        assert len(base64.b64decode(match[2])) == 32
        assert users.verify_password(PASSWORD, stored)
        assert not users.verify_password(PASSWORD + "x", stored)
        assert not users.needs_rehash(stored)
    assert ann != bob
    assert ann.split("$")[4] != bob.split("$")[4]


@pytest.mark.parametrize("stored", [
    "",
    "plain text",
    "bcrypt$16384$8$1$c2FsdA==$aGFzaA==",
    "scrypt$16384$8$1$c2FsdA==",
    "scrypt$x$8$1$c2FsdA==$aGFzaA==",
    "scrypt$1000$8$1$c2FsdA==$aGFzaA==",          # N not a power of two
    "scrypt$16384$0$1$c2FsdA==$aGFzaA==",
    "scrypt$16384$8$99$c2FsdA==$aGFzaA==",        # p beyond the bound
    "scrypt$1073741824$8$1$c2FsdA==$aGFzaA==",    # memory beyond the bound
    "scrypt$16384$8$1$not base64!$aGFzaA==",
    "scrypt$16384$8$1$$aGFzaA==",
])
def test_malformed_hashes_never_verify(stored: str) -> None:
    assert not users.verify_password(PASSWORD, stored)
    assert users.needs_rehash(stored)


@pytest.mark.usefixtures("real_cost")
def test_verification_reads_the_parameters_and_login_rehashes(engine: Engine) -> None:
    """A hash made at another cost still verifies; a login stores it at the current one."""
    old = users.hash_password(PASSWORD, n=2**10, r=4)
    assert old.startswith("scrypt$1024$4$1$") and users.verify_password(PASSWORD, old)
    assert users.needs_rehash(old)
    _add(engine)
    with engine.begin() as conn:
        conn.execute(users_table.update().values(password=old))
    assert _login(engine, PASSWORD, T0) is not None
    new = _stored_hash(engine)
    assert new.startswith("scrypt$16384$8$1$") and users.verify_password(PASSWORD, new)


def test_wrong_password_and_unknown_name_fail(engine: Engine) -> None:
    _add(engine)
    assert _login(engine, "wrong password", T0) is None
    assert _login(engine, PASSWORD.upper(), T0) is None
    assert _login(engine, PASSWORD, T0, name="nobody") is None
    assert _login(engine, PASSWORD, T0, name="Ann") is None
    at = T0 + timedelta(minutes=5)
    user = _login(engine, PASSWORD, at)
    assert user is not None and user.name == "ann" and user.last_login_at == at
    with engine.connect() as conn:
        stored = users.get(conn, "ann")
    assert stored == user
    assert stored is not None and stored.failed_logins == 0 and stored.created_at == T0


def _counting_scrypt(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one with each scrypt run from now on."""
    users._dummy_hash()
    real = users._scrypt
    calls: list[int] = []

    def counting(*args: object) -> bytes:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(users, "_scrypt", counting)
    return calls


def test_every_login_runs_one_scrypt(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Known, unknown and locked names cost the same, so timing does not tell them apart."""
    _add(engine)
    calls = _counting_scrypt(monkeypatch)
    for name, password in [("nobody", PASSWORD), ("ann", "wrong"), ("ann", PASSWORD)]:
        calls.clear()
        _login(engine, password, T0, name)
        assert len(calls) == 1, name
    _failures(engine, users.MAX_FAILURES, T0 + timedelta(seconds=1))
    calls.clear()
    assert _login(engine, PASSWORD, T0 + timedelta(seconds=2)) is None  # locked
    assert len(calls) == 1


def _failures(engine: Engine, count: int, at: datetime, client: str = "192.0.2.1",
              names: list[str] | None = None) -> None:
    for n in range(count):
        name = names[n % len(names)] if names else "ann"
        assert _login(engine, "wrong password", at, name, client) is None


def _state(engine: Engine) -> tuple[int, datetime | None]:
    with engine.connect() as conn:
        user = users.get(conn, "ann")
    assert user is not None
    return user.failed_logins, user.locked_until


def test_five_failures_lock_the_name_for_that_client_only(engine: Engine) -> None:
    """Whoever guesses at a name from one client cannot lock its owner out."""
    _add(engine)
    _failures(engine, 4, T0)
    assert _login(engine, PASSWORD, T0 + timedelta(seconds=1), client="203.0.113.9") is not None
    _failures(engine, 4, T0 + timedelta(seconds=2))  # a success ended the row before
    assert _state(engine) == (4, None)
    _failures(engine, 1, T0 + timedelta(seconds=3))
    unlock = T0 + timedelta(seconds=63)
    assert _state(engine) == (5, None)  # no lock for everyone
    # Locked for that client: even the right password fails, and the attempts are not
    # counted; another client logs in.
    for at in (T0 + timedelta(seconds=4), unlock - timedelta(microseconds=1)):
        assert _login(engine, PASSWORD, at) is None
    _failures(engine, 3, T0 + timedelta(seconds=30))
    assert _state(engine) == (5, None)
    user = _login(engine, PASSWORD, T0 + timedelta(seconds=31), client="203.0.113.9")
    assert user is not None and user.failed_logins == 0
    assert _state(engine) == (0, None)
    # Its success ended the row: the first client may try again at once.
    assert _login(engine, PASSWORD, T0 + timedelta(seconds=32)) is not None


def test_the_lock_lasts_a_minute_and_each_fifth_failure_locks_again(engine: Engine) -> None:
    _add(engine)
    first = T0 + timedelta(seconds=1)  # after the user was made: "in a row" starts there
    _failures(engine, 5, first)
    assert _login(engine, PASSWORD, first + users.LOCK_TIME - timedelta(microseconds=1)) is None
    later = T0 + timedelta(minutes=2)
    _failures(engine, 4, later)
    assert _state(engine) == (9, None)
    _failures(engine, 1, later)
    assert _login(engine, PASSWORD, later + timedelta(seconds=59)) is None
    assert _login(engine, PASSWORD, later + users.LOCK_TIME) is not None


def test_a_client_failing_at_many_names_is_refused(engine: Engine,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """CLIENT_MAX_FAILURES in the window, at any names (unknown ones too), and the client is
    refused everything, without an scrypt, until the first of them is WINDOW old."""
    _add(engine)
    names = ["ann", "root", "admin", "bob"]
    _failures(engine, users.CLIENT_MAX_FAILURES - 1, T0, names=names)
    with engine.connect() as conn:
        assert users.client_wait(conn, "192.0.2.1", T0) is None
    later = T0 + timedelta(minutes=5)
    _failures(engine, 1, later, names=["carol"])
    with engine.connect() as conn:
        assert users.client_wait(conn, "192.0.2.1", later) == timedelta(minutes=10)
        assert users.client_wait(conn, "192.0.2.2", later) is None
    calls = _counting_scrypt(monkeypatch)
    assert _login(engine, PASSWORD, later) is None
    assert calls == []
    assert _login(engine, PASSWORD, later, client="192.0.2.2") is not None
    assert calls == [1]
    free = T0 + users.WINDOW
    assert _login(engine, PASSWORD, free - timedelta(microseconds=1)) is None
    assert _login(engine, PASSWORD, free) is not None


def test_a_success_does_not_reset_the_clients_count(engine: Engine) -> None:
    """Else a client could clear its count now and then at an account of its own."""
    _add(engine)
    _add(engine, "eve")
    for n in range(users.CLIENT_MAX_FAILURES):
        at = T0 + timedelta(seconds=2 * n)
        assert _login(engine, PASSWORD, at, "eve") is not None
        _failures(engine, 1, at + timedelta(seconds=1), names=[f"guess{n}"])
    assert _login(engine, PASSWORD, T0 + timedelta(minutes=1), "eve") is None
    with engine.connect() as conn:
        assert users.client_wait(conn, "192.0.2.1", T0 + timedelta(minutes=1)) is not None


def test_failures_from_several_clients_lock_the_name_for_everyone(engine: Engine) -> None:
    """Guessing spread over clients, each under its own limits: NAME_MAX_CLIENTS of them in a
    row and each further failure locks the name for every client for LOCK_TIME."""
    _add(engine)
    clients = [f"198.51.100.{n}" for n in range(users.NAME_MAX_CLIENTS)]
    for n, client in enumerate(clients[:-1], start=1):
        _failures(engine, 1, T0 + timedelta(seconds=n), client)
    assert _state(engine) == (len(clients) - 1, None)
    at = T0 + timedelta(seconds=10)
    _failures(engine, 1, at, clients[-1])
    assert _state(engine) == (len(clients), at + users.LOCK_TIME)
    assert _login(engine, PASSWORD, at + timedelta(seconds=59), client="203.0.113.9") is None
    assert _state(engine) == (len(clients), at + users.LOCK_TIME)  # refused, not counted
    # Still spread over as many clients: the next failure locks again.
    again = at + users.LOCK_TIME
    _failures(engine, 1, again, clients[0])
    assert _state(engine) == (len(clients) + 1, again + users.LOCK_TIME)
    user = _login(engine, PASSWORD, again + users.LOCK_TIME, client="203.0.113.9")
    assert user is not None and _state(engine) == (0, None)


def test_failures_older_than_the_window_are_forgotten(engine: Engine) -> None:
    _add(engine)
    _failures(engine, 3, T0, "198.51.100.1", names=["ann", "x"])
    _failures(engine, 1, T0 + timedelta(minutes=1), "198.51.100.2")
    later = T0 + users.WINDOW + timedelta(seconds=30)
    _failures(engine, 1, later, "198.51.100.3")
    with engine.connect() as conn:
        kept = conn.execute(select(login_failures.c.client, login_failures.c.name)
                            .order_by(login_failures.c.id)).all()
    assert [tuple(r) for r in kept] == [("198.51.100.2", "ann"), ("198.51.100.3", "ann")]
    assert _state(engine) == (4, None)  # two clients in the window: no lock


def test_names_are_kept_as_typed_within_the_column(engine: Engine) -> None:
    _failures(engine, 1, T0, names=["x" * (users.MAX_NAME + 10)])
    with engine.connect() as conn:
        assert conn.execute(select(login_failures.c.name)).scalar_one() == "x" * users.MAX_NAME


def test_a_success_resets_the_count(engine: Engine) -> None:
    _add(engine)
    _failures(engine, 4, T0)
    assert _login(engine, PASSWORD, T0) is not None
    _failures(engine, 4, T0 + timedelta(seconds=1))
    assert _state(engine) == (4, None)
    assert _login(engine, PASSWORD, T0 + timedelta(seconds=1)) is not None


def test_set_password_lifts_the_locks_and_ends_sessions(engine: Engine) -> None:
    user_id = _add(engine)
    with engine.begin() as conn:
        token, _ = users.start(conn, user_id, T0)
    failed = T0 + timedelta(seconds=1)
    _failures(engine, 5, failed)
    for n in range(users.NAME_MAX_CLIENTS):
        _failures(engine, 1, failed, f"198.51.100.{n}")
    assert _state(engine)[1] == failed + users.LOCK_TIME
    later = T0 + timedelta(hours=1)
    changed = T0 + timedelta(seconds=2)
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="at least 8"):
            users.set_password(conn, "ann", "short", now=later)
        assert not users.set_password(conn, "nobody", "new password", now=later)
        assert users.set_password(conn, "ann", "new password", now=changed)
        assert users.lookup(conn, token, T0 + timedelta(seconds=2)) is None
        user = users.get(conn, "ann")
    assert user is not None and user.updated_at == changed
    assert _state(engine) == (0, None)
    assert _login(engine, PASSWORD, changed) is None
    assert _login(engine, "new password", changed) is not None


def test_listing_and_remove(engine: Engine) -> None:
    ann = _add(engine, "ann")
    bob = _add(engine, "bob")
    _login(engine, PASSWORD, T0 + timedelta(hours=1), "bob")
    with engine.begin() as conn:
        tokens = [users.start(conn, ann, T0)[0], users.start(conn, ann, T0)[0]]
        bobs, _ = users.start(conn, bob, T0)
        listed = users.listing(conn)
        assert [(u.name, u.last_login_at) for u in listed] == [
            ("ann", None), ("bob", T0 + timedelta(hours=1))]
        assert listed[1].public() == {
            "id": bob, "name": "bob", "created_at": T0.isoformat(),
            "updated_at": T0.isoformat(), "last_login_at": (T0 + timedelta(hours=1)).isoformat(),
            "failed_logins": 0, "locked_until": None}
        assert users.remove(conn, "ann")
        assert not users.remove(conn, "ann")
        assert [users.lookup(conn, t, T0) for t in tokens] == [None, None]
        assert users.lookup(conn, bobs, T0) is not None
        assert conn.execute(select(sessions.c.user_id)).scalars().all() == [bob]
        assert [u.name for u in users.listing(conn)] == ["bob"]
    assert _login(engine, PASSWORD, T0, "ann") is None


# --- sessions --------------------------------------------------------------------------------

def test_session_tokens_are_stored_hashed(engine: Engine) -> None:
    user_id = _add(engine)
    with engine.begin() as conn:
        token, csrf = users.start(conn, user_id, T0)
        other, other_csrf = users.start(conn, user_id, T0)
        row = conn.execute(select(sessions)).all()[0]
    assert token.startswith("bls_") and len(token) == 4 + 43
    assert len(csrf) == 43 and token != other and csrf != other_csrf
    assert token not in row and row.digest == digest(token)
    assert row.csrf == csrf
    with engine.begin() as conn:
        session = users.lookup(conn, token, T0)
    assert session == users.Session(user_id, "ann", csrf, T0 + timedelta(hours=12))
    assert session.csrf_ok(csrf) and not session.csrf_ok(other_csrf)
    assert not session.csrf_ok("") and not session.csrf_ok("é")


def test_unknown_tokens_have_no_session(engine: Engine) -> None:
    user_id = _add(engine)
    with engine.begin() as conn:
        real, _ = users.start(conn, user_id, T0)
        for token in ["", "bls_", "bls_nothing", "blt_x", "garbage", real[:-1], real + "x",
                      real.removeprefix("bls_")]:
            assert users.lookup(conn, token, T0) is None, token
            assert not users.end(conn, token), token
        assert users.lookup(conn, real, T0) is not None


#: (ttl, age at the first use, whether the session is still alive then).
EXPIRY = [
    (users.SESSION_TTL, timedelta(0), True),
    (users.SESSION_TTL, timedelta(hours=12) - timedelta(microseconds=1), True),
    (users.SESSION_TTL, timedelta(hours=12), False),
    (users.SESSION_TTL, timedelta(days=3), False),
    (timedelta(minutes=5), timedelta(minutes=4, seconds=59), True),
    (timedelta(minutes=5), timedelta(minutes=5), False),
]


def test_sessions_expire_after_their_ttl(engine: Engine) -> None:
    user_id = _add(engine)
    with engine.begin() as conn:
        for ttl, age, alive in EXPIRY:
            token, _ = users.start(conn, user_id, T0, ttl=ttl)
            assert (users.lookup(conn, token, T0 + age) is not None) is alive, (ttl, age)


def test_ttl_must_be_positive(engine: Engine) -> None:
    user_id = _add(engine)
    with engine.begin() as conn, pytest.raises(ValueError, match="positive"):
        users.start(conn, user_id, T0, ttl=timedelta(0))


def _seen(engine: Engine) -> tuple[datetime, datetime]:
    with engine.connect() as conn:
        row = conn.execute(select(sessions.c.last_seen_at, sessions.c.expires_at)).one()
    return row.last_seen_at, row.expires_at


def test_use_slides_the_expiry_at_most_once_a_minute(engine: Engine) -> None:
    user_id = _add(engine)
    ttl = timedelta(hours=1)
    with engine.begin() as conn:
        token, _ = users.start(conn, user_id, T0, ttl=ttl)
    # (time of use, last_seen_at and expires_at after it): writes only a minute after the last.
    steps = [
        (T0 + timedelta(seconds=59), T0),
        (T0 + timedelta(seconds=60), T0 + timedelta(seconds=60)),
        (T0 + timedelta(seconds=90), T0 + timedelta(seconds=60)),
        (T0 + timedelta(minutes=50), T0 + timedelta(minutes=50)),
        (T0 + timedelta(minutes=100), T0 + timedelta(minutes=100)),  # past the first hour
    ]
    for at, seen in steps:
        with engine.begin() as conn:
            session = users.lookup(conn, token, at)
        assert session is not None and session.expires_at == seen + ttl, at
        assert _seen(engine) == (seen, seen + ttl)
    with engine.begin() as conn:  # unused for the ttl: gone
        assert users.lookup(conn, token, T0 + timedelta(minutes=160)) is None


def test_a_read_only_lookup_writes_nothing_and_says_when_a_slide_is_due(engine: Engine
                                                                       ) -> None:
    user_id = _add(engine)
    ttl = timedelta(hours=1)
    with engine.begin() as conn:
        token, _ = users.start(conn, user_id, T0, ttl=ttl)
    for at, due in [(T0 + timedelta(seconds=30), False), (T0 + timedelta(minutes=5), True)]:
        with engine.connect() as conn:
            session = users.lookup(conn, token, at, slide=False)
        assert session is not None and session.slide_due is due
        assert _seen(engine) == (T0, T0 + ttl)  # nothing written
    with engine.begin() as conn:
        session = users.lookup(conn, token, T0 + timedelta(minutes=5))
    assert session is not None and not session.slide_due
    assert _seen(engine) == (T0 + timedelta(minutes=5), T0 + timedelta(minutes=65))


def test_end_and_purge(engine: Engine) -> None:
    user_id = _add(engine)
    with engine.begin() as conn:
        ended, _ = users.start(conn, user_id, T0)
        short, _ = users.start(conn, user_id, T0, ttl=timedelta(minutes=10))
        long, _ = users.start(conn, user_id, T0, ttl=timedelta(days=1))
        assert users.end(conn, ended)
        assert not users.end(conn, ended)
        assert users.lookup(conn, ended, T0) is None
        assert users.purge(conn, T0 + timedelta(minutes=9)) == 0
        assert users.purge(conn, T0 + timedelta(minutes=10)) == 1
        assert users.purge(conn, T0 + timedelta(minutes=10)) == 0
        assert users.lookup(conn, long, T0 + timedelta(minutes=10)) is not None
        assert conn.execute(select(sessions.c.digest)).scalars().all() == [digest(long)]
    assert short != long
