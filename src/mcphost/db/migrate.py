"""Applying and inspecting migrations. Several replicas may start at once: on PostgreSQL an advisory lock
makes one of them migrate while the others wait."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_ID = 0x6D6370686F7374  # "mcphost"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    current, head = _current(connection), head_revision()
    if current == head:
        return
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    log.info("database migrated from %s to %s", current or "empty", head)


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the database to the newest revision (no-op when it is current)."""
    async with engine.connect() as connection:
        await connection.run_sync(_upgrade)
        await connection.commit()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        revision = await connection.run_sync(_current)
        await connection.rollback()
        return revision


async def is_current(engine: AsyncEngine) -> bool:
    return await current_revision(engine) == head_revision()
