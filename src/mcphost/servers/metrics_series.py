"""Time series of one server for its metrics page: calls, errors, latency percentiles and restarts per bucket.

Counts are aggregated in SQL per bucket. The bucket of a row is ``floor((epoch(ts) - start) / step)``; the epoch of
a timestamp is spelt differently by SQLite and PostgreSQL, so it is one small construct compiled per dialect.
Percentiles are not portable in SQL: the durations of the window (the newest ``MAX_DURATIONS`` at most) come in
one query and are ranked in Python.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from mcphost.db.base import utcnow
from mcphost.models import InvocationRecord, UsageEvent

Window = Literal["1h", "24h", "7d"]
#: Each window: its label, how many buckets and how long each is.
WINDOWS: dict[str, tuple[str, int, timedelta]] = {
    "1h": ("last hour", 60, timedelta(minutes=1)),
    "24h": ("last 24 hours", 48, timedelta(minutes=30)),
    "7d": ("last 7 days", 56, timedelta(hours=3)),
}
MAX_DURATIONS = 20_000
RESTART_KINDS = ("restart", "crash")


class bucket_index(FunctionElement[int]):
    """``floor((epoch(ts) - start) / step)`` for a timestamp column and two numbers rendered as literals."""

    type = sa.Integer()
    inherit_cache = True
    name = "bucket_index"


def _parts(element: bucket_index, compiler: SQLCompiler, **kw: Any) -> tuple[str, str, str]:
    ts, start, step = (compiler.process(clause, **kw) for clause in element.clauses)
    return ts, start, step


@compiles(bucket_index, "sqlite")
def _bucket_sqlite(element: bucket_index, compiler: SQLCompiler, **kw: Any) -> str:
    ts, start, step = _parts(element, compiler, **kw)
    # Rows are at or after the start, so truncating (CAST) is flooring.
    return f"CAST(((julianday({ts}) - 2440587.5) * 86400.0 - {start}) / {step} AS INTEGER)"


@compiles(bucket_index, "postgresql")
def _bucket_postgresql(element: bucket_index, compiler: SQLCompiler, **kw: Any) -> str:
    ts, start, step = _parts(element, compiler, **kw)
    return f"CAST(FLOOR((EXTRACT(EPOCH FROM {ts}) - {start}) / {step}) AS INTEGER)"


@dataclass(frozen=True)
class Series:
    """Per bucket values, oldest first; ``starts[i]`` is when bucket i begins."""

    window: str
    label: str
    step: timedelta
    starts: list[datetime]
    calls: list[int]
    errors: list[int]
    p50: list[float | None]
    p99: list[float | None]
    restarts: list[int]
    crashes: list[int]
    latency_sampled: bool

    @property
    def total_calls(self) -> int:
        return sum(self.calls)

    @property
    def total_errors(self) -> int:
        return sum(self.errors)

    @property
    def per_second(self) -> list[float]:
        seconds = self.step.total_seconds()
        return [count / seconds for count in self.calls]


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of sorted ``values`` (None when there are none)."""
    if not values:
        return None
    rank = max(1, math.ceil(fraction * len(values)))
    return values[min(rank, len(values)) - 1]


def buckets(window: str, now: datetime | None = None) -> tuple[datetime, int, timedelta]:
    """The first bucket's start, the bucket count and the step; the last bucket holds ``now``."""
    _label, count, step = WINDOWS[window]
    moment = (now or utcnow()).astimezone(UTC)
    seconds = step.total_seconds()
    end = (math.floor(moment.timestamp() / seconds) + 1) * seconds
    return datetime.fromtimestamp(end - count * seconds, UTC), count, step


async def series(session: AsyncSession, server_id: uuid.UUID, window: str, now: datetime | None = None) -> Series:
    start, count, step = buckets(window, now)
    # Literals, not parameters: PostgreSQL then sees the same expression in the query and its subquery.
    start_literal: sa.ColumnElement[float] = sa.literal_column(repr(float(start.timestamp())))
    step_literal: sa.ColumnElement[float] = sa.literal_column(repr(float(step.total_seconds())))
    calls, errors = [0] * count, [0] * count

    calls_in = (
        sa.select(
            bucket_index(InvocationRecord.ts, start_literal, step_literal).label("bucket"),
            InvocationRecord.status,
        )
        .where(InvocationRecord.server_id == server_id, InvocationRecord.ts >= start)
        .subquery()
    )
    counted = await session.execute(
        sa.select(
            calls_in.c.bucket,
            sa.func.count(),
            sa.func.sum(sa.case((calls_in.c.status == "error", 1), else_=0)),
        ).group_by(calls_in.c.bucket)
    )
    for bucket, total, failed in counted:
        if 0 <= bucket < count:
            calls[bucket], errors[bucket] = int(total), int(failed or 0)

    durations: list[list[float]] = [[] for _ in range(count)]
    newest = await session.execute(
        sa.select(bucket_index(InvocationRecord.ts, start_literal, step_literal), InvocationRecord.duration_ms)
        .where(InvocationRecord.server_id == server_id, InvocationRecord.ts >= start)
        .order_by(InvocationRecord.id.desc())
        .limit(MAX_DURATIONS)
    )
    sampled = 0
    for bucket, duration in newest:
        sampled += 1
        if 0 <= bucket < count:
            durations[bucket].append(float(duration))
    for values in durations:
        values.sort()

    restarts, crashes = [0] * count, [0] * count
    events_in = (
        sa.select(bucket_index(UsageEvent.ts, start_literal, step_literal).label("bucket"), UsageEvent.kind)
        .where(UsageEvent.server_id == server_id, UsageEvent.ts >= start, UsageEvent.kind.in_(RESTART_KINDS))
        .subquery()
    )
    happened = await session.execute(
        sa.select(events_in.c.bucket, events_in.c.kind, sa.func.count()).group_by(events_in.c.bucket, events_in.c.kind)
    )
    for bucket, kind, total in happened:
        if 0 <= bucket < count:
            (restarts if kind == "restart" else crashes)[bucket] = int(total)

    return Series(
        window=window,
        label=WINDOWS[window][0],
        step=step,
        starts=[start + i * step for i in range(count)],
        calls=calls,
        errors=errors,
        p50=[percentile(values, 0.5) for values in durations],
        p99=[percentile(values, 0.99) for values in durations],
        restarts=restarts,
        crashes=crashes,
        latency_sampled=sampled >= MAX_DURATIONS,
    )
