"""attached services of servers: a PostgreSQL database, a Redis key prefix or an S3 bucket provisioned for a server,
with the variables it gets sealed (one row per server and kind). Files of servers live on disk, not here.

Revision ID: 0009_server_services
Revises: 0008_custom_domains
Create Date: 2026-12-05 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mcphost.db.base import UTCDateTime

revision: str = "0009_server_services"
down_revision: str | None = "0008_custom_domains"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "server_services",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("resource", sa.String(length=200), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("env_names", sa.JSON(), nullable=False),
        sa.Column("env_sealed", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_server_services_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_server_services_server_id_servers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_services")),
        sa.UniqueConstraint("server_id", "kind", name="uq_server_services_kind"),
    )
    with op.batch_alter_table("server_services", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_server_services_server_id"), ["server_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("server_services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_server_services_server_id"))
    op.drop_table("server_services")
