"""Failures: retried with exponential backoff, dead after the last attempt or a permanent error."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from mcphost.db.base import utcnow
from mcphost.jobs import queue
from mcphost.jobs.registry import JobContext, PermanentJobError
from mcphost.jobs.worker import JobWorker
from mcphost.models import Job, JobStatus
from mcphost.platform import Platform
from tests.jobs.helpers import claim, enqueue, load, running_worker, wait_for_status

KIND = "test.retries"
JITTER = 0.10


def assert_backoff(job: Job, failed_between: tuple[datetime, datetime], expected_seconds: float) -> None:
    """``run_after`` is the failure time plus the expected delay, give or take the 10% jitter.

    The failure happened at some instant between ``before`` and ``after``, so the delay it chose lies between
    ``run_after - after`` and ``run_after - before``; both ends must allow a delay within the jitter bounds.
    """
    before, after = failed_between
    assert job.run_after - after <= timedelta(seconds=expected_seconds * (1 + JITTER))
    assert job.run_after - before >= timedelta(seconds=expected_seconds * (1 - JITTER))


async def test_each_failure_pushes_run_after_back_exponentially(platform: Platform) -> None:
    """base, 2*base, 4*base ... capped at the configured maximum (base 0.2s, max 10s here)."""
    retry = JobWorker(platform, platform.jobs).retry
    assert (retry.base_seconds, retry.max_seconds) == (0.2, 10.0)
    job_id = await enqueue(platform, KIND, max_attempts=10)
    previous_run_after = (await load(platform, job_id)).run_after

    for attempt, expected in [(1, 0.2), (2, 0.4), (3, 0.8)]:
        (claimed,) = await claim(platform, "worker-a", [KIND])
        assert (claimed.id, claimed.attempts) == (job_id, attempt)
        before = utcnow()
        async with platform.db.session_scope() as session:
            status = await queue.fail(session, job_id, "worker-a", f"OSError: attempt {attempt} failed", retry)
        after = utcnow()

        job = await load(platform, job_id)
        assert status is JobStatus.QUEUED and job.status is JobStatus.QUEUED
        assert job.last_error == f"OSError: attempt {attempt} failed"
        assert job.lease_owner is None and job.finished_at is None
        assert job.run_after > previous_run_after
        assert_backoff(job, (before, after), expected)
        assert await claim(platform, "worker-b", [KIND]) == []  # not before its run_after
        await asyncio.sleep((job.run_after - utcnow()).total_seconds() + 0.02)
        previous_run_after = job.run_after

    capped = queue.RetryPolicy(base_seconds=0.2, max_seconds=1.0)
    assert all(0.9 <= capped.delay(attempt).total_seconds() <= 1.1 for attempt in (4, 10, 60))


@dataclass
class Attempt:
    number: int
    started: datetime
    run_after: datetime
    last_error: str | None


async def test_worker_retries_a_failing_handler_until_it_succeeds(platform: Platform) -> None:
    job_id = await enqueue(platform, KIND, {"target": "db"}, max_attempts=5)
    attempts: list[Attempt] = []
    raised_at: list[datetime] = []

    async def flaky(context: JobContext) -> dict[str, int]:
        job = await load(platform, context.job_id)
        attempts.append(Attempt(context.attempt, utcnow(), job.run_after, job.last_error))
        if context.attempt < 3:
            raised_at.append(utcnow())
            raise ConnectionError(f"{context.payload['target']} unreachable (try {context.attempt})")
        return {"succeeded_on": context.attempt}

    async with running_worker(platform, {KIND: flaky}):
        job = await wait_for_status(platform, job_id, JobStatus.SUCCEEDED)

    assert [attempt.number for attempt in attempts] == [1, 2, 3]
    assert [attempt.last_error for attempt in attempts] == [
        None,
        "ConnectionError: db unreachable (try 1)",
        "ConnectionError: db unreachable (try 2)",
    ]
    for retry, failed_at, expected in zip(attempts[1:], raised_at, [0.2, 0.4], strict=True):
        assert retry.started >= retry.run_after  # never run before its backoff elapsed
        # The failure was recorded after the handler raised, so run_after - raise >= the (jittered) delay.
        assert retry.run_after - failed_at >= timedelta(seconds=expected * (1 - JITTER))
    assert (job.attempts, job.result, job.finished_at is not None) == (3, {"succeeded_on": 3}, True)
    assert job.last_error == "ConnectionError: db unreachable (try 2)"


async def test_job_is_dead_after_its_last_attempt_fails(platform: Platform) -> None:
    job_id = await enqueue(platform, KIND, max_attempts=2)
    calls: list[int] = []

    async def always_fails(context: JobContext) -> None:
        calls.append(context.attempt)
        raise ValueError(f"bad input on attempt {context.attempt}")

    async with running_worker(platform, {KIND: always_fails}) as worker:
        job = await wait_for_status(platform, job_id, JobStatus.DEAD)
        await asyncio.sleep(0.3)  # time for (wrong) further attempts, had the job not been final
        worker_iterations = worker.iterations

    assert worker_iterations > 2
    assert calls == [1, 2]
    assert job.attempts == 2 and job.finished_at is not None
    assert job.last_error == "ValueError: bad input on attempt 2"
    assert job.lease_owner is None and job.lease_expires_at is None
    assert (await load(platform, job_id)).status is JobStatus.DEAD


async def test_permanent_error_makes_the_job_dead_at_once(platform: Platform) -> None:
    job_id = await enqueue(platform, KIND, max_attempts=5)
    calls: list[int] = []

    async def refuses(context: JobContext) -> None:
        calls.append(context.attempt)
        raise PermanentJobError("image registry.example/app:1 does not exist")

    async with running_worker(platform, {KIND: refuses}):
        job = await wait_for_status(platform, job_id, JobStatus.DEAD)
        await asyncio.sleep(0.3)

    assert calls == [1]
    assert (job.attempts, job.max_attempts) == (1, 5)
    assert job.finished_at is not None
    assert job.last_error == "image registry.example/app:1 does not exist"


async def test_handler_result_that_cannot_be_stored_fails_the_job_with_the_reason(platform: Platform) -> None:
    """A result must be a JSON object: anything else is a bug in the handler, reported, not left running."""
    not_json = await enqueue(platform, KIND, {"returns": "datetime"}, max_attempts=3)
    not_object = await enqueue(platform, KIND, {"returns": "list"}, max_attempts=3)
    calls: list[str] = []

    async def bad_result(context: JobContext) -> object:
        calls.append(str(context.payload["returns"]))
        return {"at": utcnow()} if context.payload["returns"] == "datetime" else ["a", "b"]

    async with running_worker(platform, {KIND: bad_result}):  # type: ignore[dict-item]
        first = await wait_for_status(platform, not_json, JobStatus.DEAD, within=5)
        second = await wait_for_status(platform, not_object, JobStatus.DEAD, within=5)

    assert sorted(calls) == ["datetime", "list"]
    assert "JSON" in (first.last_error or "") and first.result is None
    assert "list" in (second.last_error or "") and second.result is None
