"""The web UI's user accounts and login sessions.

Passwords and session tokens are both kept only as hashes, but not the same kind of hash:

- A **password** is chosen by a person, so it is guessable: whoever reads the table could
  try millions of candidates a second against a fast hash. It is stored as an scrypt hash
  (stdlib :func:`hashlib.scrypt`, RFC 7914), which costs each guess some 16 MiB of memory
  and tens of milliseconds, with a random 16-byte salt per hash, so two users with the same
  password get different hashes and no table of precomputed hashes helps. The string is
  ``scrypt$N$r$p$<salt>$<hash>`` (standard base64): verification reads N, r and p from it,
  so the cost (:data:`SCRYPT_N` and friends) can be raised later and old hashes still
  verify; a successful login rehashes them at the new cost. Passwords are NFKC-normalised
  first, so the same password typed on different systems (composed or decomposed accents)
  is the same password.
- A **session token** (``bls_`` + 32 random bytes) is made by us: 256 bits cannot be
  guessed, so a slow hash would add cost and no safety. A plain SHA-256 keeps a stolen
  ``sessions`` table from being usable as cookies, and lets :func:`lookup` find the row by
  an indexed equality (as the API tokens in storage.tokens do).

Guessing through the login form is slowed down per user: every :data:`MAX_FAILURES`-th
failed login in a row locks the user for :data:`LOCK_TIME`, during which
:func:`authenticate` refuses even the right password (the attempt is not counted); a success
resets the count. An unknown name costs the same scrypt as a known one (against a dummy
hash), so response times do not tell which names exist. Names are compared exactly
(case-sensitive).

A session lasts its ``ttl`` (12 hours by default) since it was last used: :func:`lookup`
slides ``expires_at`` forward, at most once a minute (:data:`SLIDE_EVERY`) so a busy page
does not write on every request. The ttl is not stored: it is ``expires_at - last_seen_at``,
which every slide keeps. Each session has its own CSRF token, to be echoed in forms and
compared with :meth:`Session.csrf_ok`. Changing a user's password or removing the user ends
all of that user's sessions; :func:`purge` deletes expired ones.

Every function takes the caller's connection and writes in the caller's transaction: call
:func:`authenticate` and :func:`lookup` in a write transaction (``engine.begin()``), since
they may update the row they read (:func:`authenticate` also locks it on PostgreSQL, so
parallel guesses at one user are counted one after the other).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bounceloop.storage.engine import utcnow
from bounceloop.storage.tables import sessions, users
from bounceloop.storage.tokens import digest

#: scrypt cost of new hashes: N (CPU and memory), r (block size), p (parallelism). 2**14, 8, 1
#: need 16 MiB; raise them and older hashes still verify, and are rehashed at login.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
#: Stored hashes asking for more memory or parallelism than this are refused, not computed.
MAX_SCRYPT_MEMORY = 1 << 30
MAX_SCRYPT_P = 16

MAX_NAME = 100
MIN_PASSWORD = 8
#: Every this many failed logins in a row lock the user for LOCK_TIME.
MAX_FAILURES = 5
LOCK_TIME = timedelta(seconds=60)

PREFIX = "bls_"
SESSION_TTL = timedelta(hours=12)
#: A session's expiry moves forward on use at most this often.
SLIDE_EVERY = timedelta(minutes=1)


# --------------------------------------------------------------------------------------------
# Passwords
# --------------------------------------------------------------------------------------------

def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    secret = unicodedata.normalize("NFKC", password).encode("utf-8")
    # OpenSSL refuses above maxmem (32 MiB by default): allow what N and r need, so raised
    # parameters work (its own estimate is 128*r*(N+p+2) bytes).
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, dklen=size,
                          maxmem=128 * r * (n + p + 2) + (1 << 20))


def hash_password(password: str, *, n: int | None = None, r: int | None = None,
                  p: int | None = None) -> str:
    """``scrypt$N$r$p$<salt b64>$<hash b64>`` of ``password`` with a fresh random salt, at
    the current cost unless told otherwise."""
    n, r, p = n or SCRYPT_N, r or SCRYPT_R, p or SCRYPT_P
    salt = secrets.token_bytes(SALT_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_scrypt(password, salt, n, r, p, HASH_BYTES))}"


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    """(N, r, p, salt, hash) of a stored hash; None for anything malformed or out of bounds."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        expected = base64.b64decode(parts[5], validate=True)
    except ValueError:  # binascii.Error is a ValueError
        return None
    if (n < 2 or n & (n - 1) or r < 1 or not 1 <= p <= MAX_SCRYPT_P
            or 128 * r * (n + p) > MAX_SCRYPT_MEMORY or not salt or not expected):
        return None
    return n, r, p, salt, expected


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (compared in constant time)."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    n, r, p, salt, expected = parsed
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(expected)), expected)


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with other parameters than new hashes get."""
    parsed = _parse(stored)
    if parsed is None:
        return True
    n, r, p, _, expected = parsed
    return (n, r, p, len(expected)) != (SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)


@cache
def _dummy_hash() -> str:
    """A hash no password is known for: what an unknown name is checked against."""
    return hash_password(secrets.token_urlsafe(32))


def check_name(name: str) -> None:
    """ValueError (with the reason) for a name a user cannot have."""
    if not name or name.isspace():
        raise ValueError("a user name cannot be empty")
    if len(name) > MAX_NAME:
        raise ValueError(f"a user name has at most {MAX_NAME} characters, not {len(name)}")
    if name != name.strip():
        raise ValueError("a user name cannot start or end with whitespace")
    if not name.isprintable():
        raise ValueError("a user name cannot contain control characters")


def check_password(password: str) -> None:
    """ValueError (with the reason) for a password too weak to accept."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password has at least {MIN_PASSWORD} characters")


# --------------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class User:
    """A user, without the password hash."""

    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None
    failed_logins: int
    locked_until: datetime | None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("created_at", "updated_at", "last_login_at", "locked_until"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


_USER: tuple[Any, ...] = (users.c.id, users.c.name, users.c.created_at, users.c.updated_at,
         users.c.last_login_at, users.c.failed_logins, users.c.locked_until)


def _user(r: Row[Any]) -> User:
    return User(r.id, r.name, r.created_at, r.updated_at, r.last_login_at, r.failed_logins,
                r.locked_until)


def add(conn: Connection, name: str, password: str, now: datetime | None = None) -> int:
    """A new user: its id. ValueError for a taken or bad name, or a short password."""
    check_name(name)
    check_password(password)
    now = now or utcnow()
    stmt: Any = (postgresql.insert(users) if conn.dialect.name == "postgresql"
                 else sqlite.insert(users))
    user_id = conn.execute(stmt.values(
        name=name, password=hash_password(password), created_at=now, updated_at=now,
        failed_logins=0).on_conflict_do_nothing(index_elements=["name"])
        .returning(users.c.id)).scalar_one_or_none()
    if user_id is None:
        raise ValueError(f"user {name!r} exists already")
    return int(user_id)


def get(conn: Connection, name: str) -> User | None:
    row = conn.execute(select(*_USER).where(users.c.name == name)).first()
    return None if row is None else _user(row)


def listing(conn: Connection) -> list[User]:
    """Every user, by name."""
    return [_user(r) for r in conn.execute(select(*_USER).order_by(users.c.name))]


def set_password(conn: Connection, name: str, password: str,
                 now: datetime | None = None) -> bool:
    """Replace ``name``'s password, lift a lock and end the user's sessions (a new password
    is often the answer to a leaked one). False: no such user. ValueError: a short password.
    """
    check_password(password)
    user_id = conn.execute(update(users).where(users.c.name == name).values(
        password=hash_password(password), updated_at=now or utcnow(), failed_logins=0,
        locked_until=None).returning(users.c.id)).scalar_one_or_none()
    if user_id is None:
        return False
    end_all(conn, int(user_id))
    return True


def remove(conn: Connection, name: str) -> bool:
    """Remove the user and end its sessions. False: no such user."""
    user_id = conn.execute(select(users.c.id).where(users.c.name == name)).scalar_one_or_none()
    if user_id is None:
        return False
    end_all(conn, int(user_id))
    conn.execute(delete(users).where(users.c.id == user_id))
    return True


def authenticate(conn: Connection, name: str, password: str,
                 now: datetime | None = None) -> User | None:
    """The user, when ``password`` is right and the user is not locked; else None.

    A failure counts towards the lock; a success resets the count, sets ``last_login_at``
    and rehashes a password stored at an older cost. Every call runs one scrypt, whether
    the name exists, is locked or not.
    """
    now = now or utcnow()
    row = conn.execute(select(*_USER, users.c.password).where(users.c.name == name)
                       .with_for_update()).first()
    if row is None:
        verify_password(password, _dummy_hash())
        return None
    good = verify_password(password, row.password)
    if row.locked_until is not None and row.locked_until > now:
        return None
    where = users.c.id == row.id
    if not good:
        failed = conn.execute(update(users).where(where).values(
            failed_logins=users.c.failed_logins + 1).returning(users.c.failed_logins)
            ).scalar_one()
        if failed % MAX_FAILURES == 0:
            conn.execute(update(users).where(where).values(locked_until=now + LOCK_TIME))
        return None
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if needs_rehash(row.password):
        values["password"] = hash_password(password)
    conn.execute(update(users).where(where).values(**values))
    return User(row.id, row.name, row.created_at, row.updated_at, now, 0, None)


# --------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Session:
    """A live session: whose it is, its CSRF token, and when it expires if left unused."""

    user_id: int
    name: str
    csrf: str
    expires_at: datetime
    slide_due: bool = False
    """Read with ``slide=False`` when its expiry was due to slide forward."""

    def csrf_ok(self, value: str) -> bool:
        """Whether ``value`` (from a form or header) is this session's CSRF token."""
        return hmac.compare_digest(self.csrf.encode(), value.encode())


def start(conn: Connection, user_id: int, now: datetime | None = None,
          ttl: timedelta = SESSION_TTL) -> tuple[str, str]:
    """A new session for ``user_id``: (session token, CSRF token). The session token is
    the cookie; only its SHA-256 is stored."""
    if ttl <= timedelta(0):
        raise ValueError("a session's ttl must be positive")
    now = now or utcnow()
    token = PREFIX + secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    conn.execute(insert(sessions).values(
        digest=digest(token), user_id=user_id, csrf=csrf, created_at=now, last_seen_at=now,
        expires_at=now + ttl))
    return token, csrf


def lookup(conn: Connection, token: str, now: datetime | None = None, *,
           slide: bool = True) -> Session | None:
    """The live session of ``token``, its expiry slid forward (at most once a minute;
    never with ``slide`` false, which only reads); None for an unknown, ended or expired
    token."""
    if not token.startswith(PREFIX):
        return None
    now = now or utcnow()
    row = conn.execute(
        select(sessions.c.id, sessions.c.user_id, users.c.name, sessions.c.csrf,
               sessions.c.last_seen_at, sessions.c.expires_at)
        .join_from(sessions, users, sessions.c.user_id == users.c.id)
        .where(sessions.c.digest == digest(token))).first()
    if row is None or row.expires_at <= now:
        return None
    expires_at: datetime = row.expires_at
    due = now - row.last_seen_at >= SLIDE_EVERY
    if due and slide:
        expires_at = now + (row.expires_at - row.last_seen_at)
        conn.execute(update(sessions).where(sessions.c.id == row.id).values(
            last_seen_at=now, expires_at=expires_at))
        due = False
    return Session(row.user_id, row.name, row.csrf, expires_at, due)


def end(conn: Connection, token: str) -> bool:
    """End (log out) the session of ``token``. False: there was none."""
    return bool(conn.execute(delete(sessions).where(sessions.c.digest == digest(token)))
                .rowcount)


def end_all(conn: Connection, user_id: int) -> int:
    """End every session of ``user_id``: how many there were."""
    return int(conn.execute(delete(sessions).where(sessions.c.user_id == user_id)).rowcount)


def purge(conn: Connection, now: datetime | None = None) -> int:
    """Delete expired sessions: how many."""
    return int(conn.execute(delete(sessions).where(sessions.c.expires_at <= (now or utcnow())))
               .rowcount)
