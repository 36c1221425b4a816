"""Rules of workflows: defining one (every step's server and tool checked against what its owner may use, its
templates and dependencies checked), changing and deleting it, and queueing, listing and cancelling its runs.

A workflow acts as its owner would, never with more: its steps run with the owner's access to servers (without
administrator powers, even for an administrator), checked when it is defined and again when each step runs."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.db.base import utcnow
from mcphost.errors import AppError, Conflict, InvalidTransition, NotFound, RateLimited, ValidationFailed
from mcphost.gateway.withheld import DISABLED, ROLE, withheld_for
from mcphost.jobs import queue
from mcphost.models import (
    Job,
    JobStatus,
    RunStatus,
    Server,
    StepStatus,
    TokenScope,
    User,
    Workflow,
    WorkflowRun,
    WorkflowStepRun,
)
from mcphost.servers.service import get_invocable
from mcphost.settings import WorkflowSettings
from mcphost.workflows.definition import check_definition, input_problem, json_size
from mcphost.workflows.repository import RunRepository, WorkflowRepository
from mcphost.workflows.schemas import StepIn, Trigger, WorkflowCreate, WorkflowUpdate

RUN_JOB = "workflow.run"
#: Scopes a workflow acts with: its owner's reading and calling, never administrator powers.
ACTING_SCOPES = frozenset({TokenScope.READ, TokenScope.INVOKE})


def run_queue(node: str | None) -> str:
    """Runs go to the node hosting the first step's server (most calls stay local); a step whose server another node
    hosts is forwarded there by the gateway (ADR 0015), so one run may call servers on several nodes."""
    return f"workflows:{node}" if node else "workflows"


def acting_as(user: User, workflow_id: uuid.UUID) -> Principal:
    return Principal(user=user, scopes=ACTING_SCOPES, via="token", credential_id=workflow_id)


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50] or "workflow"


async def get_workflow(
    session: AsyncSession, principal: Principal, workflow_id: uuid.UUID, *, for_update: bool = False
) -> Workflow:
    workflow = await WorkflowRepository(session).visible(principal, workflow_id, for_update=for_update)
    if workflow is None:
        raise NotFound("No workflow with this id.")
    return workflow


async def list_workflows(
    session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None
) -> tuple[list[Workflow], str | None]:
    return await WorkflowRepository(session).page(principal, limit=limit, cursor=cursor)


async def _resolve_steps(
    session: AsyncSession,
    owner: Principal,
    steps: list[StepIn],
    needs: dict[str, list[str]],
    settings: WorkflowSettings,
) -> list[dict[str, Any]]:
    """The steps as stored: each server resolved to its id, once checked that the owner may call the tool."""
    repository = WorkflowRepository(session)
    resolved = []
    for step in steps:
        server = await repository.server_by_ref(step.server)
        usable = server is not None
        if server is not None:
            try:
                await get_invocable(session, owner, server.id)
            except AppError:
                usable = False
        if server is None or not usable:
            raise ValidationFailed(
                f"Step '{step.id}': there is no server '{step.server}' that you can call tools of (give the id or "
                "slug of a server you own or are a member of).",
                code="unknown_server",
                details={"step": step.id, "server": step.server},
            )
        await _check_tool(session, owner, server, step)
        resolved.append(
            {
                "id": step.id,
                "server_id": str(server.id),
                "tool": step.tool,
                "arguments": step.arguments,
                "needs": needs[step.id],
                "timeout_seconds": step.timeout_seconds or settings.default_step_timeout_seconds,
                "retry": step.retry.model_dump(),
            }
        )
    return resolved


async def _check_tool(session: AsyncSession, owner: Principal, server: Server, step: StepIn) -> None:
    capabilities = server.capabilities
    if capabilities is None:
        raise ValidationFailed(
            f"Step '{step.id}': the server '{server.slug}' has not listed its tools yet; start it and wait until it "
            "is running, then define the workflow.",
            code="tools_unknown",
            details={"step": step.id, "server": server.slug},
        )
    names = sorted(
        item["name"] for item in capabilities.get("tools") or [] if isinstance(item, dict) and "name" in item
    )
    if step.tool not in names:
        listed = ", ".join(names[:30]) or "none"
        raise ValidationFailed(
            f"Step '{step.id}': the server '{server.slug}' has no tool '{step.tool}' (its tools: {listed}).",
            code="unknown_tool",
            details={"step": step.id, "server": server.slug, "tool": step.tool},
        )
    withheld = await withheld_for(session, server, owner.user, admin=False)
    refusal = withheld.refusal("tools/call", {"name": step.tool})
    if refusal is not None and refusal[1] in (DISABLED, ROLE):  # held tools may be approved before the run
        raise ValidationFailed(
            f"Step '{step.id}': {refusal[0]}",
            code="tool_unavailable",
            details={"step": step.id, "server": server.slug, "tool": step.tool, "reason": refusal[1]},
        )


async def _definition(
    session: AsyncSession,
    owner: Principal,
    settings: WorkflowSettings,
    steps: list[StepIn],
    input_schema: dict[str, Any],
    output: Any,
) -> list[dict[str, Any]]:
    needs = check_definition(steps, input_schema, output, settings)
    return await _resolve_steps(session, owner, steps, needs, settings)


async def create_workflow(
    session: AsyncSession, settings: WorkflowSettings, principal: Principal, data: WorkflowCreate
) -> Workflow:
    owner = acting_as(principal.user, uuid.uuid4())
    steps = await _definition(session, owner, settings, data.steps, data.input_schema, data.output)
    repository = WorkflowRepository(session)
    if data.slug is not None:
        if await repository.slug_taken(data.slug):
            raise Conflict(f"The slug '{data.slug}' is taken; choose another.", code="slug_taken")
        slug = data.slug
    else:
        slug = _slugify(data.name)
        while await repository.slug_taken(slug):
            slug = f"{_slugify(data.name)[:43]}-{secrets.token_hex(3)}"
    workflow = Workflow(
        owner_user_id=principal.user_id,
        name=data.name,
        slug=slug,
        description=data.description,
        input_schema=data.input_schema,
        steps=steps,
        output=data.output,
        published=data.published,
    )
    return await repository.add(workflow)


async def update_workflow(
    session: AsyncSession,
    settings: WorkflowSettings,
    principal: Principal,
    workflow_id: uuid.UUID,
    data: WorkflowUpdate,
) -> Workflow:
    workflow = await get_workflow(session, principal, workflow_id, for_update=True)
    changed = data.model_fields_set
    if {"steps", "input_schema", "output"} & changed:
        if "steps" in changed and data.steps is not None:
            steps = data.steps
        else:
            steps = [_step_in(step) for step in workflow.steps]
        schema = data.input_schema if data.input_schema is not None else workflow.input_schema
        output = data.output if "output" in changed else workflow.output
        owner = acting_as(principal.user, workflow.id)
        workflow.steps = await _definition(session, owner, settings, steps, schema, output)
        workflow.input_schema, workflow.output = schema, output
        workflow.version += 1
    if data.name is not None:
        workflow.name = data.name
    if data.description is not None:
        workflow.description = data.description
    if data.published is not None:
        workflow.published = data.published
    workflow.updated_at = utcnow()
    await session.flush()
    return workflow


def _step_in(stored: dict[str, Any]) -> StepIn:
    fields = ("id", "tool", "arguments", "needs", "timeout_seconds", "retry")
    return StepIn.model_validate({"server": stored["server_id"], **{name: stored[name] for name in fields}})


async def delete_workflow(session: AsyncSession, principal: Principal, workflow_id: uuid.UUID) -> None:
    """Delete it with its runs; a run in progress is told to stop (its job finds the run gone)."""
    workflow = await get_workflow(session, principal, workflow_id, for_update=True)
    await WorkflowRepository(session).delete(workflow)


async def start_run(
    session: AsyncSession,
    settings: WorkflowSettings,
    principal: Principal,
    workflow_id: uuid.UUID,
    data: dict[str, Any],
    trigger: Trigger,
    *,
    workflow: Workflow | None = None,
) -> WorkflowRun:
    """Queue a run of the workflow with this input (a durable job on the queue of the node hosting its servers)."""
    workflow = workflow or await get_workflow(session, principal, workflow_id)
    problem = input_problem(workflow.input_schema, data)
    if problem is not None:
        raise ValidationFailed(problem, code="invalid_input")
    size = json_size(data, "The input")
    if size > settings.max_argument_bytes:
        raise ValidationFailed(
            f"The input is {size} bytes; at most {settings.max_argument_bytes} are allowed.", code="input_too_large"
        )
    runs = RunRepository(session)
    if await runs.active_count(workflow.owner_user_id) >= settings.max_active_runs_per_user:
        raise RateLimited(
            f"You have {settings.max_active_runs_per_user} workflow runs queued or running, the most allowed at "
            "once; wait for one to finish.",
            retry_after=5,
        )
    servers = await WorkflowRepository(session).servers([uuid.UUID(step["server_id"]) for step in workflow.steps])
    first = servers.get(uuid.UUID(workflow.steps[0]["server_id"]))
    run = WorkflowRun(
        workflow_id=workflow.id,
        owner_user_id=workflow.owner_user_id,
        version=workflow.version,
        definition={"steps": workflow.steps, "output": workflow.output},
        status=RunStatus.QUEUED,
        trigger=trigger,
        input=data,
        cancel_requested=False,
        created_at=utcnow(),
    )
    run.id = uuid.uuid4()
    steps = [
        WorkflowStepRun(
            run_id=run.id,
            step_id=step["id"],
            position=position,
            server_id=uuid.UUID(step["server_id"]) if uuid.UUID(step["server_id"]) in servers else None,
            tool=step["tool"],
            status=StepStatus.PENDING,
            attempts=0,
        )
        for position, step in enumerate(workflow.steps)
    ]
    await runs.add(run, steps, keep=settings.runs_kept)
    job = await queue.enqueue(
        session, RUN_JOB, {"run_id": str(run.id)}, queue=run_queue(first.node if first else None), max_attempts=5
    )
    run.job_id = job.id
    await session.flush()
    return run


async def list_runs(
    session: AsyncSession, principal: Principal, workflow_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[WorkflowRun], str | None]:
    await get_workflow(session, principal, workflow_id)
    return await RunRepository(session).page(workflow_id, limit=limit, cursor=cursor)


async def get_run(
    session: AsyncSession, principal: Principal, workflow_id: uuid.UUID, run_id: uuid.UUID, *, for_update: bool = False
) -> tuple[WorkflowRun, list[WorkflowStepRun]]:
    runs = RunRepository(session)
    run = await runs.visible(principal, workflow_id, run_id, for_update=for_update)
    if run is None:
        raise NotFound("No run with this id in this workflow.")
    return run, await runs.steps(run.id)


async def cancel_run(
    session: AsyncSession, principal: Principal, workflow_id: uuid.UUID, run_id: uuid.UUID
) -> tuple[WorkflowRun, list[WorkflowStepRun]]:
    """A queued run is cancelled at once; a running one stops its steps within a second (its job sees the request)."""
    run, steps = await get_run(session, principal, workflow_id, run_id, for_update=True)
    if run.status.finished:
        raise InvalidTransition(
            f"The run has already {run.status.value}; only queued or running runs can be cancelled."
        )
    run.cancel_requested = True
    if run.status is RunStatus.QUEUED:
        now = utcnow()
        run.status, run.finished_at, run.error = RunStatus.CANCELLED, now, "Cancelled before it started."
        for step in steps:
            step.status = StepStatus.CANCELLED
        job = await session.get(Job, run.job_id) if run.job_id else None
        if job is not None and job.status is JobStatus.QUEUED:
            job.status, job.finished_at = JobStatus.CANCELLED, now
    await session.flush()
    return run, steps
