"""Returned mail ties only through signed references (issue 16).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

``errors.tied`` (false: a returned message's record kept as evidence, against no address)
and ``errors.reported_recipient`` (the address the report named, when it is not ours);
``received.reported_recipient``, ``received.hint_message_id`` / ``hint_by`` (what an
untied message probably answers, for display) and ``received.records``. Rows already there
are tied as they were: ``bounceloop reprocess`` applies the new rules to them and lifts the
suppressions the old rules made from untied or mismatched reports (storage.received).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("errors") as batch:
        batch.add_column(sa.Column("tied", sa.Boolean(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("reported_recipient", sa.String(length=320),
                                   nullable=True))
    op.create_index("ix_errors_tied_current_timestamp", "errors",
                    ["tied", "current", "timestamp"])
    with op.batch_alter_table("received") as batch:
        batch.add_column(sa.Column("reported_recipient", sa.String(length=320),
                                   nullable=True))
        batch.add_column(sa.Column("hint_message_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("hint_by", sa.String(length=16), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("records", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    op.drop_index("ix_errors_tied_current_timestamp", table_name="errors")
    with op.batch_alter_table("received") as batch:
        for name in ("records", "hint_by", "hint_message_id", "reported_recipient"):
            batch.drop_column(name)
    # SQLite drops a column by copying the table, which cannot carry an expression index
    # over (SQLAlchemy does not reflect one): take it off and put it back.
    op.drop_index("ix_errors_recipient_lower", table_name="errors")
    with op.batch_alter_table("errors") as batch:
        batch.drop_column("reported_recipient")
        batch.drop_column("tied")
    op.create_index("ix_errors_recipient_lower", "errors", [sa.text("lower(recipient)")])
