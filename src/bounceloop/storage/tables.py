"""The database schema (SQLAlchemy Core), one place for every table.

    mailings      one send of one MIME document (the spec's "emailing")
    messages      one recipient of one mailing (the spec's "destination"): the unit that is
                  delivered, retried, bounced and joined on everywhere
    attempts      every delivery attempt of a message, with the step and SMTP state where it
                  ended (steps 1-4 of the spec)
    errors        final synchronous errors and asynchronous ones (the Copernica error row);
                  a reprocessed bounce keeps its old rows with ``current`` false (history)
    events        one stream of every outcome: delivery, retry, failure, bounce, complaint,
                  delay, ...; ``key`` makes an event idempotent (written once however often
                  the work that creates it runs)
    received      every message returned to us (inbound SMTP or ``ingest``), raw bytes
                  included, and what processing made of it
    jobs          the outbox: work enqueued in the same transaction as the domain write and
                  claimed under a lease by any worker process
    suppressions  addresses and domains never to be mailed: why, until when, for which
                  sender (core.suppression has the rules)
    suppression_log   every change to the suppression list (the audit history)
    webhooks      the user's feedback-loop subscriptions: URL, triggers, filters, secrets,
                  and their state (active, paused, unverified); their deliveries are
                  ``webhook`` jobs in the outbox, one per (webhook, event)
    webhook_failures  every failed webhook call (the spec's feedback-loop-errors log)
    api_tokens    REST API tokens: a SHA-256 of each (never the token) and its scope
    users         the web UI's accounts: name, scrypt password hash, and the failed-login
                  counter and lock that slow down guessing (storage.users)
    login_failures  every failed login of the last minutes: from which client, for which
                  name (the per-client and per-name limits of storage.users)
    sessions      the web UI's login sessions: a SHA-256 of each session token (never the
                  token), its user, its CSRF token, and when it expires
    stats         daily counters per mailing (mailing 0: all of them), kept by the writers
                  in their own transactions, so the statistics page never scans the errors

Times are UTC (:class:`UTCDateTime`); ids of messages are opaque strings (they travel in
VERP addresses and webhooks); JSON columns hold lists and objects as text, so SQLite and
PostgreSQL read the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations name them the same on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def stored_utc(value: datetime | None) -> datetime | None:
    """An aware datetime as a ``UTCDateTime`` column stores it: naive UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) datetime")
    return value.astimezone(UTC).replace(tzinfo=None)


def stored_utc_text(value: datetime | None) -> str | None:
    """The same on SQLite: the text 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's DATETIME
    format, which indexes and comparisons order as text)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) datetime")
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def read_utc(value: Any) -> datetime | None:
    """A ``UTCDateTime`` column's stored value (text on SQLite, a naive UTC datetime
    elsewhere) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns text for expressions
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back timezone-aware (UTC) on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return stored_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return read_utc(value)

    # On SQLite the decorator's default chains SQLAlchemy's processor and ours, about a
    # third of the delivery path's time under the GIL (py-spy --gil on bench/send.py);
    # these write and read the text in one step. tests/storage/test_tables.py ties them to
    # SQLAlchemy's own processors.

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return stored_utc_text

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return read_utc


mailings = Table(
    "mailings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, default=""),
    Column("sender", String(320), nullable=False),
    Column("mime", LargeBinary, nullable=False),
    Column("tags", Text, nullable=False, default="[]"),
    Column("retry_schedule", String(500), nullable=True),
    Column("max_delivery_time", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # The document's own Message-ID (without <>), which a bounce may quote: correlation.
    Column("header_message_id", String(255), nullable=True, index=True),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("mailing_id", Integer, ForeignKey("mailings.id"), nullable=False, index=True),
    Column("sender", String(320), nullable=False),
    Column("recipient", String(320), nullable=False, index=True),
    Column("domain", String(255), nullable=False, index=True),
    Column("envelope", String(320), nullable=False),
    Column("tags", Text, nullable=False, default="[]"),
    Column("fields", Text, nullable=False, default="{}"),
    # queued | deferred | sending | delivered | failed
    Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    # The worker that marked the message in flight ("sending"), to find its journal.
    Column("sent_by", String(64), nullable=True),
    # The last attempt's outcome, kept here so lists need no join.
    Column("step", Integer, nullable=True),
    Column("state", String(32), nullable=True),
    Column("code", String(3), nullable=True),
    Column("extended", String(16), nullable=True),
    Column("description", Text, nullable=True),
    Column("errortype", String(32), nullable=True),
    Column("severity", String(8), nullable=True),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(40), ForeignKey("messages.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    # Indexed for the per-day log exports (attempts, retries, deliveries).
    Column("started_at", UTCDateTime, nullable=False, index=True),
    Column("duration_ms", Integer, nullable=False, default=0),
    Column("step", Integer, nullable=False),
    Column("state", String(32), nullable=False),
    # accepted | error | timeout | refused | lost | invalid | tls | suppressed | expired | indoubt
    Column("result", String(16), nullable=False),
    Column("code", String(3), nullable=True),
    Column("extended", String(16), nullable=True),
    Column("description", Text, nullable=True),
    Column("errortype", String(32), nullable=True),
    Column("severity", String(8), nullable=True),
    Column("mx", String(255), nullable=True),
    Column("ip", String(64), nullable=True),
    Column("final", Boolean, nullable=False, default=False),
)

errors = Table(
    "errors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("timestamp", UTCDateTime, nullable=False, index=True),
    Column("message_id", String(40), ForeignKey("messages.id"), nullable=True, index=True),
    Column("mailing_id", Integer, ForeignKey("mailings.id"), nullable=True),
    Column("recipient", String(320), nullable=False, index=True),
    Column("code", String(3), nullable=True),
    Column("extended", String(16), nullable=True),
    Column("description", Text, nullable=True),
    Column("errortype", String(32), nullable=False),
    Column("step", Integer, nullable=False),
    Column("state", String(32), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("hardbounce", Boolean, nullable=False, default=False),
    # Set for asynchronous errors (step 5): the returned message they were read from.
    Column("received_id", BigInteger().with_variant(Integer, "sqlite"), nullable=True,
           index=True),
    # False once a reprocessing replaced this row (kept as history).
    Column("current", Boolean, nullable=False, default=True),
    # The recipient's domain (lower-case): per-domain reports and filters.
    Column("domain", String(255), nullable=True),
    # False: a returned message's record that ties to no message we sent to an address
    # (inbound.correlate): kept as evidence, against no address (recipient ''), counted
    # nowhere - no statistics, suppression or selection reads it.
    Column("tied", Boolean, nullable=False, default=True, server_default="1"),
    # The address the returned message named, when it is not the recipient of record (an
    # alias, a forward, an untied report): shown, never acted on.
    Column("reported_recipient", String(320), nullable=True),
    # Why the row has its reason (issue 18): the stable id of the rule that decided it
    # (bounceloop.parsing.classify.Decision), the text that rule matched, the bounce format
    # family that read a returned message's record, and whether the reporting MTA gave up
    # after retrying (bounceloop.parsing.expiry). NULL rule: a row from before 0010.
    Column("rule", String(160), nullable=True),
    Column("matched", Text, nullable=True),
    Column("detector", String(32), nullable=True),
    Column("expired", Boolean, nullable=False, default=False, server_default="0"),
    # The status as the report stated it (a DSN's Status field), where ``extended`` refined
    # a generic one with the remote reply's code (issue 18). NULL for our own errors.
    Column("status_field", String(16), nullable=True),
    # The Errors view filters on these, sorts by time (newest first) and counts the
    # matches, always of current rows: (filter, current, timestamp) serves the page and its
    # count from the index alone. A count that had to visit each row to test ``current``
    # took 1.3 s for a filter matching 600,000 of 1,000,000 rows (bench/ui.py).
    Index("ix_errors_current_timestamp", "current", "timestamp"),
    Index("ix_errors_domain_current_timestamp", "domain", "current", "timestamp"),
    Index("ix_errors_errortype_current_timestamp", "errortype", "current", "timestamp"),
    Index("ix_errors_reason_current_timestamp", "reason", "current", "timestamp"),
    Index("ix_errors_mailing_id_current_timestamp", "mailing_id", "current", "timestamp"),
    Index("ix_errors_tied_current_timestamp", "tied", "current", "timestamp"),
    # Every filter column: a count under several filters scans this (index only, about a
    # seventh of the table) instead of visiting each row one filter's index names.
    Index("ix_errors_filters", "current", "domain", "errortype", "reason", "severity", "step",
          "state", "mailing_id", "code", "extended", "timestamp"),
)
# Selections and the rules look addresses up case-insensitively: the list, the bounce and
# the user may each spell an address differently (an index on the expression, both backends).
Index("ix_errors_recipient_lower", func.lower(errors.c.recipient))

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("time", UTCDateTime, nullable=False, index=True),
    # delivery | retry | failure | bounce | complaint | delay | report | reclassified
    Column("type", String(32), nullable=False),
    Column("message_id", String(40), nullable=True, index=True),
    Column("mailing_id", Integer, nullable=True, index=True),
    Column("data", Text, nullable=False, default="{}"),
    Column("recipient", String(320), nullable=True, index=True),
    # What makes the event unique ("bounce:17", "failure:17:a@b.example"): inserts that
    # meet an existing key are dropped, so re-running the work that writes it is harmless.
    Column("key", String(400), nullable=True),
    Index("ix_events_key", "key", unique=True),
)

received = Table(
    "received",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("received_at", UTCDateTime, nullable=False, index=True),
    Column("source", String(16), nullable=False),  # smtp | ingest
    Column("peer", String(255), nullable=False, default=""),
    Column("helo", String(255), nullable=False, default=""),
    Column("mail_from", String(320), nullable=False, default=""),
    Column("rcpts", Text, nullable=False, default="[]"),
    Column("size", Integer, nullable=False),
    # SHA-256 of raw: a copy sent again (its sender never saw our 250) has the same one
    Column("digest", String(64), nullable=False, index=True),
    # pending | processed | failed | duplicate
    Column("status", String(16), nullable=False),
    Column("processed_at", UTCDateTime, nullable=True),
    Column("times_processed", Integer, nullable=False, default=0),
    # The message it is tied to (inbound.correlate) and that message's recipient; None:
    # untied.
    Column("message_id", String(40), nullable=True, index=True),
    Column("mailing_id", Integer, nullable=True),
    Column("recipient", String(320), nullable=True),
    # How: verp | header | envid | message-id | fbl, or "" (untied)
    Column("tied_by", String(16), nullable=False, default=""),
    # The address the message itself named, when it is not the recipient of record.
    Column("reported_recipient", String(320), nullable=True),
    # For an untied message, the message a weak clue points to (a display hint) and the
    # clue: verp (its records name another address) | unsigned | message-id | recipient.
    Column("hint_message_id", String(40), nullable=True),
    Column("hint_by", String(16), nullable=False, default="", server_default=""),
    # The records (recipient blocks) the parser read in it.
    Column("records", Integer, nullable=False, default=0, server_default="0"),
    Column("detector", String(32), nullable=False, default=""),
    # failure | delay | delivery | complaint | autoreply | unrecognized
    Column("kind", String(16), nullable=False, default=""),
    Column("error", Text, nullable=True),
    # Last: the raw bytes, so scans of the other columns need not read them (SQLite).
    Column("raw", LargeBinary, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("ref", String(64), nullable=True, index=True),
    Column("payload", Text, nullable=False, default="{}"),
    # pending | running | done | dead
    Column("status", String(16), nullable=False),
    Column("run_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("locked_by", String(64), nullable=True),
    Column("locked_until", UTCDateTime, nullable=True),
    # Set by a claim that took the job over from a worker whose lease ran out: that worker.
    Column("taken_from", String(64), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_jobs_due", "status", "run_at"),
    # Claims of one kind (deliver, bounce, webhook) do not scan past due jobs of the others.
    Index("ix_jobs_kind_due", "kind", "status", "run_at"),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("type", String(16), nullable=False),  # address | domain
    # Lower-cased: an address or a domain.
    Column("value", String(320), nullable=False),
    # Only mail from this sender is refused ('' = any sender): a complaint's scope.
    Column("sender", String(320), nullable=False, default=""),
    # userunknown, mailboxfull, ... (the rule's), complaint, or manual
    Column("reason", String(32), nullable=False, default="manual"),
    Column("source", String(16), nullable=False, default="manual"),  # rule | manual | import
    # What a suppressed message fails with (MailerQ's per-entry code/extended/description).
    Column("code", String(3), nullable=False, default="550"),
    Column("extended", String(16), nullable=True),
    Column("description", Text, nullable=True),
    Column("note", Text, nullable=False, default=""),
    # The error row that caused it (a rule's entry).
    Column("error_id", BigInteger().with_variant(Integer, "sqlite"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    UniqueConstraint("type", "value", "sender"),
    Index("ix_suppressions_expires_at", "expires_at"),
)

suppression_log = Table(
    "suppression_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("time", UTCDateTime, nullable=False, index=True),
    # add | change | remove | expire
    Column("action", String(16), nullable=False),
    Column("type", String(16), nullable=False),
    Column("value", String(320), nullable=False, index=True),
    Column("sender", String(320), nullable=False, default=""),
    Column("reason", String(32), nullable=False),
    Column("source", String(16), nullable=False),
    # Who: rule, cli, api:<token id>, import
    Column("actor", String(64), nullable=False, default=""),
    Column("code", String(3), nullable=True),
    Column("extended", String(16), nullable=True),
    Column("description", Text, nullable=True),
    Column("note", Text, nullable=False, default=""),
    Column("error_id", BigInteger().with_variant(Integer, "sqlite"), nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False),
    # JSON list of failure | bounce | delivery | complaint
    Column("triggers", Text, nullable=False),
    # Filters (empty: every event): one mailing; any of these tags.
    Column("mailing_id", Integer, nullable=True),
    Column("tags", Text, nullable=False, default="[]"),
    Column("format", String(8), nullable=False, default="form"),  # form | json
    Column("extras", Boolean, nullable=False, default=True),
    Column("concurrency", Integer, nullable=False),
    Column("timeout", Integer, nullable=False),
    Column("secret", String(100), nullable=False),
    # During a rotation the old secret signs too, until previous_until.
    Column("previous_secret", String(100), nullable=True),
    Column("previous_until", UTCDateTime, nullable=True),
    # active | paused | unverified
    Column("status", String(16), nullable=False),
    Column("paused_reason", Text, nullable=True),
    # Set when bounceloop paused it itself (410, failing for days): needs a look.
    Column("flagged", Boolean, nullable=False, default=False),
    Column("verify_token", String(100), nullable=True),
    Column("verified_at", UTCDateTime, nullable=True),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_success_at", UTCDateTime, nullable=True),
    # The first failed call since the last success; None while calls succeed.
    Column("failing_since", UTCDateTime, nullable=True),
)

webhook_failures = Table(
    "webhook_failures",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("time", UTCDateTime, nullable=False, index=True),
    Column("webhook_id", Integer, nullable=False, index=True),
    Column("event_id", BigInteger().with_variant(Integer, "sqlite"), nullable=True),
    Column("job_id", BigInteger().with_variant(Integer, "sqlite"), nullable=True),
    Column("attempt", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("ip", String(64), nullable=False, default=""),
    # The HTTP status, or None when there was no response (timeout, refused, closed).
    Column("status", Integer, nullable=True),
    # timeout | refused | closed | tls | protocol | refused-address | http
    Column("error", String(32), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("headers", Text, nullable=False, default="[]"),
    Column("body", Text, nullable=False, default=""),
    Column("duration_ms", Integer, nullable=False, default=0),
)

stats = Table(
    "stats",
    metadata,
    # 0: every mailing (and bounces tied to none); otherwise one mailing's own counters.
    Column("mailing_id", Integer, primary_key=True, autoincrement=False),
    # outcome (sent, delivered, deferred, failed, bounced, complaint), or an error row's
    # severity, errortype, reason, domain or step (storage.stats)
    Column("metric", String(16), primary_key=True),
    Column("day", Date, primary_key=True),  # UTC
    Column("key", String(255), primary_key=True),
    Column("count", BigInteger, nullable=False, default=0),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, default=""),
    Column("scope", String(8), nullable=False),  # read | write
    # SHA-256 (hex) of the token: a token is 256 random bits, so no slow hash is needed.
    Column("digest", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    # scrypt$N$r$p$<salt b64>$<hash b64> (storage.users): the parameters travel with the hash.
    Column("password", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # When the name or the password last changed (not logins: last_login_at has those).
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime, nullable=True),
    # Failed logins since the last success (from any client); locked_until: the lock for
    # every client that failures from several clients set (storage.users).
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime, nullable=True),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The client's address (an IPv6 one as its /64), and the name as typed (known or not).
    Column("client", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False, index=True),  # the purge of old rows
    Index("ix_login_failures_client_at", "client", "at"),
    Index("ix_login_failures_name_at", "name", "at"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # SHA-256 (hex) of the session token: 256 random bits, so no slow hash is needed.
    Column("digest", String(64), nullable=False, unique=True),
    # Indexed: a user's sessions end together (password change, removal).
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)
