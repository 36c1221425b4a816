"""Administrators' view of the queue: list and inspect jobs, retry dead ones, cancel queued ones."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.base import utcnow
from mcphost.db.pagination import paginate
from mcphost.db.session import queue_after_commit
from mcphost.errors import InvalidTransition, NotFound
from mcphost.events.base import Event
from mcphost.jobs.queue import ENQUEUED_EVENT
from mcphost.models import Job, JobStatus


async def list_jobs(
    session: AsyncSession, *, status: JobStatus | None, kind: str | None, limit: int, cursor: str | None
) -> tuple[list[Job], str | None]:
    statement = sa.select(Job)
    if status is not None:
        statement = statement.where(Job.status == status)
    if kind:
        statement = statement.where(Job.kind == kind)
    return await paginate(session, statement, created_at=Job.created_at, row_id=Job.id, limit=limit, cursor=cursor)


async def get_job(session: AsyncSession, job_id: uuid.UUID, *, for_update: bool = False) -> Job:
    statement = sa.select(Job).where(Job.id == job_id)
    job = await session.scalar(statement.with_for_update() if for_update else statement)
    if job is None:
        raise NotFound("No job with this id.")
    return job


async def retry_job(session: AsyncSession, job_id: uuid.UUID) -> Job:
    job = await get_job(session, job_id, for_update=True)
    if job.status not in (JobStatus.DEAD, JobStatus.CANCELLED):
        raise InvalidTransition(f"Only dead or cancelled jobs can be retried; this one is {job.status.value}.")
    job.status, job.attempts, job.run_after, job.finished_at = JobStatus.QUEUED, 0, utcnow(), None
    await session.flush()
    # Like a new job, wake idle workers once the retry commits instead of leaving it to their next poll.
    queue_after_commit(session, Event(ENQUEUED_EVENT, {"id": str(job.id), "kind": job.kind, "queue": job.queue}))
    return job


async def cancel_job(session: AsyncSession, job_id: uuid.UUID) -> Job:
    job = await get_job(session, job_id, for_update=True)
    if job.status is not JobStatus.QUEUED:
        raise InvalidTransition(f"Only queued jobs can be cancelled; this one is {job.status.value}.")
    job.status, job.finished_at = JobStatus.CANCELLED, utcnow()
    await session.flush()
    return job
