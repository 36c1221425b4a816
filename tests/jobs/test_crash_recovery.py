"""A worker process killed with SIGKILL while it holds a job: the job is reclaimed once the lease expires."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from mcphost.jobs.registry import JobContext
from mcphost.models import Job, JobStatus
from mcphost.platform import Platform
from mcphost.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.jobs.helpers import enqueue, eventually, load, running_worker, wait_for_status

KIND = "test.crash"
LEASE_SECONDS = 1.0
DOOMED_WORKER = Path(__file__).with_name("doomed_worker.py")


@asynccontextmanager
async def doomed_worker(settings: Settings, worker_id: str, logs: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """A separate worker process on the same database; always gone when the block ends."""
    env = {
        **os.environ,
        "MCPHOST_HOME": str(settings.home),
        "MCPHOST_DATABASE_URL": settings.effective_database_url,
        "MCPHOST_SECRET_KEY": TEST_SECRET_KEY,
        "MCPHOST_DATABASE__MIGRATE_ON_START": "false",
        "MCPHOST_SERVICES__ENABLED": "false",
        "MCPHOST_JOBS__LEASE_SECONDS": str(LEASE_SECONDS),
        "MCPHOST_JOBS__POLL_INTERVAL": "0.05",
    }
    with logs.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(DOOMED_WORKER), worker_id, KIND, env=env, stdout=log_file, stderr=log_file
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()


async def kill_while_holding(platform: Platform, job_id: uuid.UUID, tmp_path: Path) -> tuple[str, Job]:
    """Let a worker process claim the job, then SIGKILL it mid-handler; returns its id and the job it left."""
    worker_id = f"doomed-{uuid.uuid4().hex[:8]}"
    logs = tmp_path / "doomed-worker.log"
    async with doomed_worker(platform.settings, worker_id, logs) as process:

        async def held_by_the_process() -> Job | None:
            if process.returncode is not None:
                raise AssertionError(f"the worker process exited early:\n{logs.read_text()}")
            job = await load(platform, job_id)
            return job if job.status is JobStatus.RUNNING and job.lease_owner == worker_id else None

        async def handler_started() -> bool:
            return f"claimed {job_id}" in logs.read_text()

        await eventually(held_by_the_process, "the worker process to claim the job", within=30)
        await eventually(handler_started, "its handler to start", within=10)
        os.kill(process.pid, signal.SIGKILL)
        assert await process.wait() == -signal.SIGKILL
    return worker_id, await load(platform, job_id)


async def test_job_of_a_killed_worker_completes_after_its_lease_expires(platform: Platform, tmp_path: Path) -> None:
    job_id = await enqueue(platform, KIND, {"deploy": "github"}, max_attempts=3)

    dead_worker, left = await kill_while_holding(platform, job_id, tmp_path)

    assert (left.status, left.lease_owner, left.attempts) == (JobStatus.RUNNING, dead_worker, 1)
    attempts: list[int] = []

    async def succeeds(context: JobContext) -> dict[str, str]:
        attempts.append(context.attempt)
        return {"deployed": str(context.payload["deploy"])}

    async with running_worker(platform, {KIND: succeeds}, worker_id="survivor"):
        job = await wait_for_status(platform, job_id, JobStatus.SUCCEEDED)

    assert attempts == [2]
    assert (job.attempts, job.result) == (2, {"deployed": "github"})
    assert job.lease_owner is None and job.finished_at is not None
    assert job.last_error is not None
    assert "expired" in job.last_error and dead_worker in job.last_error
    assert left.lease_expires_at is not None and job.started_at is not None
    assert job.started_at > left.lease_expires_at  # taken over only once the dead worker's lease had lapsed


async def test_job_of_a_killed_worker_on_its_last_attempt_becomes_dead(platform: Platform, tmp_path: Path) -> None:
    job_id = await enqueue(platform, KIND, {"deploy": "github"}, max_attempts=1)

    dead_worker, left = await kill_while_holding(platform, job_id, tmp_path)
    assert (left.status, left.attempts) == (JobStatus.RUNNING, 1)
    runs: list[int] = []

    async def must_not_run(context: JobContext) -> None:
        runs.append(context.attempt)

    async with running_worker(platform, {KIND: must_not_run}, worker_id="survivor"):
        job = await wait_for_status(platform, job_id, JobStatus.DEAD)

    assert runs == []
    assert job.attempts == 1 and job.finished_at is not None
    assert job.lease_owner is None
    assert job.last_error is not None
    assert "lease expired" in job.last_error and dead_worker in job.last_error
