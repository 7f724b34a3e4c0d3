"""Every record explains itself; expiry (issue 18 items 6, 7).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

``errors.rule`` (the stable id of the rule that decided the reason, bounceloop.parsing
.classify.Decision), ``errors.matched`` (the text it matched), ``errors.detector`` (the
bounce format family that read a returned message's record) and ``errors.expired`` (the
reporting MTA gave up after retrying). Rows already there have no rule until
``bounceloop reprocess`` reads their returned messages again (storage.received fills the
explanation of rows whose classification is unchanged in place).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("errors") as batch:
        batch.add_column(sa.Column("rule", sa.String(length=160), nullable=True))
        batch.add_column(sa.Column("matched", sa.Text(), nullable=True))
        batch.add_column(sa.Column("detector", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("expired", sa.Boolean(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    # SQLite drops a column by copying the table, which cannot carry an expression index
    # over (SQLAlchemy does not reflect one): take it off and put it back (as 0009 does).
    op.drop_index("ix_errors_recipient_lower", table_name="errors")
    with op.batch_alter_table("errors") as batch:
        for name in ("expired", "detector", "matched", "rule"):
            batch.drop_column(name)
    op.create_index("ix_errors_recipient_lower", "errors", [sa.text("lower(recipient)")])
