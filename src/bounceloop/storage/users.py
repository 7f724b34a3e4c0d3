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

Guessing through the login form is limited three ways, each counted from the failed logins
of the last :data:`WINDOW` (table ``login_failures``: client, name, time), which every
process sharing the database sees alike. The numbers follow OWASP's Authentication Cheat
Sheet ("Login Throttling": a lockout threshold, an observation window and a lockout
duration, and care that a lockout cannot be used to lock others out) and its Credential
Stuffing Prevention Cheat Sheet ("IP Mitigation": a client's failures are counted apart
from an account's, a block is temporary, and both bursts and longer periods matter):

- **per name and client** (bursts): every :data:`MAX_FAILURES`-th failed login in a row at
  one name from one client locks that name *for that client* for :data:`LOCK_TIME`; other
  clients are not affected, so whoever hammers a name from one client cannot lock its owner
  out. "In a row": since the name's last successful login or password change.
- **per client** (longer periods): a client with :data:`CLIENT_MAX_FAILURES` failures in
  :data:`WINDOW`, at any names (unknown ones too), is refused everything until they age
  out (:func:`client_wait`), without an scrypt: it can neither go on guessing at one name
  nor try many names.
- **per name, across clients** (guessing spread over many clients, which the two above do
  not see): once the failures in a row at a name come from :data:`NAME_MAX_CLIENTS`
  different clients, each failure from then on (the one that makes them so included)
  locks it for *every* client for :data:`LOCK_TIME` (``users.locked_until``). One client
  alone never sets this lock.

A locked attempt is refused even with the right password and is not counted; a success
resets the name's count (``failed_logins``), not the client's (else a client could clear
its own count by logging in to an account of its own now and then). An unknown name costs
the same scrypt as a known one (against a dummy hash), so response times do not tell which
names exist. Names are compared exactly (case-sensitive).

A session lasts its ``ttl`` (12 hours by default) since it was last used: :func:`lookup`
slides ``expires_at`` forward, at most once a minute (:data:`SLIDE_EVERY`) so a busy page
does not write on every request. The ttl is not stored: it is ``expires_at - last_seen_at``,
which every slide keeps. Each session has its own CSRF token, to be echoed in forms and
compared with :meth:`Session.csrf_ok`. Changing a user's password or removing the user ends
all of that user's sessions; :func:`purge` deletes expired ones.

Every function takes the caller's connection and writes in the caller's transaction: call
:func:`authenticate` and :func:`lookup` in a write transaction (``engine.begin()``), since
they may update the row they read (:func:`authenticate` also locks it on PostgreSQL, so
parallel guesses at one user are counted one after the other; guesses at different names
from one client are counted as they commit, so a few may pass the client's limit at once,
as many as run in parallel).
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

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from bounceloop.storage.engine import conflict_insert, utcnow
from bounceloop.storage.tables import login_failures, sessions, users
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
#: Every this many failed logins in a row at one name from one client lock the name for
#: that client for LOCK_TIME: room for a person's typing mistakes, and a minute's pause for a
#: tool (OWASP Authentication Cheat Sheet, "Account Lockout": threshold and duration).
MAX_FAILURES = 5
LOCK_TIME = timedelta(seconds=60)
#: A client with this many failures in WINDOW, at any names, is refused until they age out:
#: four lockouts' worth, more than a person's mistakes (the per-name lock keeps those to a
#: few a minute), while a tool gets 20 guesses a quarter hour in place of 5 a minute. A
#: temporary block of about 15 minutes is what OWASP's Credential Stuffing Prevention Cheat
#: Sheet suggested for IP blocks ("IP blacklists": "Making the IP bans temporary, say 15
#: minutes", in its first version, 2016).
CLIENT_MAX_FAILURES = 20
WINDOW = timedelta(minutes=15)
#: Failures in a row at one name from this many clients make each one from then on lock the
#: name for everyone: more than one person with a laptop and a phone mistyping, fewer than any
#: botnet has (the OWASP Authentication Cheat Sheet keeps the counter with the account so
#: that many addresses do not each get the full allowance).
NAME_MAX_CLIENTS = 3

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
    stmt = conflict_insert(conn, users)
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
    """Replace ``name``'s password, lift its locks (the failures before a password change
    are not "in a row" with those after) and end the user's sessions (a new password is
    often the answer to a leaked one). False: no such user. ValueError: a short password.
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


def client_wait(conn: Connection, client: str, now: datetime | None = None
                ) -> timedelta | None:
    """How long ``client`` must wait before it may try to log in again, or None: it may.
    A read (see the module doc)."""
    now = now or utcnow()
    count, first = conn.execute(
        select(func.count(), func.min(login_failures.c.at))
        .where(login_failures.c.client == client, login_failures.c.at > now - WINDOW)).one()
    if count < CLIENT_MAX_FAILURES:
        return None
    wait: timedelta = first + WINDOW - now
    return max(wait, timedelta(seconds=1))


def _failures_since(name: str, since: datetime, *columns: Any) -> Any:
    """``columns`` of the failures at ``name`` after ``since``."""
    return select(*columns).where(login_failures.c.name == name[:MAX_NAME],
                                  login_failures.c.at > since)


def _pair_locked(conn: Connection, name: str, client: str, since: datetime,
                 now: datetime) -> bool:
    """Whether ``name`` is locked for ``client``: its failures there since ``since`` are a
    multiple of MAX_FAILURES, the last of them less than LOCK_TIME ago."""
    count, last = conn.execute(_failures_since(
        name, since, func.count(), func.max(login_failures.c.at))
        .where(login_failures.c.client == client)).one()
    return bool(count) and count % MAX_FAILURES == 0 and last + LOCK_TIME > now


def _record_failure(conn: Connection, name: str, client: str, now: datetime) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.at <= now - WINDOW))
    conn.execute(insert(login_failures).values(client=client, name=name[:MAX_NAME], at=now))


def authenticate(conn: Connection, name: str, password: str, now: datetime | None = None,
                 *, client: str = "") -> User | None:
    """The user, when ``password`` is right and neither ``client`` nor the name is locked
    (see the module doc); else None.

    A failure counts towards the limits; a success resets the name's count, sets
    ``last_login_at`` and rehashes a password stored at an older cost. Every call runs one
    scrypt, whether the name exists, is locked or not, unless the client itself is refused
    (which says nothing about the name).
    """
    now = now or utcnow()
    if client_wait(conn, client, now) is not None:
        return None
    row = conn.execute(select(*_USER, users.c.password).where(users.c.name == name)
                       .with_for_update()).first()
    if row is None:
        verify_password(password, _dummy_hash())
        _record_failure(conn, name, client, now)
        return None
    good = verify_password(password, row.password)
    # "In a row": since the name's last success or password change, within the window.
    since = max(now - WINDOW, row.updated_at, row.last_login_at or row.updated_at)
    if (row.locked_until is not None and row.locked_until > now) or _pair_locked(
            conn, name, client, since, now):
        return None
    where = users.c.id == row.id
    if not good:
        _record_failure(conn, name, client, now)
        values: dict[str, Any] = {"failed_logins": users.c.failed_logins + 1}
        spread = conn.execute(_failures_since(
            name, since, func.count(login_failures.c.client.distinct()))).scalar_one()
        if spread >= NAME_MAX_CLIENTS:
            values["locked_until"] = now + LOCK_TIME
        conn.execute(update(users).where(where).values(**values))
        return None
    values = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
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
