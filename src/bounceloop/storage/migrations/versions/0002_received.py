"""Receiving bounces (issue 4): the received table, idempotent events, error history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Adds ``received`` (every returned message, raw bytes included), ``events.key`` (a unique
index, so work that runs twice writes its events once) and ``events.recipient``,
``errors.received_id`` and ``errors.current`` (reprocessing keeps replaced rows as history),
and ``mailings.header_message_id`` (a bounce quoting the document's Message-ID is tied by it).
Columns are added, never rewritten, so the upgrade is cheap on a full database; SQLite
needs a server default to add a NOT NULL column, hence the one on ``errors.current``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "received",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("peer", sa.String(length=255), nullable=False),
        sa.Column("helo", sa.String(length=255), nullable=False),
        sa.Column("mail_from", sa.String(length=320), nullable=False),
        sa.Column("rcpts", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("processed_at", sa.DateTime(), nullable=True),
        sa.Column("times_processed", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("mailing_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("tied_by", sa.String(length=16), nullable=False),
        sa.Column("detector", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_received"),
    )
    op.create_index("ix_received_received_at", "received", ["received_at"])
    op.create_index("ix_received_message_id", "received", ["message_id"])

    op.add_column("events", sa.Column("recipient", sa.String(length=320), nullable=True))
    op.add_column("events", sa.Column("key", sa.String(length=400), nullable=True))
    op.create_index("ix_events_recipient", "events", ["recipient"])
    op.create_index("ix_events_mailing_id", "events", ["mailing_id"])
    op.create_index("ix_events_key", "events", ["key"], unique=True)

    op.add_column("errors", sa.Column("received_id", BIGID, nullable=True))
    op.add_column("errors", sa.Column("current", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    op.create_index("ix_errors_received_id", "errors", ["received_id"])

    # Correlation finds the message a bounce names by its recipient.
    op.create_index("ix_messages_recipient", "messages", ["recipient"])

    op.add_column("mailings", sa.Column("header_message_id", sa.String(length=255),
                                        nullable=True))
    op.create_index("ix_mailings_header_message_id", "mailings", ["header_message_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_recipient", table_name="messages")
    op.drop_index("ix_mailings_header_message_id", table_name="mailings")
    with op.batch_alter_table("mailings") as batch:
        batch.drop_column("header_message_id")
    op.drop_index("ix_errors_received_id", table_name="errors")
    with op.batch_alter_table("errors") as batch:
        batch.drop_column("current")
        batch.drop_column("received_id")
    op.drop_index("ix_events_key", table_name="events")
    op.drop_index("ix_events_mailing_id", table_name="events")
    op.drop_index("ix_events_recipient", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("key")
        batch.drop_column("recipient")
    op.drop_index("ix_received_message_id", table_name="received")
    op.drop_index("ix_received_received_at", table_name="received")
    op.drop_table("received")
