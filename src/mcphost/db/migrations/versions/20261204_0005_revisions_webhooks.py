"""revisions of servers, webhook secrets and deliveries

Existing servers get revision 1 ("initial") from their current source and settings; their webhook secret is made on
its first rotation.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 09:00:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from mcphost.db.base import JSONType, UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("servers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
    revisions = op.create_table(
        "server_revisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "create",
                "update",
                "redeploy",
                "webhook",
                "push",
                "rollback",
                "initial",
                name="revisionreason",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "actor",
            sa.Enum("user", "webhook", "github", "system", name="revisionactor", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("rolled_back_to", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("source", JSONType, nullable=False),
        sa.Column("settings", JSONType, nullable=False),
        sa.Column("resolved", JSONType, nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_server_revisions_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_server_revisions_server_id_servers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_revisions")),
        sa.UniqueConstraint("server_id", "number", name="uq_server_revisions_server_id_number"),
    )
    op.create_table(
        "server_webhooks",
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("rotated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_server_webhooks_server_id_servers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("server_id", name=op.f("pk_server_webhooks")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("endpoint", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=100), nullable=False),
        sa.Column("delivery_id", sa.String(length=100), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum("redeployed", "ignored", "rejected", name="deliveryoutcome", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_webhook_deliveries_server_id_servers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_server_id_id", ["server_id", "id"], unique=False)
    _record_initial_revisions(revisions)


def _record_initial_revisions(revisions: sa.Table) -> None:
    """Revision 1 of every existing server: what it runs now, secrets by name only."""
    servers = sa.table(
        "servers",
        sa.column("id", sa.Uuid()),
        sa.column("source", JSONType),
        sa.column("runtime", sa.String()),
        sa.column("env", JSONType),
        sa.column("config", JSONType),
        sa.column("secret_env", JSONType),
        sa.column("resources", JSONType),
        sa.column("network", sa.String()),
        sa.column("isolation", sa.String()),
        sa.column("revision", sa.Integer()),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(servers)).mappings().all()
    now = datetime.now(UTC)
    for row in rows:
        settings = {
            "runtime": row["runtime"],
            "env": row["env"] or {},
            "config": row["config"] or {},
            "resources": row["resources"] or {},
            "network": row["network"],
            "isolation": row["isolation"],
            "secret_names": sorted(row["secret_env"] or {}),
        }
        bind.execute(
            revisions.insert().values(
                id=uuid.uuid4(),
                server_id=row["id"],
                number=1,
                created_at=now,
                reason="initial",
                actor="system",
                detail="recorded from the server's state when revisions were introduced",
                source=row["source"],
                settings=settings,
            )
        )
    if rows:
        bind.execute(sa.update(servers).values(revision=1))


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_server_id_id")
    op.drop_table("webhook_deliveries")
    op.drop_table("server_webhooks")
    op.drop_table("server_revisions")
    with op.batch_alter_table("servers", schema=None) as batch_op:
        batch_op.drop_column("revision")
