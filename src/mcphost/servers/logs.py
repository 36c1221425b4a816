"""Server output: buffered in memory, written in batches, trimmed to a per-server budget.

A chatty server can neither block itself (its pipe is always read) nor flood the database: lines wait in one
bounded buffer, are written in batches, and when the buffer is full new lines are dropped and counted; the
count is written as a platform line once there is room again. Live readers are woken at once in this process
and poll the database otherwise (another replica may host the server)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.base import utcnow
from mcphost.db.session import Database
from mcphost.models import LogStream, Server, ServerLog
from mcphost.services.loop import ServiceLoop
from mcphost.settings import ServerLogSettings

log = logging.getLogger(__name__)


class LogSink(ServiceLoop):
    """Collects lines from every local server and writes them in batches."""

    name = "log-writer"

    def __init__(self, db: Database, settings: ServerLogSettings) -> None:
        super().__init__(settings.flush_interval_seconds)
        self.db = db
        self.settings = settings
        self._buffer: deque[tuple[uuid.UUID, LogStream, str, datetime]] = deque()
        self._dropped: dict[uuid.UUID, int] = {}
        self._since_trim: dict[uuid.UUID, int] = {}
        self.written = asyncio.Condition()

    def add(self, server_id: uuid.UUID, stream: LogStream, line: str) -> None:
        """Never blocks: a full buffer drops the line and counts it."""
        if len(self._buffer) >= self.settings.buffer_lines:
            self._dropped[server_id] = self._dropped.get(server_id, 0) + 1
            return
        self._buffer.append((server_id, stream, line[: self.settings.max_line_chars], utcnow()))
        if len(self._buffer) >= 500:
            self.wake()

    async def run_once(self) -> None:
        if not self._buffer and not self._dropped:
            return
        batch = [self._buffer.popleft() for _ in range(min(len(self._buffer), 5000))]
        rows: list[dict[str, Any]] = [
            {"server_id": s, "stream": stream, "line": line, "ts": ts} for s, stream, line, ts in batch
        ]
        for server_id, count in self._dropped.items():
            note = f"{count} log lines dropped: the server wrote faster than they could be stored"
            rows.append({"server_id": server_id, "stream": LogStream.PLATFORM, "line": note, "ts": utcnow()})
        self._dropped.clear()
        async with self.db.session_scope() as session:
            named = {row["server_id"] for row in rows}
            touched = await _existing(session, named)
            rows = [row for row in rows if row["server_id"] in touched]
            if rows:
                await session.execute(sa.insert(ServerLog), rows)
            for gone in named - touched:
                self._since_trim.pop(gone, None)
            for server_id in touched:
                self._since_trim[server_id] = self._since_trim.get(server_id, 0) + 1
                if self._since_trim[server_id] >= 20:
                    self._since_trim[server_id] = 0
                    await trim(session, server_id, self.settings)
        async with self.written:
            self.written.notify_all()
        if self._buffer:
            self.wake()

    async def flush(self) -> None:
        while self._buffer or self._dropped:
            await self.run_once()

    async def on_stop(self) -> None:
        try:
            await self.flush()
        except Exception:
            log.exception("writing the last server log lines failed")


async def _existing(session: AsyncSession, server_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The servers among ``server_ids`` that still exist, held until the transaction ends (PostgreSQL: ``FOR KEY
    SHARE``; SQLite: the write lock), so none is deleted between this and the insert. The last lines of a deleted
    server are dropped: one of them would otherwise fail the whole batch on its foreign key."""
    found = await session.scalars(sa.select(Server.id).where(Server.id.in_(server_ids)).with_for_update(key_share=True))
    return set(found.all())


async def trim(session: AsyncSession, server_id: uuid.UUID, settings: ServerLogSettings) -> None:
    """Delete a server's oldest lines beyond its line and byte budgets."""
    keep_from = await session.scalar(
        sa.select(ServerLog.id)
        .where(ServerLog.server_id == server_id)
        .order_by(ServerLog.id.desc())
        .offset(settings.max_lines_per_server - 1)
        .limit(1)
    )
    if keep_from is not None:
        await session.execute(sa.delete(ServerLog).where(ServerLog.server_id == server_id, ServerLog.id < keep_from))
    sizes = (
        sa.select(
            ServerLog.id,
            sa.func.sum(sa.func.length(ServerLog.line)).over(order_by=ServerLog.id.desc()).label("running"),
        )
        .where(ServerLog.server_id == server_id)
        .subquery()
    )
    cut = await session.scalar(
        sa.select(sa.func.max(sizes.c.id)).where(sizes.c.running > settings.max_bytes_per_server)
    )
    if cut is not None:
        await session.execute(sa.delete(ServerLog).where(ServerLog.server_id == server_id, ServerLog.id <= cut))


async def tail(session: AsyncSession, server_id: uuid.UUID, lines: int) -> list[ServerLog]:
    rows = await session.scalars(
        sa.select(ServerLog).where(ServerLog.server_id == server_id).order_by(ServerLog.id.desc()).limit(lines)
    )
    return list(reversed(rows.all()))


async def history(
    session: AsyncSession, server_id: uuid.UUID, *, since: datetime | None, after_id: int | None, limit: int
) -> list[ServerLog]:
    statement = sa.select(ServerLog).where(ServerLog.server_id == server_id)
    if since is not None:
        statement = statement.where(ServerLog.ts >= since)
    if after_id is not None:
        statement = statement.where(ServerLog.id > after_id)
    return list((await session.scalars(statement.order_by(ServerLog.id).limit(limit))).all())


async def search(session: AsyncSession, server_id: uuid.UUID, text: str, lines: int) -> list[ServerLog]:
    """The newest lines containing ``text`` (any case), oldest first."""
    rows = await session.scalars(
        sa.select(ServerLog)
        .where(ServerLog.server_id == server_id, ServerLog.line.icontains(text, autoescape=True))
        .order_by(ServerLog.id.desc())
        .limit(lines)
    )
    return list(reversed(rows.all()))
