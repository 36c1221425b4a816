"""nodes: the nodes that host servers with their internal address and heartbeat, the HTTP endpoints of servers that
any replica relays to, and the client sessions any replica may continue (ADR 0015)

Revision ID: 0013_nodes
Revises: 0012_vector_dbs
Create Date: 2026-12-05 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from mcphost.db.base import UTCDateTime

revision: str = "0013_nodes"
down_revision: str | None = "0012_vector_dbs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("internal_url", sa.String(length=2000), nullable=False),
        sa.Column("machine", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.Column("stopped_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_nodes")),
    )
    op.create_table(
        "server_endpoints",
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("protocol_version", sa.String(length=32), nullable=True),
        sa.Column("manifest", JSON, nullable=False),
        sa.Column("machine", sa.String(length=200), nullable=False),
        sa.Column("reach", sa.String(length=16), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_server_endpoints_server_id_servers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("server_id", name=op.f("pk_server_endpoints")),
    )
    op.create_table(
        "gateway_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("principal", sa.String(length=100), nullable=False),
        sa.Column("protocol_version", sa.String(length=32), nullable=False),
        sa.Column("client_capabilities", JSON, nullable=False),
        sa.Column("client_info", JSON, nullable=False),
        sa.Column("idle_seconds", sa.Float(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_gateway_sessions_server_id_servers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_gateway_sessions")),
    )
    with op.batch_alter_table("gateway_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_sessions_server_id"), ["server_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gateway_sessions_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gateway_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_sessions_expires_at"))
        batch_op.drop_index(batch_op.f("ix_gateway_sessions_server_id"))
    op.drop_table("gateway_sessions")
    op.drop_table("server_endpoints")
    op.drop_table("nodes")
