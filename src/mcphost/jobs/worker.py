"""The job worker: claims runnable jobs, runs their handlers concurrently, keeps their leases alive, and
records the outcome. Several workers (in several processes) can share one database."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from mcphost.jobs import queue
from mcphost.jobs.registry import JobContext, JobRegistry, PermanentJobError
from mcphost.models import Job, JobStatus
from mcphost.services.loop import ServiceLoop

if TYPE_CHECKING:
    from mcphost.platform import Platform

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class JobWorker(ServiceLoop):
    name = "job-worker"

    def __init__(self, platform: Platform, registry: JobRegistry, worker_id: str | None = None) -> None:
        settings = platform.settings.jobs
        super().__init__(settings.poll_interval)
        self.platform = platform
        self.registry = registry
        self.worker_id = worker_id or new_worker_id()
        self.concurrency = settings.concurrency
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.retry = queue.RetryPolicy(settings.backoff_base_seconds, settings.backoff_max_seconds)
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._side_tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await super().start()
        self._side_tasks = [
            asyncio.create_task(self._heartbeat_forever(), name="job-worker:heartbeat"),
            asyncio.create_task(self._wake_on_enqueue(), name="job-worker:wake"),
        ]

    async def run_once(self) -> None:
        free = self.concurrency - len(self._running)
        if free <= 0 or self.stopping:
            return
        async with self.platform.db.session_scope() as session:
            jobs = await queue.claim(session, self.worker_id, self.registry.kinds, free, self.lease)
        for job in jobs:
            self._running[job.id] = asyncio.create_task(self._execute(job), name=f"job:{job.kind}:{job.id}")

    async def _execute(self, job: Job) -> None:
        handler = self.registry.get(job.kind)
        assert handler is not None
        context = JobContext(job.id, job.kind, dict(job.payload), job.attempts, job.max_attempts, self.platform)
        log.info("job %s (%s) attempt %d/%d started", job.id, job.kind, job.attempts, job.max_attempts)
        try:
            result = await handler(context)
        except asyncio.CancelledError:
            raise
        except PermanentJobError as exc:
            await self._record_failure(job, f"{exc}", permanent=True)
        except Exception as exc:
            await self._record_failure(job, f"{type(exc).__name__}: {exc}", permanent=False)
        else:
            async with self.platform.db.session_scope() as session:
                held = await queue.complete(session, job.id, self.worker_id, result)
            self.platform.metrics.jobs_finished.labels(job.kind, "succeeded").inc()
            if not held:
                log.warning("job %s finished after its lease was taken over; result discarded", job.id)
        finally:
            self._running.pop(job.id, None)
            self.wake()

    async def _record_failure(self, job: Job, error: str, *, permanent: bool) -> None:
        async with self.platform.db.session_scope() as session:
            status = await queue.fail(session, job.id, self.worker_id, error, self.retry, permanent=permanent)
        outcome = "dead" if status is JobStatus.DEAD else "retry"
        self.platform.metrics.jobs_finished.labels(job.kind, outcome).inc()
        log.warning("job %s (%s) attempt %d failed (%s): %s", job.id, job.kind, job.attempts, outcome, error)

    async def _heartbeat_forever(self) -> None:
        interval = self.lease.total_seconds() / 3
        while not self.stopping:
            await asyncio.sleep(interval)
            if not self._running:
                continue
            try:
                async with self.platform.db.session_scope() as session:
                    await queue.heartbeat(session, self.worker_id, list(self._running), self.lease)
            except Exception:
                log.exception("job lease heartbeat failed")

    async def _wake_on_enqueue(self) -> None:
        async with self.platform.bus.subscribe() as subscription:
            async for event in subscription:
                if event.kind == queue.ENQUEUED_EVENT and event.data.get("kind") in self.registry.kinds:
                    self.wake()

    async def on_stop(self) -> None:
        for task in self._side_tasks:
            task.cancel()
        await asyncio.gather(*self._side_tasks, return_exceptions=True)
        if self._running:
            _done, pending = await asyncio.wait(self._running.values(), timeout=STOP_GRACE_SECONDS)
            unfinished = [job_id for job_id, task in self._running.items() if task in pending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            async with self.platform.db.session_scope() as session:
                await queue.release(session, self.worker_id, unfinished)
            self._running.clear()
