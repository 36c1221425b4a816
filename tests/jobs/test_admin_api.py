"""Administrators' job API: list (paged, filtered), inspect, retry dead jobs, cancel queued ones."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from mcphost.jobs import queue
from mcphost.jobs.registry import JobContext
from mcphost.models import JobStatus
from mcphost.platform import Platform
from mcphost.settings import Settings
from tests.jobs.helpers import claim, enqueue, load, running_worker, wait_for_status
from tests.support.accounts import Account, assert_error, sign_up
from tests.support.apps import adjusted, app_client

KIND = "test.admin"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a worker poll interval of a minute: a job that runs at all within a test was woken up."""
    async with app_client(adjusted(settings, jobs={"poll_interval": 60, "backoff_base_seconds": 0.1})) as http:
        yield http


@pytest.fixture
def platform(client: httpx.AsyncClient) -> Platform:
    instance: Platform = client.app.state.platform  # type: ignore[attr-defined]
    return instance


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "ada@example.com")  # the first user is an administrator


async def dead_job(platform: Platform, kind: str = KIND) -> uuid.UUID:
    """A job that failed permanently on its first attempt (top priority, so this claim takes it)."""
    job_id = await enqueue(platform, kind, {"dead": True}, max_attempts=3, priority=1000)
    (job,) = await claim(platform, "worker-a", [kind])
    assert job.id == job_id
    async with platform.db.session_scope() as session:
        retry = queue.RetryPolicy()
        await queue.fail(session, job.id, "worker-a", "image not found", retry, permanent=True)
    return job_id


async def test_admin_lists_jobs_newest_first_page_by_page(
    client: httpx.AsyncClient, platform: Platform, admin: Account
) -> None:
    created = [await enqueue(platform, KIND, {"n": n}) for n in range(5)]

    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/api/jobs", params=query, headers=admin.headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            break

    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    listed = [item["id"] for page in pages for item in page["items"]]
    assert listed == [str(job_id) for job_id in reversed(created)]
    first = pages[0]["items"][0]
    assert (first["kind"], first["status"], first["payload"], first["attempts"]) == (KIND, "queued", {"n": 4}, 0)


async def test_admin_filters_jobs_by_status_and_kind(
    client: httpx.AsyncClient, platform: Platform, admin: Account
) -> None:
    queued = await enqueue(platform, KIND)
    dead = await dead_job(platform)
    other_kind = await enqueue(platform, "test.other")

    async def ids(**params: str) -> list[str]:
        response = await client.get("/api/jobs", params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(status="dead") == [str(dead)]
    assert await ids(kind="test.other") == [str(other_kind)]
    assert await ids(kind=KIND) == [str(dead), str(queued)]
    assert await ids(kind=KIND, status="queued") == [str(queued)]
    assert await ids(status="succeeded") == []
    assert_error(await client.get("/api/jobs?status=exploded", headers=admin.headers), 422, "validation_error")


async def test_admin_inspects_one_job_and_unknown_ids_are_not_found(
    client: httpx.AsyncClient, platform: Platform, admin: Account
) -> None:
    job_id = await dead_job(platform)

    response = await client.get(f"/api/jobs/{job_id}", headers=admin.headers)
    missing = await client.get(f"/api/jobs/{uuid.uuid4()}", headers=admin.headers)

    assert response.status_code == 200, response.text
    job = response.json()
    assert (job["id"], job["status"], job["last_error"], job["attempts"]) == (str(job_id), "dead", "image not found", 1)
    assert job["finished_at"] is not None and job["lease_owner"] is None
    assert_error(missing, 404, "not_found")
    for action in ("retry", "cancel"):
        assert_error(await client.post(f"/api/jobs/{uuid.uuid4()}/{action}", headers=admin.headers), 404, "not_found")


async def test_retrying_a_dead_job_queues_it_and_a_worker_runs_it(
    client: httpx.AsyncClient, platform: Platform, admin: Account
) -> None:
    job_id = await dead_job(platform)
    ran = asyncio.Event()

    async def handler(context: JobContext) -> dict[str, int]:
        ran.set()
        return {"attempt": context.attempt}

    # The worker's first poll finds only the dead job; its next poll is a minute away.
    async with running_worker(platform, {KIND: handler}):
        await asyncio.sleep(0.1)
        assert not ran.is_set()
        retried = await client.post(f"/api/jobs/{job_id}/retry", headers=admin.headers)
        assert retried.status_code == 200, retried.text
        body = retried.json()
        assert (body["status"], body["attempts"], body["finished_at"]) == ("queued", 0, None)
        assert body["last_error"] == "image not found"  # history stays visible until the job runs again
        await asyncio.wait_for(ran.wait(), timeout=15)
        job = await wait_for_status(platform, job_id, JobStatus.SUCCEEDED)

    assert (job.attempts, job.result) == (1, {"attempt": 1})


async def test_only_dead_or_cancelled_jobs_can_be_retried(
    client: httpx.AsyncClient, platform: Platform, admin: Account
) -> None:
    queued = await enqueue(platform, KIND)
    running = await enqueue(platform, "test.running")
    await claim(platform, "worker-a", ["test.running"])
    cancelled = await enqueue(platform, KIND)
    assert (await client.post(f"/api/jobs/{cancelled}/cancel", headers=admin.headers)).status_code == 200

    for job_id in (queued, running):
        before = await load(platform, job_id)
        assert_error(await client.post(f"/api/jobs/{job_id}/retry", headers=admin.headers), 409, "invalid_transition")
        after = await load(platform, job_id)
        assert (after.status, after.attempts, after.lease_owner) == (before.status, before.attempts, before.lease_owner)
    again = await client.post(f"/api/jobs/{cancelled}/retry", headers=admin.headers)
    assert again.status_code == 200 and again.json()["status"] == "queued"


async def test_cancelling_a_queued_job_keeps_workers_off_it(
    client: httpx.AsyncClient, platform: Platform, admin: Account
) -> None:
    job_id = await enqueue(platform, KIND)

    cancelled = await client.post(f"/api/jobs/{job_id}/cancel", headers=admin.headers)
    twice = await client.post(f"/api/jobs/{job_id}/cancel", headers=admin.headers)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["finished_at"] is not None
    assert_error(twice, 409, "invalid_transition")
    assert await claim(platform, "worker-a", [KIND]) == []
    assert (await load(platform, job_id)).status is JobStatus.CANCELLED


async def test_running_finished_and_dead_jobs_cannot_be_cancelled(
    client: httpx.AsyncClient, platform: Platform, admin: Account
) -> None:
    running = await enqueue(platform, KIND, run_after=None)
    (claimed,) = await claim(platform, "worker-a", [KIND], lease=timedelta(minutes=5).total_seconds())
    async with platform.db.session_scope() as session:
        succeeded = await queue.enqueue(session, "test.done")
    await claim(platform, "worker-b", ["test.done"])
    async with platform.db.session_scope() as session:
        assert await queue.complete(session, succeeded.id, "worker-b", {"ok": True})
    dead = await dead_job(platform, "test.dead")

    for job_id in (running, succeeded.id, dead):
        assert_error(await client.post(f"/api/jobs/{job_id}/cancel", headers=admin.headers), 409, "invalid_transition")
    assert claimed.id == running
    assert (await load(platform, running)).status is JobStatus.RUNNING


async def test_job_endpoints_are_for_administrators_only(
    client: httpx.AsyncClient, platform: Platform, admin: Account
) -> None:
    user = await sign_up(client, "bob@example.com")
    job_id = await enqueue(platform, KIND)

    for method, path in (
        ("GET", "/api/jobs"),
        ("GET", f"/api/jobs/{job_id}"),
        ("POST", f"/api/jobs/{job_id}/retry"),
        ("POST", f"/api/jobs/{job_id}/cancel"),
    ):
        assert_error(await client.request(method, path, headers=user.headers), 403, "admin_required")
    client.cookies.clear()  # signing in left a session cookie
    for method, path in (("GET", "/api/jobs"), ("POST", f"/api/jobs/{job_id}/cancel")):
        assert_error(await client.request(method, path), 401)
    assert (await load(platform, job_id)).status is JobStatus.QUEUED
