"""All SQL of the job queue. Callers own the transaction: ``enqueue`` only flushes, so a job enqueued during a
request that rolls back never exists.

Claiming takes rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers never take the same
job; on SQLite every transaction holds the write lock from its start (see ``db.engine``), which serialises
claims. A job whose lease expired (its worker died or hung) is claimable again, and dead once it has used all
its attempts.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.base import utcnow
from mcphost.db.session import queue_after_commit
from mcphost.events.base import Event
from mcphost.models import Job, JobStatus

MAX_ERROR_CHARS = 4000
DEFAULT_QUEUE = "default"
ENQUEUED_EVENT = "job.enqueued"


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 2.0
    max_seconds: float = 600.0

    def delay(self, attempt: int) -> timedelta:
        """Exponential backoff with +-10% jitter: base, 2*base, 4*base, ... capped at max."""
        seconds = min(self.base_seconds * 2 ** max(attempt - 1, 0), self.max_seconds)
        return timedelta(seconds=seconds * random.uniform(0.9, 1.1))  # noqa: S311 (jitter, not security)


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    idempotency_key: str | None = None,
    run_after: datetime | None = None,
    priority: int = 0,
    max_attempts: int = 5,
    queue: str = DEFAULT_QUEUE,
) -> Job:
    """Add a job in the caller's transaction. With an idempotency key already used, return that job instead."""
    values = {
        "id": uuid.uuid4(),
        "kind": kind,
        "queue": queue,
        "payload": payload or {},
        "status": JobStatus.QUEUED,
        "priority": priority,
        "idempotency_key": idempotency_key,
        "run_after": run_after or utcnow(),
        "attempts": 0,
        "max_attempts": max_attempts,
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
    if idempotency_key is None:
        job = Job(**values)
        session.add(job)
        await session.flush()
    else:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(Job).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"])
        await session.execute(statement)
        existing = await session.scalar(sa.select(Job).where(Job.idempotency_key == idempotency_key))
        assert existing is not None
        job = existing
        if job.id != values["id"]:
            return job
    # Wakes idle workers (in any replica) as soon as the enqueuing transaction commits.
    queue_after_commit(session, Event(ENQUEUED_EVENT, {"id": str(job.id), "kind": kind, "queue": queue}))
    return job


def _claimable(now: datetime, kinds: Sequence[str], queues: Sequence[str]) -> sa.ColumnElement[bool]:
    return sa.and_(
        Job.queue.in_(queues),
        Job.kind.in_(kinds),
        sa.or_(
            sa.and_(Job.status == JobStatus.QUEUED, Job.run_after <= now),
            sa.and_(Job.status == JobStatus.RUNNING, Job.lease_expires_at < now),
        ),
    )


async def claim(
    session: AsyncSession,
    worker_id: str,
    kinds: Sequence[str],
    limit: int,
    lease: timedelta,
    queues: Sequence[str] = (DEFAULT_QUEUE,),
) -> list[Job]:
    """Lease up to ``limit`` runnable jobs of the given kinds and queues to a worker; each claim is an attempt."""
    if limit <= 0 or not kinds:
        return []
    now = utcnow()
    rows = await session.scalars(
        sa.select(Job)
        .where(_claimable(now, kinds, queues))
        .order_by(Job.priority.desc(), Job.run_after)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed: list[Job] = []
    for job in rows:
        if job.status is JobStatus.RUNNING and job.attempts >= job.max_attempts:
            _mark_dead(job, now, f"lease expired on final attempt (worker {job.lease_owner})")
            continue
        if job.status is JobStatus.RUNNING:
            job.last_error = f"lease of worker {job.lease_owner} expired; reclaimed"
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.lease_owner = worker_id
        job.lease_expires_at = now + lease
        job.started_at = now
        claimed.append(job)
    await session.flush()
    return claimed


async def heartbeat(session: AsyncSession, worker_id: str, job_ids: Sequence[uuid.UUID], lease: timedelta) -> int:
    """Extend the leases a worker still holds; returns how many it still holds."""
    if not job_ids:
        return 0
    result = await session.execute(
        sa.update(Job)
        .where(Job.id.in_(job_ids), Job.lease_owner == worker_id, Job.status == JobStatus.RUNNING)
        .values(lease_expires_at=utcnow() + lease, updated_at=utcnow())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _held(session: AsyncSession, job_id: uuid.UUID, worker_id: str) -> Job | None:
    return await session.scalar(
        sa.select(Job)
        .where(Job.id == job_id, Job.lease_owner == worker_id, Job.status == JobStatus.RUNNING)
        .with_for_update()
    )


async def complete(session: AsyncSession, job_id: uuid.UUID, worker_id: str, result: dict[str, Any] | None) -> bool:
    """Mark a job done; False when the worker no longer holds it (it was reclaimed elsewhere)."""
    job = await _held(session, job_id, worker_id)
    if job is None:
        return False
    job.status = JobStatus.SUCCEEDED
    job.result = result
    job.finished_at = utcnow()
    job.lease_owner = None
    job.lease_expires_at = None
    await session.flush()
    return True


async def fail(
    session: AsyncSession,
    job_id: uuid.UUID,
    worker_id: str,
    error: str,
    retry: RetryPolicy,
    *,
    permanent: bool = False,
) -> JobStatus | None:
    """Record a failed attempt: back to the queue after a backoff, or dead after the last attempt."""
    job = await _held(session, job_id, worker_id)
    if job is None:
        return None
    now = utcnow()
    if permanent or job.attempts >= job.max_attempts:
        _mark_dead(job, now, error)
    else:
        job.status = JobStatus.QUEUED
        job.last_error = error[:MAX_ERROR_CHARS]
        job.run_after = now + retry.delay(job.attempts)
        job.lease_owner = None
        job.lease_expires_at = None
    await session.flush()
    return job.status


async def release(session: AsyncSession, worker_id: str, job_ids: Sequence[uuid.UUID]) -> None:
    """Give back unfinished jobs at shutdown without counting the interrupted attempt."""
    if not job_ids:
        return
    await session.execute(
        sa.update(Job)
        .where(Job.id.in_(job_ids), Job.lease_owner == worker_id, Job.status == JobStatus.RUNNING)
        .values(
            status=JobStatus.QUEUED,
            attempts=Job.attempts - 1,
            lease_owner=None,
            lease_expires_at=None,
            run_after=utcnow(),
            updated_at=utcnow(),
        )
    )


def _mark_dead(job: Job, now: datetime, error: str) -> None:
    job.status = JobStatus.DEAD
    job.last_error = error[:MAX_ERROR_CHARS]
    job.finished_at = now
    job.lease_owner = None
    job.lease_expires_at = None


async def purge_finished(session: AsyncSession, older_than: datetime) -> int:
    result = await session.execute(
        sa.delete(Job).where(
            Job.status.in_([JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED]),
            Job.finished_at < older_than,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
