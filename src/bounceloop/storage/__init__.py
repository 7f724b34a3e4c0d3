"""Storage: the database behind the delivery engine (SQLAlchemy 2 Core, no ORM).

    tables      the schema, one MetaData for every table
    engine      create_engine(url): SQLite (WAL, BEGIN IMMEDIATE) or PostgreSQL (psycopg 3)
    migrate     upgrade/current/is_current: the Alembic migrations shipped in the package
    outbox      the jobs table: enqueue with the domain write, claim under a lease
    events      the event stream (idempotent by key); new events fan out to webhooks
    webhooks    webhook subscriptions, their queues (webhook jobs), the failed-call log
    tokens      REST API tokens, kept hashed
    prepared    the hot paths' statements, compiled once per dialect, run on plain rows

Functions take a Connection when the caller owns the transaction, an Engine when they need
one of their own (a lease claim must commit before the work starts).
"""

from __future__ import annotations

from bounceloop.storage.engine import create_engine, is_sqlite, utcnow

__all__ = ["create_engine", "is_sqlite", "utcnow"]
