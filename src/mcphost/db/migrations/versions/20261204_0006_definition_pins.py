"""definition pins: the approved and current definitions of servers' tools, prompts and resources, the pin policy, the
names held now, the owner's tool rules (disabled tools, tools kept for a role), and per-user credentials (the
variables each user supplies, and their sealed values)

Existing servers get the policy pin; their definitions at the next sync become the approved baseline.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mcphost.db.base import JSONType, UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("servers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "pin_policy",
                sa.Enum("pin", "warn", "off", name="pinpolicy", native_enum=False, length=32),
                nullable=False,
                server_default="pin",
            )
        )
        batch_op.add_column(sa.Column("held", JSONType, nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("tool_rules", JSONType, nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("per_user_env", JSONType, nullable=False, server_default="[]"))
    op.create_table(
        "definition_pins",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("tool", "prompt", "resource", name="definitionkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("approved_digest", sa.String(length=64), nullable=True),
        sa.Column("approved_definition", JSONType, nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("current_digest", sa.String(length=64), nullable=True),
        sa.Column("current_definition", JSONType, nullable=True),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["users.id"], name=op.f("fk_definition_pins_approved_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_definition_pins_server_id_servers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definition_pins")),
        sa.UniqueConstraint("server_id", "kind", "name", name="uq_definition_pins_item"),
    )
    with op.batch_alter_table("definition_pins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_definition_pins_server_id"), ["server_id"], unique=False)

    op.create_table(
        "user_credentials",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_user_credentials_server_id_servers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_credentials_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_credentials")),
        sa.UniqueConstraint("server_id", "user_id", "name", name="uq_user_credentials_value"),
    )
    with op.batch_alter_table("user_credentials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_credentials_server_id"), ["server_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_credentials_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_credentials_user_id"))
        batch_op.drop_index(batch_op.f("ix_user_credentials_server_id"))
    op.drop_table("user_credentials")
    with op.batch_alter_table("definition_pins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_definition_pins_server_id"))
    op.drop_table("definition_pins")
    with op.batch_alter_table("servers", schema=None) as batch_op:
        batch_op.drop_column("per_user_env")
        batch_op.drop_column("tool_rules")
        batch_op.drop_column("held")
        batch_op.drop_column("pin_policy")
