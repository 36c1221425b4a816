"""Helpers of the job queue tests: enqueue and read jobs in their own transactions, run workers, wait."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from mcphost.jobs import queue
from mcphost.jobs.registry import JobHandler, JobRegistry
from mcphost.jobs.worker import JobWorker
from mcphost.models import Job, JobStatus
from mcphost.platform import Platform

WAIT_SECONDS = 15.0


async def enqueue(platform: Platform, kind: str, payload: dict[str, Any] | None = None, **options: Any) -> uuid.UUID:
    """Enqueue one job in a committed unit of work of its own."""
    async with platform.db.session_scope() as session:
        job = await queue.enqueue(session, kind, payload, **options)
        return job.id


async def load(platform: Platform, job_id: uuid.UUID) -> Job:
    async with platform.db.session_scope() as session:
        job = await session.get(Job, job_id)
        assert job is not None, f"job {job_id} does not exist"
        return job


async def all_jobs(platform: Platform) -> list[Job]:
    async with platform.db.session_scope() as session:
        return list((await session.scalars(sa.select(Job).order_by(Job.created_at))).all())


async def claim(platform: Platform, worker_id: str, kinds: list[str], limit: int = 1, lease: float = 30.0) -> list[Job]:
    async with platform.db.session_scope() as session:
        return await queue.claim(session, worker_id, kinds, limit, timedelta(seconds=lease))


async def eventually(
    check: Callable[[], Awaitable[Any]], what: str, within: float = WAIT_SECONDS, interval: float = 0.02
) -> Any:
    """Poll ``check`` until it returns something truthy; fail the test (never hang) after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(interval)


async def wait_for_status(
    platform: Platform, job_id: uuid.UUID, status: JobStatus, within: float = WAIT_SECONDS
) -> Job:
    async def reached() -> Job | None:
        job = await load(platform, job_id)
        return job if job.status is status else None

    result: Job = await eventually(reached, f"job {job_id} to be {status.value}", within)
    return result


@asynccontextmanager
async def running_worker(
    platform: Platform, handlers: dict[str, JobHandler], worker_id: str | None = None, stop_grace: float = 5.0
) -> AsyncIterator[JobWorker]:
    """A started ``JobWorker`` with these handlers; stopped when the block ends."""
    registry = JobRegistry()
    for kind, handler in handlers.items():
        registry.register(kind, handler)
    worker = JobWorker(platform, registry, worker_id=worker_id)
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop(stop_grace)
