"""Enqueueing: in the caller's transaction, idempotent by key, and not runnable before ``run_after``."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import APIRouter

from mcphost.api import create_app
from mcphost.api.deps import SessionDep
from mcphost.db.base import utcnow
from mcphost.errors import Conflict
from mcphost.jobs import queue
from mcphost.jobs.registry import JobContext
from mcphost.models import JobStatus
from mcphost.platform import Platform
from mcphost.settings import Settings
from tests.jobs.helpers import all_jobs, claim, enqueue, load, running_worker, wait_for_status
from tests.support.accounts import assert_error

KIND = "test.enqueue"


class Interrupted(Exception):
    """What goes wrong later in the caller's unit of work."""


async def enqueue_then_fail(platform: Platform, payload: dict[str, object], **options: object) -> None:
    """A unit of work that enqueues a job, then fails before it ends."""
    async with platform.db.session_scope() as session:
        await queue.enqueue(session, KIND, payload, **options)  # type: ignore[arg-type]
        raise Interrupted


async def test_job_enqueued_in_a_unit_of_work_that_fails_never_exists(platform: Platform) -> None:
    with pytest.raises(Interrupted):
        await enqueue_then_fail(platform, {"step": "never"})

    assert await all_jobs(platform) == []
    assert await claim(platform, "worker-a", [KIND]) == []


async def test_job_enqueued_in_a_unit_of_work_that_commits_is_queued(platform: Platform) -> None:
    async with platform.db.session_scope() as session:
        job = await queue.enqueue(session, KIND, {"server": "github"}, priority=3, max_attempts=7)

    stored = await load(platform, job.id)
    assert stored.status is JobStatus.QUEUED
    assert (stored.kind, stored.payload, stored.priority) == (KIND, {"server": "github"}, 3)
    assert (stored.attempts, stored.max_attempts) == (0, 7)
    assert stored.lease_owner is None and stored.finished_at is None


async def test_same_idempotency_key_in_separate_transactions_yields_one_job_run_once(platform: Platform) -> None:
    first = await enqueue(platform, KIND, {"n": 1}, idempotency_key="deploy:42")
    second = await enqueue(platform, KIND, {"n": 2}, idempotency_key="deploy:42")
    other = await enqueue(platform, KIND, {"n": 3}, idempotency_key="deploy:43")
    runs: list[dict[str, object]] = []

    async def handler(context: JobContext) -> None:
        runs.append(context.payload)

    async with running_worker(platform, {KIND: handler}):
        await wait_for_status(platform, first, JobStatus.SUCCEEDED)
        await wait_for_status(platform, other, JobStatus.SUCCEEDED)

    assert second == first != other
    assert sorted(job.idempotency_key or "" for job in await all_jobs(platform)) == ["deploy:42", "deploy:43"]
    assert sorted(runs, key=str) == [{"n": 1}, {"n": 3}]


async def test_same_idempotency_key_twice_in_one_transaction_yields_one_job(platform: Platform) -> None:
    async with platform.db.session_scope() as session:
        first = await queue.enqueue(session, KIND, {"n": 1}, idempotency_key="sync:7")
        second = await queue.enqueue(session, KIND, {"n": 2}, idempotency_key="sync:7")
        first_id, second_id = first.id, second.id
    runs: list[int] = []

    async def handler(context: JobContext) -> None:
        runs.append(int(context.payload["n"]))

    async with running_worker(platform, {KIND: handler}):
        await wait_for_status(platform, first_id, JobStatus.SUCCEEDED)

    assert first_id == second_id
    assert len(await all_jobs(platform)) == 1
    assert runs == [1]


async def test_concurrent_enqueues_with_the_same_key_yield_one_job(platform: Platform) -> None:
    async def enqueue_slowly(n: int) -> object:
        async with platform.db.session_scope() as session:
            job = await queue.enqueue(session, KIND, {"n": n}, idempotency_key="race:1")
            await asyncio.sleep(0.05)  # keep the transaction open while the other one enqueues
            return job.id

    first, second = await asyncio.gather(enqueue_slowly(1), enqueue_slowly(2))

    assert first == second
    assert [job.id for job in await all_jobs(platform)] == [first]


async def test_idempotency_key_of_a_rolled_back_enqueue_can_be_used_again(platform: Platform) -> None:
    with pytest.raises(Interrupted):
        await enqueue_then_fail(platform, {"n": 1}, idempotency_key="build:1")

    job_id = await enqueue(platform, KIND, {"n": 2}, idempotency_key="build:1")

    assert (await load(platform, job_id)).payload == {"n": 2}


async def test_job_is_not_claimed_before_its_run_after(platform: Platform) -> None:
    later = await enqueue(platform, KIND, {"when": "later"}, run_after=utcnow() + timedelta(seconds=0.6))
    now = await enqueue(platform, KIND, {"when": "now"})

    early = await claim(platform, "worker-a", [KIND], limit=10)
    assert [job.id for job in early] == [now]
    assert (await load(platform, later)).status is JobStatus.QUEUED

    await asyncio.sleep(0.7)
    on_time = await claim(platform, "worker-a", [KIND], limit=10)
    assert [job.id for job in on_time] == [later]
    assert (await load(platform, later)).status is JobStatus.RUNNING


async def test_idle_worker_wakes_up_for_a_newly_enqueued_job(job_settings: Settings) -> None:
    """Enqueueing notifies idle workers (after commit), so a long poll interval does not delay new work."""
    settings = job_settings.model_copy(update={"jobs": job_settings.jobs.model_copy(update={"poll_interval": 60})})
    platform = Platform.create(settings)
    await platform.start(services=False)
    done = asyncio.Event()

    async def handler(_context: JobContext) -> None:
        done.set()

    try:
        async with running_worker(platform, {KIND: handler}):
            await asyncio.sleep(0.2)  # the worker's first poll found nothing; its next is a minute away
            job_id = await enqueue(platform, KIND)
            await asyncio.wait_for(done.wait(), timeout=15)
        assert (await wait_for_status(platform, job_id, JobStatus.SUCCEEDED)).attempts == 1
    finally:
        await platform.stop()


def _app_with_enqueueing_routes(settings: Settings) -> object:
    app = create_app(settings)
    router = APIRouter()

    @router.post("/test/enqueue")
    async def enqueue_and_succeed(session: SessionDep) -> dict[str, str]:
        job = await queue.enqueue(session, KIND, {"request": "ok"})
        return {"id": str(job.id)}

    @router.post("/test/enqueue-then-refuse")
    async def enqueue_then_refuse(session: SessionDep) -> None:
        await queue.enqueue(session, KIND, {"request": "refused"})
        raise Conflict("Something later in the request was refused.")

    @router.post("/test/enqueue-then-crash")
    async def enqueue_then_crash(session: SessionDep) -> None:
        await queue.enqueue(session, KIND, {"request": "crashed"})
        raise RuntimeError("bug later in the request")

    app.include_router(router)
    return app


async def test_job_enqueued_during_a_request_that_fails_does_not_exist(settings: Settings) -> None:
    app = _app_with_enqueueing_routes(settings)
    async with app.router.lifespan_context(app):  # type: ignore[attr-defined]
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            refused = await client.post("/test/enqueue-then-refuse")
            crashed = await client.post("/test/enqueue-then-crash")
            accepted = await client.post("/test/enqueue")
        jobs = await all_jobs(app.state.platform)  # type: ignore[attr-defined]

    assert_error(refused, 409, "conflict")
    assert crashed.status_code == 500
    assert accepted.status_code == 200, accepted.text
    assert [(str(job.id), job.payload, job.status) for job in jobs] == [
        (accepted.json()["id"], {"request": "ok"}, JobStatus.QUEUED)
    ]
