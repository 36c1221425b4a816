"""Upgrading a database with servers to revisions (0004 → 0005): each existing server gets revision 1 from what it
runs, secrets by name only, and no webhook secret until its first rotation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from mcphost.db import migrate
from mcphost.db.base import JSONType, UTCDateTime

USER_ID, SERVER_ID = uuid.uuid4(), uuid.uuid4()
SOURCE = {"type": "package", "registry_type": "pypi", "identifier": "mcp-server-time", "version": "2025.9.25"}


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = migrate.alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _insert_a_server(connection: Connection) -> None:
    now = datetime.now(UTC)
    users = sa.table(
        "users",
        *(sa.column(name) for name in ("email", "password_hash", "role", "server_quota", "is_active")),
        sa.column("id", sa.Uuid()),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    connection.execute(
        users.insert().values(
            id=USER_ID, email="old@example.com", password_hash="x", role="user", server_quota=5, is_active=True,
            created_at=now, updated_at=now,
        )
    )  # fmt: skip
    plain = ("name", "slug", "runtime", "network", "isolation", "desired_state", "status", "generation")
    counts = ("restart_count", "consecutive_crashes")
    servers = sa.table(
        "servers",
        *(sa.column(name) for name in (*plain, *counts)),
        *(sa.column(name, sa.Uuid()) for name in ("id", "owner_user_id", "created_by")),
        *(sa.column(name, JSONType) for name in ("source", "env", "config", "secret_env", "resources", "warnings")),
        *(sa.column(name, UTCDateTime()) for name in ("status_changed_at", "created_at", "updated_at")),
    )
    connection.execute(
        servers.insert().values(
            id=SERVER_ID, owner_user_id=USER_ID, created_by=USER_ID, name="Old", slug="old", runtime="process",
            network="none", isolation="per_user", desired_state="running", status="running", generation=3,
            restart_count=0, consecutive_crashes=0, source=SOURCE, env={"TZ": "UTC"}, config={"region": "eu"},
            secret_env={"API_KEY": "v1:sealed-value"}, resources={"cpu_limit": 0.5}, warnings=[],
            status_changed_at=now, created_at=now, updated_at=now,
        )
    )  # fmt: skip


async def test_existing_servers_get_revision_one_from_their_state(empty_database_url: str) -> None:
    engine = create_async_engine(empty_database_url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_upgrade_to, "0004")
            await connection.run_sync(_insert_a_server)
            await connection.commit()
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            server = (await connection.execute(sa.text("SELECT revision FROM servers"))).one()
            revisions = sa.table(
                "server_revisions",
                *(sa.column(name) for name in ("number", "reason", "actor", "created_by")),
                sa.column("server_id", sa.Uuid()),
                sa.column("source", JSONType),
                sa.column("settings", JSONType),
            )
            rows = (await connection.execute(sa.select(revisions))).mappings().all()
            webhooks = (await connection.execute(sa.text("SELECT count(*) FROM server_webhooks"))).scalar_one()
    finally:
        await engine.dispose()

    assert server.revision == 1
    assert len(rows) == 1
    revision = rows[0]
    assert revision["server_id"] == SERVER_ID and revision["number"] == 1
    assert (revision["reason"], revision["actor"], revision["created_by"]) == ("initial", "system", None)
    assert revision["source"] == SOURCE
    assert revision["settings"] == {
        "runtime": "process",
        "env": {"TZ": "UTC"},
        "config": {"region": "eu"},
        "resources": {"cpu_limit": 0.5},
        "network": "none",
        "isolation": "per_user",
        "secret_names": ["API_KEY"],
    }
    assert webhooks == 0
