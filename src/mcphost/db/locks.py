"""Transaction-scoped named locks for check-then-write rules (first user becomes admin, quotas, last admin).

On PostgreSQL this is ``pg_advisory_xact_lock``; on SQLite every transaction already holds the database write
lock from its start, which serialises the same sections."""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def advisory_xact_lock(session: AsyncSession, name: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(name)})
