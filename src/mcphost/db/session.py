"""The database handle of a process and the one place transactions are committed.

Repositories and services only ``flush()``. The owner of a unit of work (a request dependency or a worker's
``session_scope()``) commits or rolls back, and then publishes the events the work queued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mcphost.db.engine import create_engine
from mcphost.settings import Settings

log = logging.getLogger(__name__)
AfterCommit = Callable[[list[Any]], Awaitable[None]]
PENDING_EVENTS = "pending_events"
T = TypeVar("T")


class Database:
    """Engine plus session factory; ``after_commit`` receives the events queued by a committed unit of work."""

    def __init__(self, settings: Settings, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self.engine = engine or create_engine(settings)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.after_commit: AfterCommit | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session_scope(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commit on success, roll back on error, then publish what it queued."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            pending = session.info.pop(PENDING_EVENTS, [])
        if pending and self.after_commit is not None:
            try:
                await self.after_commit(pending)
            except Exception:
                # The work is committed; events only notify about it, so a failed notification must not
                # turn a success into an error. Listeners that missed it resynchronise from the database.
                log.exception("publishing %d events after commit failed", len(pending))

    async def complete(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work`` in its own transaction, in a task the caller's cancellation cannot cut short.

        For code that a client can cancel at any moment, such as a streaming response whose client went away
        (Starlette then cancels it). Cancelled in the middle of a statement, the connection is thrown away
        without its transaction being ended; on SQLite, where transactions begin IMMEDIATE, it keeps the write
        lock and stalls the instance. Here the caller stops waiting while the work finishes and releases it."""

        async def run() -> T:
            async with self.session_scope() as session:
                return await work(session)

        task = asyncio.ensure_future(run())
        _unfinished.add(task)
        task.add_done_callback(_finished)
        return await asyncio.shield(task)

    async def dispose(self) -> None:
        await self.engine.dispose()


_unfinished: set[asyncio.Future[Any]] = set()  # strong references until done: the loop keeps only weak ones


def _finished(task: asyncio.Future[Any]) -> None:
    _unfinished.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.debug("work whose caller went away failed: %s", task.exception())


def queue_after_commit(session: AsyncSession, item: Any) -> None:
    """Queue an item (an event) to be delivered only if the session's transaction commits."""
    session.info.setdefault(PENDING_EVENTS, []).append(item)
