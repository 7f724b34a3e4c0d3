"""The status as the report stated it (issue 18).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

``errors.status_field``: a DSN's ``Status:`` as the reporting MTA wrote it (RFC 3464
2.3.4), kept beside ``extended``, which a generic field (``5.0.0``, as Exim and OpenSMTPD
write) has refined with the remote reply's own code. NULL for synchronous errors (ours) and
for rows from before 0011 until ``bounceloop reprocess`` reads their returned messages again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("errors") as batch:
        batch.add_column(sa.Column("status_field", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # SQLite drops a column by copying the table, which cannot carry an expression index
    # over (SQLAlchemy does not reflect one): take it off and put it back (as 0009 does).
    op.drop_index("ix_errors_recipient_lower", table_name="errors")
    with op.batch_alter_table("errors") as batch:
        batch.drop_column("status_field")
    op.create_index("ix_errors_recipient_lower", "errors", [sa.text("lower(recipient)")])
