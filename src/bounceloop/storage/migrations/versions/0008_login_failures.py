"""Login limits per client (issue 16): ``login_failures``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

One row per failed login of the last minutes: the client's address, the name as typed and
when. storage.users counts them per client (across names), per name and client, and the
clients per name; rows older than the longest window are deleted as new ones come. They are
in the database, not in a process, so every web process sharing it counts the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_failures"),
    )
    op.create_index("ix_login_failures_at", "login_failures", ["at"])
    op.create_index("ix_login_failures_client_at", "login_failures", ["client", "at"])
    op.create_index("ix_login_failures_name_at", "login_failures", ["name", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_name_at", table_name="login_failures")
    op.drop_index("ix_login_failures_client_at", table_name="login_failures")
    op.drop_index("ix_login_failures_at", table_name="login_failures")
    op.drop_table("login_failures")
