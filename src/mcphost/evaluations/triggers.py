"""What starts a run: a user (``service.request_run``), a new revision of a covered server going live (``on_live``),
and the schedule (``start_due``). Each makes a run row and enqueues the durable job that carries it out, in the
caller's transaction, so a rolled-back trigger leaves nothing behind.

A run's job goes to the queue of the node hosting its (first) server: the tool calls go through the gateway, the
same path as a client of ``/mcp/{slug}``, which forwards a call for a server hosted by another node to that node
(ADR 0015), so a run's servers may live on several nodes. Triggers that several replicas may see (a server going
live is announced to each of them; schedulers race) carry a ``dedupe_key``, unique in the table, so each takes
effect once."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.base import utcnow
from mcphost.db.session import Database
from mcphost.evaluations.repository import EvaluationRepository
from mcphost.jobs import queue
from mcphost.models import (
    EvaluationRun,
    EvaluationStatus,
    EvaluationSuite,
    EvaluationTrigger,
    RevisionReason,
    Server,
    ServerRevision,
)
from mcphost.servers.lifecycle_jobs import node_queue

log = logging.getLogger(__name__)
RUN_JOB = "evaluation.run"
#: Revisions that are a server's first deploy, not a redeploy.
_FIRST = frozenset({RevisionReason.CREATE, RevisionReason.INITIAL})


async def enqueue_run(session: AsyncSession, run: EvaluationRun, server: Server | None) -> None:
    """The job that carries the run out, on the queue of the node hosting ``server`` (its first server)."""
    await queue.enqueue(
        session,
        RUN_JOB,
        {"run_id": str(run.id)},
        queue=node_queue(server.node if server is not None else None),
        max_attempts=2,
    )


async def on_live(db: Database, server_id: uuid.UUID) -> list[uuid.UUID]:
    """A server started serving: if what serves is a revision recorded after a suite (that runs on deploy) began
    to cover the server, run that suite's cases of the server, once per revision. Restarts of a revision already
    evaluated, and the server's first deploy, start nothing."""
    started: list[uuid.UUID] = []
    async with db.session_scope() as session:
        server = await session.get(Server, server_id)
        if server is None or not server.revision:
            return started
        revision = await _revision(session, server)
        if revision is None or revision.reason in _FIRST:
            return started
        repository = EvaluationRepository(session)
        for suite in await repository.deploy_suites(server.id):
            covered_since = await repository.first_case_at(suite.id, server.id)
            if covered_since is None or revision.created_at <= covered_since:
                continue  # the suite came after this revision: a restart, not a redeploy it watches
            run = await repository.add_run_once(
                _values(
                    suite,
                    EvaluationTrigger.DEPLOY,
                    f"deploy:{suite.id}:{server.id}:{server.revision}",
                    server_id=server.id,
                    revision=server.revision,
                )
            )
            if run is not None:
                await enqueue_run(session, run, server)
                started.append(run.id)
    if started:
        log.info(
            "evaluations: revision %s of server %s went live; started runs %s", server.revision, server_id, started
        )
    return started


async def start_due(session: AsyncSession, now: datetime | None = None, limit: int = 20) -> list[uuid.UUID]:
    """Start the runs of scheduled suites that are due, and set their next time. A suite with a run still going,
    or without cases, waits for its next time."""
    now = now or utcnow()
    repository = EvaluationRepository(session)
    started: list[uuid.UUID] = []
    for suite in await repository.due_suites(now, limit):
        due = suite.next_run_at
        suite.next_run_at = now + timedelta(seconds=suite.schedule_seconds or 0)
        cases = await repository.cases(suite.id)
        if not cases or await repository.has_active_run(suite.id):
            continue
        key = f"schedule:{suite.id}:{due.isoformat() if due else now.isoformat()}"
        run = await repository.add_run_once(_values(suite, EvaluationTrigger.SCHEDULE, key))
        if run is None:
            continue
        await enqueue_run(session, run, await session.get(Server, cases[0].server_id))
        started.append(run.id)
    await session.flush()
    return started


def _values(
    suite: EvaluationSuite,
    trigger: EvaluationTrigger,
    dedupe_key: str,
    *,
    server_id: uuid.UUID | None = None,
    revision: int | None = None,
) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "suite_id": suite.id,
        "trigger": trigger,
        "status": EvaluationStatus.QUEUED,
        "server_id": server_id,
        "revision": revision,
        "run_as": suite.created_by,
        "dedupe_key": dedupe_key,
        "created_at": utcnow(),
        "cases": 0,
        "passed": 0,
    }


async def _revision(session: AsyncSession, server: Server) -> ServerRevision | None:
    return await session.scalar(
        sa.select(ServerRevision).where(ServerRevision.server_id == server.id, ServerRevision.number == server.revision)
    )
