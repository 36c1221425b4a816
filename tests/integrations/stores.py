"""The machine's real PostgreSQL and Redis as the platform's attached-service stores, and cleaning up after a test
whatever it left (roles, databases, ACL users)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

REDIS_URL = os.environ.get("MCPHOST_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def postgres_admin_url() -> str:
    server = os.environ.get("MCPHOST_TEST_POSTGRES_URL") or "postgresql://postgres@localhost:5432/postgres"
    return make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)


async def _postgres_names() -> set[str]:
    connection = await asyncpg.connect(postgres_admin_url())
    try:
        rows = await connection.fetch("SELECT rolname FROM pg_roles WHERE rolname LIKE 'mcphost_srv_%'")
        return {row["rolname"] for row in rows}
    finally:
        await connection.close()


@pytest.fixture
async def stores() -> AsyncIterator[dict[str, str]]:
    """The admin URLs; whatever a test made there is dropped afterwards."""
    try:
        before = await _postgres_names()
        client = aioredis.from_url(REDIS_URL)
        users_before = set(await client.acl_users())
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"needs PostgreSQL on localhost:5432 and Redis on :6379 (scripts/setup_system.sh): {exc}")
    yield {"postgres": postgres_admin_url(), "redis": REDIS_URL}
    connection = await asyncpg.connect(postgres_admin_url())
    try:
        for name in await _postgres_names() - before:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.execute(f'DROP ROLE IF EXISTS "{name}"')
    finally:
        await connection.close()
    for user in set(await client.acl_users()) - users_before:
        await client.acl_deluser(user)
    await client.aclose()
