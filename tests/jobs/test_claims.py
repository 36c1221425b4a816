"""Claiming: concurrent workers never share a job, and higher priority runs first."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

from mcphost.db.base import utcnow
from mcphost.jobs import queue
from mcphost.jobs.registry import JobContext
from mcphost.models import JobStatus
from mcphost.platform import Platform
from tests.jobs.helpers import all_jobs, claim, enqueue, eventually, load, running_worker

KIND = "test.claims"


async def test_concurrent_claims_from_two_sessions_never_take_the_same_job(platform: Platform) -> None:
    job_ids = {await enqueue(platform, KIND, {"n": n}) for n in range(12)}

    async def claim_batch(worker_id: str) -> list[uuid.UUID]:
        async with platform.db.session_scope() as session:
            jobs = await queue.claim(session, worker_id, [KIND], 2, timedelta(seconds=30))
            await asyncio.sleep(0.02)  # hold the claiming transaction open while the other worker claims
            return [job.id for job in jobs]

    claimed: dict[str, list[uuid.UUID]] = {"worker-a": [], "worker-b": []}
    for _ in range(10):
        a, b = await asyncio.gather(claim_batch("worker-a"), claim_batch("worker-b"))
        claimed["worker-a"] += a
        claimed["worker-b"] += b
        if not a and not b:
            break

    everything = claimed["worker-a"] + claimed["worker-b"]
    assert sorted(everything) == sorted(job_ids)  # each job claimed exactly once
    for job in await all_jobs(platform):
        assert job.status is JobStatus.RUNNING and job.attempts == 1
        assert job.id in claimed[job.lease_owner or ""]


async def test_two_workers_sharing_a_queue_run_every_job_exactly_once(platform: Platform) -> None:
    job_ids = [await enqueue(platform, KIND, {"n": n}) for n in range(16)]
    runs: list[tuple[str, uuid.UUID]] = []

    def handler_of(worker_id: str):  # type: ignore[no-untyped-def]
        async def handler(context: JobContext) -> dict[str, str]:
            runs.append((worker_id, context.job_id))
            await asyncio.sleep(0.01)
            return {"by": worker_id}

        return handler

    async def all_succeeded() -> bool:
        return all(job.status is JobStatus.SUCCEEDED for job in await all_jobs(platform))

    async with (
        running_worker(platform, {KIND: handler_of("worker-a")}, worker_id="worker-a"),
        running_worker(platform, {KIND: handler_of("worker-b")}, worker_id="worker-b"),
    ):
        await eventually(all_succeeded, "every job to succeed")

    assert Counter(job_id for _worker, job_id in runs) == Counter(job_ids)
    for worker_id, job_id in runs:
        job = await load(platform, job_id)
        assert job.attempts == 1 and job.result == {"by": worker_id}


async def test_claims_take_higher_priority_first_then_the_longest_waiting(platform: Platform) -> None:
    now = utcnow()
    low = await enqueue(platform, KIND, priority=0, run_after=now - timedelta(seconds=30))
    high_newer = await enqueue(platform, KIND, priority=10, run_after=now - timedelta(seconds=1))
    high_older = await enqueue(platform, KIND, priority=10, run_after=now - timedelta(seconds=20))
    middle = await enqueue(platform, KIND, priority=5)

    order = [job.id for _ in range(4) for job in await claim(platform, "worker-a", [KIND], limit=1)]

    assert order == [high_older, high_newer, middle, low]


async def test_worker_claims_only_the_kinds_it_has_handlers_for(platform: Platform) -> None:
    mine = await enqueue(platform, KIND)
    foreign = await enqueue(platform, "test.someone-else")

    claimed = await claim(platform, "worker-a", [KIND], limit=10)

    assert [job.id for job in claimed] == [mine]
    assert (await load(platform, foreign)).status is JobStatus.QUEUED
