"""Reports (issue 7): daily counters for the statistics page, indexes for the Errors view
and the per-day log exports.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

``stats`` holds (mailing, metric, day, key) -> count, kept by the writers (storage.stats);
the upgrade fills it from the rows already there. The Errors view filters on error type,
reason, domain and mailing, counts current rows and sorts by time: an index on each with
``current`` and the timestamp serves the page and its count from the index alone.
``attempts.started_at`` is indexed for the attempt logs of a day.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_errors_current_timestamp": ["current", "timestamp"],
    "ix_errors_domain_current_timestamp": ["domain", "current", "timestamp"],
    "ix_errors_errortype_current_timestamp": ["errortype", "current", "timestamp"],
    "ix_errors_reason_current_timestamp": ["reason", "current", "timestamp"],
    "ix_errors_mailing_id_current_timestamp": ["mailing_id", "current", "timestamp"],
    "ix_errors_filters": ["current", "domain", "errortype", "reason", "severity", "step",
                          "state", "mailing_id", "code", "extended", "timestamp"],
}


def upgrade() -> None:
    op.create_table(
        "stats",
        sa.Column("mailing_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("mailing_id", "metric", "day", "key", name="pk_stats"),
    )
    # (filter, current, timestamp) for each filter of the Errors view; they make the
    # single-column mailing index and 0004's (domain, timestamp) redundant (prefixes).
    op.drop_index("ix_errors_mailing_id", table_name="errors")
    op.drop_index("ix_errors_domain_timestamp", table_name="errors")
    for name, columns in INDEXES.items():
        op.create_index(name, "errors", columns)
    op.create_index("ix_attempts_started_at", "attempts", ["started_at"])
    # The backfill is storage.stats.rebuild, which reads messages, events and errors as
    # they are at this revision; a later migration changing those columns must keep it
    # working (or freeze a copy here).
    from bounceloop.storage import stats

    stats.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_attempts_started_at", table_name="attempts")
    for name in INDEXES:
        op.drop_index(name, table_name="errors")
    op.create_index("ix_errors_domain_timestamp", "errors", ["domain", "timestamp"])
    op.create_index("ix_errors_mailing_id", "errors", ["mailing_id"])
    op.drop_table("stats")
