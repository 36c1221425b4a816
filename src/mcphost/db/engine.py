"""Engine construction: SQLite gets WAL, foreign keys, a busy timeout and write-locking transactions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mcphost.settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return _sqlite_engine(settings, url.render_as_string(hide_password=False))
    if url.get_backend_name() == "postgresql":
        return create_async_engine(
            url,
            echo=settings.database.echo,
            pool_size=settings.database.pool_size,
            max_overflow=settings.database.pool_size,
            pool_pre_ping=True,
        )
    raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite+aiosqlite or postgresql+asyncpg")


def _sqlite_engine(settings: Settings, url: str) -> AsyncEngine:
    engine = create_async_engine(url, echo=settings.database.echo, connect_args={"timeout": 30})
    busy_timeout = settings.database.sqlite_busy_timeout_ms

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction starts (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on busy_timeout instead of
        # failing with SQLITE_BUSY when a read transaction later tries to upgrade to a write.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
