"""managed vector databases (a supervised Chroma server each) and the ingestion jobs that fill them

Revision ID: 0012_vector_dbs
Revises: 0011_workflows
Create Date: 2026-12-05 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from mcphost.db.base import UTCDateTime

revision: str = "0012_vector_dbs"
down_revision: str | None = "0011_workflows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
DB_STATUS = sa.Enum("starting", "running", "failed", name="vectordbstatus", native_enum=False, length=32)
JOB_STATUS = sa.Enum(
    "queued",
    "running",
    "succeeded",
    "partial",
    "failed",
    "cancelled",
    name="ingestionstatus",
    native_enum=False,
    length=32,
)


def upgrade() -> None:
    op.create_table(
        "vector_databases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("status", DB_STATUS, nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("server_id", sa.Uuid(), nullable=True),
        sa.Column("published_collection", sa.String(length=63), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_vector_databases_owner_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_vector_databases_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_vector_databases_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_vector_databases_server_id_servers"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vector_databases")),
    )
    with op.batch_alter_table("vector_databases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vector_databases_owner_user_id"), ["owner_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vector_databases_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vector_databases_server_id"), ["server_id"], unique=False)

    op.create_table(
        "ingestion_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vector_db_id", sa.Uuid(), nullable=False),
        sa.Column("collection", sa.String(length=63), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=False),
        sa.Column("sources", JSON, nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("chunk_overlap", sa.Integer(), nullable=False),
        sa.Column("status", JOB_STATUS, nullable=False),
        sa.Column("progress", JSON, nullable=False),
        sa.Column("errors", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vector_db_id"],
            ["vector_databases.id"],
            name=op.f("fk_ingestion_jobs_vector_db_id_vector_databases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_ingestion_jobs_owner_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingestion_jobs")),
    )
    with op.batch_alter_table("ingestion_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingestion_jobs_owner_user_id"), ["owner_user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ingestion_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingestion_jobs_owner_user_id"))
    op.drop_table("ingestion_jobs")
    with op.batch_alter_table("vector_databases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vector_databases_server_id"))
        batch_op.drop_index(batch_op.f("ix_vector_databases_org_id"))
        batch_op.drop_index(batch_op.f("ix_vector_databases_owner_user_id"))
    op.drop_table("vector_databases")
