"""The job worker: claims runnable jobs, runs their handlers concurrently, keeps their leases alive, and
records the outcome. Several workers (in several processes) can share one database."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import uuid
from datetime import timedelta
from typing import Any, Protocol

from mcphost.db.session import Database
from mcphost.events.base import Event, EventBus
from mcphost.jobs import queue
from mcphost.jobs.registry import JobContext, JobRegistry, PermanentJobError
from mcphost.models import Job, JobStatus
from mcphost.observability.metrics import Metrics
from mcphost.services.loop import ServiceLoop
from mcphost.settings import Settings

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class WorkerParts(Protocol):
    """What a job worker uses of the process that runs it (a ``Platform`` has all of it)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def bus(self) -> EventBus: ...

    @property
    def metrics(self) -> Metrics: ...


class JobWorker(ServiceLoop):
    name = "job-worker"

    def __init__(
        self,
        parts: WorkerParts,
        registry: JobRegistry,
        worker_id: str | None = None,
        queues: tuple[str, ...] = (queue.DEFAULT_QUEUE,),
    ) -> None:
        settings = parts.settings.jobs
        super().__init__(settings.poll_interval)
        self.parts = parts
        self.queues = queues
        self.registry = registry
        self.worker_id = worker_id or new_worker_id()
        self.concurrency = settings.concurrency
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.retry = queue.RetryPolicy(settings.backoff_base_seconds, settings.backoff_max_seconds)
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        self._waker: asyncio.Task[None] | None = None
        self._stop_grace = STOP_GRACE_SECONDS

    async def start(self) -> None:
        if self.running:
            return
        await super().start()
        self._heartbeat = asyncio.create_task(self._heartbeat_forever(), name="job-worker:heartbeat")
        self._waker = asyncio.create_task(self._wake_on_enqueue(), name="job-worker:wake")

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop claiming, give running jobs ``grace`` seconds to finish, then release the rest to the queue."""
        self._stop_grace = grace
        await super().stop(grace)

    async def run_once(self) -> None:
        free = self.concurrency - len(self._running)
        if free <= 0 or self.stopping:
            return
        async with self.parts.db.session_scope() as session:
            jobs = await queue.claim(session, self.worker_id, self.registry.kinds, free, self.lease, self.queues)
        for job in jobs:
            self._running[job.id] = asyncio.create_task(self._execute(job), name=f"job:{job.kind}:{job.id}")

    async def _execute(self, job: Job) -> None:
        handler = self.registry.get(job.kind)
        assert handler is not None
        context = JobContext(job.id, job.kind, dict(job.payload), job.attempts, job.max_attempts)
        log.info("job %s (%s) attempt %d/%d started", job.id, job.kind, job.attempts, job.max_attempts)
        try:
            try:
                result = await handler(context)
            except PermanentJobError as exc:
                await self._record_failure(job, f"{exc}", permanent=True)
            except Exception as exc:
                await self._record_failure(job, f"{type(exc).__name__}: {exc}", permanent=False)
            else:
                problem = unstorable_result(result)
                if problem is None:
                    await self._record_success(job, result)
                else:
                    # Running the handler again would return the same thing: a bug to report, not to retry.
                    await self._record_failure(job, problem, permanent=True)
        except Exception:
            # The outcome could not be written (database unavailable...): the lease lapses and the job is retried.
            log.exception("job %s (%s): recording the outcome of attempt %d failed", job.id, job.kind, job.attempts)
        finally:
            self._running.pop(job.id, None)
            self.wake()

    async def _record_success(self, job: Job, result: dict[str, Any] | None) -> None:
        async with self.parts.db.session_scope() as session:
            held = await queue.complete(session, job.id, self.worker_id, result)
        if not held:
            log.warning("job %s finished after its lease was taken over; result discarded", job.id)
            return
        self.parts.metrics.jobs_finished.labels(job.kind, "succeeded").inc()

    async def _record_failure(self, job: Job, error: str, *, permanent: bool) -> None:
        async with self.parts.db.session_scope() as session:
            status = await queue.fail(session, job.id, self.worker_id, error, self.retry, permanent=permanent)
        if status is None:
            log.warning("job %s failed after its lease was taken over: %s", job.id, error)
            return
        outcome = "dead" if status is JobStatus.DEAD else "retry"
        self.parts.metrics.jobs_finished.labels(job.kind, outcome).inc()
        log.warning("job %s (%s) attempt %d failed (%s): %s", job.id, job.kind, job.attempts, outcome, error)

    async def _heartbeat_forever(self) -> None:
        # Runs until on_stop has settled every running job: a job still finishing during the stop grace keeps
        # its lease, so no other worker takes it over while it runs here.
        interval = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            if not self._running:
                continue
            try:
                async with self.parts.db.session_scope() as session:
                    await queue.heartbeat(session, self.worker_id, list(self._running), self.lease)
            except Exception:
                log.exception("job lease heartbeat failed")

    async def _wake_on_enqueue(self) -> None:
        # A subscription ends when it lags behind; subscribe again (and poll once, in case a wake-up was lost).
        while not self.stopping:
            async with self.parts.bus.subscribe() as subscription:
                async for event in subscription:
                    if self._is_wake_up(event):
                        self.wake()
            self.wake()
            await asyncio.sleep(self.interval)

    def _is_wake_up(self, event: Event) -> bool:
        data = event.data
        return (
            event.kind == queue.ENQUEUED_EVENT
            and data.get("kind") in self.registry.kinds
            and data.get("queue", queue.DEFAULT_QUEUE) in self.queues
        )

    async def on_stop(self) -> None:
        await _cancel(self._waker)
        try:
            if self._running:
                _done, pending = await asyncio.wait(list(self._running.values()), timeout=self._stop_grace)
                unfinished = [job_id for job_id, task in self._running.items() if task in pending]
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                async with self.parts.db.session_scope() as session:
                    await queue.release(session, self.worker_id, unfinished)
                self._running.clear()
        finally:
            await _cancel(self._heartbeat)
            self._heartbeat = self._waker = None


def unstorable_result(result: object) -> str | None:
    """Why a handler's return value cannot be kept as the job's result (a JSON object or None), if it cannot."""
    if result is None:
        return None
    if not isinstance(result, dict):
        return f"the handler returned a {type(result).__name__}; a job result must be a dict or None"
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return f"the handler's result cannot be stored as JSON: {exc}"
    return None


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
