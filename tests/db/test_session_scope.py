"""A transaction whose task is cancelled still releases its connection.

Starlette cancels a streaming response's task when the client goes away (an EventSource closed by leaving a page)
through an anyio cancel scope. A transaction cut short there must still roll back and give its connection back; on
SQLite, where every transaction begins IMMEDIATE, a connection left open would keep the write lock and stall every
other transaction of the instance."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio
import sqlalchemy as sa

from mcphost.db import migrate
from mcphost.db.session import Database
from tests.conftest import make_settings


async def test_a_cancelled_transaction_releases_the_database(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path / "home", database_url, database={"sqlite_busy_timeout_ms": 2000})
    db = Database(settings)
    await migrate.upgrade(db.engine)
    try:
        with anyio.move_on_after(0.2):
            async with db.session_scope() as session:
                await session.execute(sa.text("SELECT count(*) FROM users"))
                await anyio.sleep(10)  # cancelled here, like a stream whose client went away

        async with asyncio.timeout(10), db.session_scope() as session:
            await session.execute(sa.text("UPDATE users SET server_quota = server_quota"))
        assert db.engine.pool.checkedout() == 0
    finally:
        await db.dispose()
