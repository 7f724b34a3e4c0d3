"""Returned mail sent twice (issue 8): an index on ``received.digest``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

An MTA that sent us a bounce and lost the connection before our 250 sends it again: the
same bytes to the same recipients. Processing looks for an earlier copy by its digest and
records the later one as a duplicate, with no error row and no events (inbound.process).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_received_digest", "received", ["digest"])


def downgrade() -> None:
    op.drop_index("ix_received_digest", table_name="received")
