"""Suppression (issue 6): why, by what and for whom an entry exists, its audit history,
and the recipient domain on error rows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

``suppressions`` gains its reason, source, sender scope (a complaint suppresses the address
for one sender), the error that caused it and a note; its uniqueness becomes (type, value,
sender). ``suppression_log`` keeps every change. ``errors.domain`` serves per-domain
reports (sender-side problems are counted per destination domain) and filters; existing
rows get it from their recipient.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # batch: SQLite cannot change a table's constraints in place (it copies the table).
    with op.batch_alter_table("suppressions") as batch:
        batch.drop_constraint("uq_suppressions_type_value", type_="unique")
        batch.add_column(sa.Column("sender", sa.String(length=320), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("reason", sa.String(length=32), nullable=False,
                                   server_default="manual"))
        batch.add_column(sa.Column("source", sa.String(length=16), nullable=False,
                                   server_default="manual"))
        batch.add_column(sa.Column("note", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("error_id", BIGID, nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch.create_unique_constraint("uq_suppressions_type_value_sender",
                                       ["type", "value", "sender"])
        batch.create_index("ix_suppressions_expires_at", ["expires_at"])
    op.execute("UPDATE suppressions SET updated_at = created_at")
    with op.batch_alter_table("suppressions") as batch:
        batch.alter_column("updated_at", existing_type=sa.DateTime(), nullable=False)
        for name in ("sender", "reason", "source", "note"):
            batch.alter_column(name, server_default=None)
    op.create_table(
        "suppression_log",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=3), nullable=True),
        sa.Column("extended", sa.String(length=16), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("error_id", BIGID, nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_suppression_log"),
    )
    op.create_index("ix_suppression_log_time", "suppression_log", ["time"])
    op.create_index("ix_suppression_log_value", "suppression_log", ["value"])
    op.add_column("errors", sa.Column("domain", sa.String(length=255), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE errors SET domain = lower(substring(recipient from '@([^@]*)$'))")
    else:
        op.execute("UPDATE errors SET domain = lower(substr(recipient, "
                   "instr(recipient, '@') + 1)) WHERE instr(recipient, '@') > 0")
    op.create_index("ix_errors_domain_timestamp", "errors", ["domain", "timestamp"])
    op.create_index("ix_errors_recipient_lower", "errors", [sa.text("lower(recipient)")])


def downgrade() -> None:
    op.drop_index("ix_errors_recipient_lower", table_name="errors")
    op.drop_index("ix_errors_domain_timestamp", table_name="errors")
    with op.batch_alter_table("errors") as batch:
        batch.drop_column("domain")
    op.drop_index("ix_suppression_log_value", table_name="suppression_log")
    op.drop_index("ix_suppression_log_time", table_name="suppression_log")
    op.drop_table("suppression_log")
    op.execute("DELETE FROM suppressions WHERE sender <> ''")
    with op.batch_alter_table("suppressions") as batch:
        batch.drop_index("ix_suppressions_expires_at")
        batch.drop_constraint("uq_suppressions_type_value_sender", type_="unique")
        for name in ("sender", "reason", "source", "note", "error_id", "updated_at"):
            batch.drop_column(name)
        batch.create_unique_constraint("uq_suppressions_type_value", ["type", "value"])
