"""Stopping a worker: running jobs get a grace period; unfinished ones go back to the queue uncounted."""

from __future__ import annotations

import asyncio
import uuid

from mcphost.jobs.registry import JobContext
from mcphost.models import Job, JobStatus
from mcphost.platform import Platform
from tests.jobs.helpers import claim, enqueue, eventually, load, running_worker, wait_for_status

KIND = "test.shutdown"


async def wait_until_running(platform: Platform, job_id: uuid.UUID, worker_id: str) -> Job:
    async def running() -> Job | None:
        job = await load(platform, job_id)
        return job if job.status is JobStatus.RUNNING and job.lease_owner == worker_id else None

    job: Job = await eventually(running, f"job {job_id} to run on {worker_id}")
    return job


async def test_stopping_a_worker_releases_its_unfinished_jobs_without_counting_the_attempt(
    platform: Platform,
) -> None:
    job_id = await enqueue(platform, KIND, {"n": 1}, max_attempts=1)
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def never_finishes(_context: JobContext) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async with running_worker(platform, {KIND: never_finishes}, worker_id="stopping", stop_grace=0.2):
        await asyncio.wait_for(started.wait(), timeout=15)
        assert (await wait_until_running(platform, job_id, "stopping")).attempts == 1

    released = await load(platform, job_id)
    assert cancelled == [True]
    assert released.status is JobStatus.QUEUED
    assert (released.attempts, released.lease_owner, released.lease_expires_at) == (0, None, None)
    assert released.finished_at is None and released.last_error is None

    attempts: list[int] = []

    async def finishes(context: JobContext) -> dict[str, int]:
        attempts.append(context.attempt)
        return {"n": int(context.payload["n"])}

    # With one attempt allowed, the job can only succeed now because the interrupted one was not counted.
    async with running_worker(platform, {KIND: finishes}, worker_id="next"):
        job = await wait_for_status(platform, job_id, JobStatus.SUCCEEDED)
    assert attempts == [1]
    assert (job.attempts, job.result) == (1, {"n": 1})


async def test_stopping_a_worker_lets_a_job_finish_within_the_grace_period(platform: Platform) -> None:
    job_id = await enqueue(platform, KIND)
    release = asyncio.Event()

    async def slow(_context: JobContext) -> dict[str, bool]:
        await release.wait()
        return {"finished": True}

    async with running_worker(platform, {KIND: slow}, worker_id="stopping", stop_grace=15) as worker:
        await wait_until_running(platform, job_id, "stopping")
        stopping = asyncio.create_task(worker.stop(15))
        await asyncio.sleep(0.1)
        assert not stopping.done()  # waits for the running job
        release.set()
        await asyncio.wait_for(stopping, timeout=15)

    job = await load(platform, job_id)
    assert (job.status, job.result, job.attempts) == (JobStatus.SUCCEEDED, {"finished": True}, 1)


async def test_job_finishing_during_the_stop_grace_keeps_its_lease(platform: Platform) -> None:
    """The heartbeat goes on while a stopping worker waits for its jobs, so nobody else takes them meanwhile."""
    short_lease = platform.settings.model_copy(
        update={"jobs": platform.settings.jobs.model_copy(update={"lease_seconds": 0.6})}
    )
    platform.settings = short_lease
    job_id = await enqueue(platform, KIND)
    release = asyncio.Event()
    runs: list[int] = []

    async def slow(context: JobContext) -> None:
        runs.append(context.attempt)
        await release.wait()

    async with running_worker(platform, {KIND: slow}, worker_id="stopping", stop_grace=15) as worker:
        await wait_until_running(platform, job_id, "stopping")
        stopping = asyncio.create_task(worker.stop(15))
        stolen: list[Job] = []
        for _ in range(15):  # 1.5 s: more than two leases' worth of trying to take the job over
            stolen += await claim(platform, "other-worker", [KIND])
            await asyncio.sleep(0.1)
        release.set()
        await asyncio.wait_for(stopping, timeout=15)

    assert stolen == []
    assert runs == [1]
    job = await load(platform, job_id)
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
