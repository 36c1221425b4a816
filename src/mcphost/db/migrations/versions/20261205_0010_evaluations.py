"""evaluations: cases, suites, runs, results

Revision ID: 0010_evaluations
Revises: 0009_server_services
Create Date: 2026-12-05 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mcphost.db.base import JSONType, UTCDateTime

revision: str = "0010_evaluations"
down_revision: str | None = "0009_server_services"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MATCH_MODE = sa.Enum("exact", "contains", "json_subset", "similarity", name="matchmode", native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "evaluation_suites",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("run_on_deploy", sa.Boolean(), nullable=False),
        sa.Column("schedule_seconds", sa.Integer(), nullable=True),
        sa.Column("next_run_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(owner_user_id IS NOT NULL) <> (org_id IS NOT NULL)", name=op.f("ck_evaluation_suites_one_owner")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_evaluation_suites_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_evaluation_suites_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_evaluation_suites_owner_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_suites")),
    )
    with op.batch_alter_table("evaluation_suites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_suites_next_run_at"), ["next_run_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluation_suites_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluation_suites_owner_user_id"), ["owner_user_id"], unique=False)

    op.create_table(
        "evaluation_cases",
        sa.Column("suite_id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tool", sa.String(length=500), nullable=False),
        sa.Column("arguments", JSONType, nullable=False),
        sa.Column("expected", JSONType, nullable=False),
        sa.Column("match_mode", MATCH_MODE, nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("recorded_from", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_evaluation_cases_server_id_servers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["suite_id"],
            ["evaluation_suites.id"],
            name=op.f("fk_evaluation_cases_suite_id_evaluation_suites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_cases")),
    )
    with op.batch_alter_table("evaluation_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_cases_server_id"), ["server_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluation_cases_suite_id"), ["suite_id"], unique=False)

    op.create_table(
        "evaluation_runs",
        sa.Column("suite_id", sa.Uuid(), nullable=False),
        sa.Column(
            "trigger",
            sa.Enum("manual", "deploy", "schedule", name="evaluationtrigger", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "queued", "running", "passed", "failed", "error", name="evaluationstatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("server_id", sa.Uuid(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("run_as", sa.Uuid(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("average_score", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_as"], ["users.id"], name=op.f("fk_evaluation_runs_run_as_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_evaluation_runs_server_id_servers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["suite_id"],
            ["evaluation_suites.id"],
            name=op.f("fk_evaluation_runs_suite_id_evaluation_suites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_runs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_evaluation_runs_dedupe_key")),
    )
    with op.batch_alter_table("evaluation_runs", schema=None) as batch_op:
        batch_op.create_index("ix_evaluation_runs_suite_id_created_at", ["suite_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluation_runs_server_id"), ["server_id"], unique=False)

    op.create_table(
        "evaluation_results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("case_name", sa.String(length=200), nullable=False),
        sa.Column("tool", sa.String(length=500), nullable=False),
        sa.Column("match_mode", MATCH_MODE, nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("actual", JSONType, nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["evaluation_cases.id"],
            name=op.f("fk_evaluation_results_case_id_evaluation_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["evaluation_runs.id"],
            name=op.f("fk_evaluation_results_run_id_evaluation_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_evaluation_results_server_id_servers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_results")),
    )
    with op.batch_alter_table("evaluation_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_results_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluation_results_server_id"), ["server_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evaluation_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_results_server_id"))
        batch_op.drop_index(batch_op.f("ix_evaluation_results_run_id"))
    op.drop_table("evaluation_results")
    with op.batch_alter_table("evaluation_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_runs_server_id"))
        batch_op.drop_index("ix_evaluation_runs_suite_id_created_at")
    op.drop_table("evaluation_runs")
    with op.batch_alter_table("evaluation_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_cases_suite_id"))
        batch_op.drop_index(batch_op.f("ix_evaluation_cases_server_id"))
    op.drop_table("evaluation_cases")
    with op.batch_alter_table("evaluation_suites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_suites_owner_user_id"))
        batch_op.drop_index(batch_op.f("ix_evaluation_suites_org_id"))
        batch_op.drop_index(batch_op.f("ix_evaluation_suites_next_run_at"))
    op.drop_table("evaluation_suites")
