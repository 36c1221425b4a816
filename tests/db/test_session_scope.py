"""Database work that a client can cancel at any moment still ends its transaction.

Starlette cancels a streaming response's task when its client goes away (an EventSource closed by leaving a
page). Cancelled in the middle of a statement, SQLAlchemy throws the connection away without ending its
transaction; on SQLite, where transactions begin IMMEDIATE, the write lock then stays taken and every other
transaction of the instance fails with "database is locked". ``Database.complete`` runs such work to completion.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db import migrate
from mcphost.db.session import Database
from tests.conftest import make_settings

# Long enough (about a second) to be cancelled in the middle of it, on either database.
SLOW = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT count(*) FROM c"


async def _slow_read(session: AsyncSession) -> int:
    return int((await session.execute(sa.text(SLOW))).scalar_one())


async def test_work_cancelled_mid_statement_still_releases_the_database(tmp_path: Path, database_url: str) -> None:
    db = Database(make_settings(tmp_path / "home", database_url, database={"sqlite_busy_timeout_ms": 3000}))
    await migrate.upgrade(db.engine)
    try:
        for _ in range(3):
            async with anyio.create_task_group() as streams:
                streams.start_soon(db.complete, _slow_read)
                await anyio.sleep(0.05)
                streams.cancel_scope.cancel()  # the client went away

            async with asyncio.timeout(20), db.session_scope() as session:
                await session.execute(sa.text("UPDATE users SET server_quota = server_quota"))
        for _ in range(400):  # the cancelled work finishes in the background, then gives its connection back
            if not db.engine.pool.checkedout():
                break
            await asyncio.sleep(0.05)
        assert db.engine.pool.checkedout() == 0
    finally:
        await db.dispose()
