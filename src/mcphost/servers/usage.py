"""Usage events of a server and their per-interval aggregates."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.base import utcnow
from mcphost.models import UsageEvent
from mcphost.servers.observe_schemas import MetricsOut, UsageBucket, UsageEventOut

Interval = Literal["minute", "hour", "day"]
_STEP = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BUCKETS = 1000


def _floor(moment: datetime, interval: Interval) -> datetime:
    if interval == "minute":
        return moment.replace(second=0, microsecond=0)
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


async def metrics(
    session: AsyncSession,
    server_id: uuid.UUID,
    *,
    interval: Interval,
    since: datetime | None,
    limit: int,
    kinds: list[str],
) -> MetricsOut:
    """The newest events and, since ``since`` (default: 24 intervals ago), counts per kind per interval."""
    step = _STEP[interval]
    now = utcnow()
    since = max(since or now - 24 * step, now - MAX_BUCKETS * step)
    filters = [UsageEvent.server_id == server_id]
    if kinds:
        filters.append(UsageEvent.kind.in_(kinds))
    newest = await session.scalars(sa.select(UsageEvent).where(*filters).order_by(UsageEvent.id.desc()).limit(limit))
    window = await session.execute(sa.select(UsageEvent.kind, UsageEvent.ts).where(*filters, UsageEvent.ts >= since))
    buckets: dict[datetime, dict[str, int]] = {}
    start = _floor(since, interval)
    while start <= now:
        buckets[start] = {}
        start += step
    totals: dict[str, int] = {}
    for kind, ts in window:
        counts = buckets.setdefault(_floor(ts, interval), {})
        counts[kind] = counts.get(kind, 0) + 1
        totals[kind] = totals.get(kind, 0) + 1
    return MetricsOut(
        interval=interval,
        since=since,
        events=[UsageEventOut.model_validate(event) for event in newest],
        buckets=[UsageBucket(start=moment, counts=counts) for moment, counts in sorted(buckets.items())],
        totals=totals,
    )


async def kinds(session: AsyncSession, server_id: uuid.UUID) -> list[str]:
    """The kinds of event the server has, alphabetically."""
    rows = await session.scalars(
        sa.select(UsageEvent.kind).where(UsageEvent.server_id == server_id).distinct().order_by(UsageEvent.kind)
    )
    return list(rows.all())


async def recent(session: AsyncSession, server_id: uuid.UUID, kinds: list[str] | None, limit: int) -> list[UsageEvent]:
    """The newest events, newest first; only these kinds when ``kinds`` is given (an empty list: none)."""
    if kinds is not None and not kinds:
        return []
    statement = sa.select(UsageEvent).where(UsageEvent.server_id == server_id)
    if kinds is not None:
        statement = statement.where(UsageEvent.kind.in_(kinds))
    return list((await session.scalars(statement.order_by(UsageEvent.id.desc()).limit(limit))).all())
