"""Workflows and runs as the API shows them (the console renders the same models)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.models import Workflow, WorkflowRun, WorkflowStepRun
from mcphost.workflows.repository import WorkflowRepository
from mcphost.workflows.schemas import RetryIn, RunOut, StepOut, StepRunOut, WorkflowOut

ENDPOINT_PREFIX = "/mcp/workflows/"


async def workflow_views(session: AsyncSession, workflows: Sequence[Workflow], public_url: str) -> list[WorkflowOut]:
    """The workflows with their servers' slugs (one query for all of them)."""
    server_ids = [uuid.UUID(step["server_id"]) for workflow in workflows for step in workflow.steps]
    servers = await WorkflowRepository(session).servers(server_ids)
    views = []
    for workflow in workflows:
        steps = [
            StepOut(
                id=step["id"],
                server_id=uuid.UUID(step["server_id"]),
                server_slug=getattr(servers.get(uuid.UUID(step["server_id"])), "slug", None),
                tool=step["tool"],
                arguments=step["arguments"],
                needs=step["needs"],
                timeout_seconds=step["timeout_seconds"],
                retry=RetryIn.model_validate(step["retry"]),
            )
            for step in workflow.steps
        ]
        views.append(
            WorkflowOut(
                id=workflow.id,
                name=workflow.name,
                slug=workflow.slug,
                description=workflow.description,
                input_schema=workflow.input_schema,
                steps=steps,
                output=workflow.output,
                published=workflow.published,
                endpoint=f"{public_url}{ENDPOINT_PREFIX}{workflow.slug}",
                version=workflow.version,
                created_at=workflow.created_at,
                updated_at=workflow.updated_at,
            )
        )
    return views


async def workflow_view(session: AsyncSession, workflow: Workflow, public_url: str) -> WorkflowOut:
    return (await workflow_views(session, [workflow], public_url))[0]


def run_view(run: WorkflowRun, steps: Sequence[WorkflowStepRun] | None = None) -> RunOut:
    duration = None
    if run.started_at is not None and run.finished_at is not None:
        duration = round((run.finished_at - run.started_at).total_seconds() * 1000, 3)
    return RunOut(
        id=run.id,
        workflow_id=run.workflow_id,
        version=run.version,
        status=run.status,
        trigger=run.trigger,
        input=run.input,
        output=run.output,
        error=run.error,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration_ms=duration,
        steps=None if steps is None else [step_view(step) for step in steps],
    )


def step_view(step: WorkflowStepRun) -> StepRunOut:
    return StepRunOut(
        step_id=step.step_id,
        server_id=step.server_id,
        tool=step.tool,
        status=step.status,
        attempts=step.attempts,
        input=step.input,
        output=step.output,
        error=step.error,
        started_at=step.started_at,
        finished_at=step.finished_at,
        duration_ms=step.duration_ms,
    )
