"""The database tests' fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support import databases


@pytest.fixture
async def empty_database_url(tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the kind this run tests (SQLite, or PostgreSQL in the PostgreSQL run)."""
    server = databases.suite_postgres_url()
    if server is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    url = await databases.create_postgres_database(server, "migrations", migrate_to_head=False)
    yield url
    await databases.drop_postgres_database(server, url)
