"""Alembic environment. Runs on a connection handed in by ``mcphost.db.migrate`` or, from the ``alembic``
command line, on the database named by the settings (``MCPHOST_DATABASE_URL``)."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection

from mcphost import models  # noqa: F401  (registers every table)
from mcphost.db.base import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render the portable column types by name so generated migrations stay readable."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from mcphost.db.base import UTCDateTime")
        return "UTCDateTime()"
    if type_ == "type" and isinstance(obj, sa.JSON):
        autogen_context.imports.add("from mcphost.db.base import JSONType")
        return "JSONType"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_settings() -> None:
    from mcphost.db.engine import create_engine
    from mcphost.settings import Settings

    engine = create_engine(Settings())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
elif connection is not None:
    _run(connection)
else:
    asyncio.run(_run_from_settings())
