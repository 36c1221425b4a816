"""custom domains: names claimed for servers, their verification tokens, and once verified, the state of the TLS
certificate Caddy serves them with

A name is unique per server, and among verified domains across the platform (a partial unique index: several
servers may claim a name until one proves it).

Revision ID: 0008_custom_domains
Revises: 0007_oauth
Create Date: 2026-12-05 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mcphost.db.base import UTCDateTime

revision: str = "0008_custom_domains"
down_revision: str | None = "0007_oauth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERIFIED = sa.text("status = 'verified'")


def upgrade() -> None:
    op.create_table(
        "custom_domains",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending_verification", "verified", name="domainstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.Column(
            "verified_with",
            sa.Enum("dns", "http", name="verificationmethod", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column(
            "certificate",
            sa.Enum("pending", "issued", "failed", name="certificatestatus", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("certificate_detail", sa.Text(), nullable=True),
        sa.Column("certificate_expires_at", UTCDateTime(), nullable=True),
        sa.Column("certificate_checked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_custom_domains_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_custom_domains_server_id_servers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_domains")),
        sa.UniqueConstraint("server_id", "name", name="uq_custom_domains_server_id_name"),
    )
    with op.batch_alter_table("custom_domains", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custom_domains_server_id"), ["server_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_custom_domains_name"), ["name"], unique=False)
        batch_op.create_index(
            "uq_custom_domains_verified_name",
            ["name"],
            unique=True,
            sqlite_where=VERIFIED,
            postgresql_where=VERIFIED,
        )


def downgrade() -> None:
    with op.batch_alter_table("custom_domains", schema=None) as batch_op:
        batch_op.drop_index("uq_custom_domains_verified_name")
        batch_op.drop_index(batch_op.f("ix_custom_domains_name"))
        batch_op.drop_index(batch_op.f("ix_custom_domains_server_id"))
    op.drop_table("custom_domains")
