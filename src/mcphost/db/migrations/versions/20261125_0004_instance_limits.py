"""per-server instance cap and idle time, and the count of evictions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("servers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_instances", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("idle_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("evictions", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("servers", schema=None) as batch_op:
        batch_op.drop_column("evictions")
        batch_op.drop_column("idle_seconds")
        batch_op.drop_column("max_instances")
