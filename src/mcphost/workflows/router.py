"""Endpoints of workflows (define, list, read, change, delete) and their runs (start, list, read, cancel)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from mcphost.api.deps import InvokePrincipal, PlatformDep, ReadPrincipal, SessionDep, WritePrincipal
from mcphost.api.schemas import AUTHENTICATED_ERRORS, Page, error_responses
from mcphost.db.pagination import MAX_LIMIT
from mcphost.workflows import service
from mcphost.workflows.schemas import RunIn, RunOut, WorkflowCreate, WorkflowOut, WorkflowUpdate
from mcphost.workflows.views import run_view, workflow_view, workflow_views

router = APIRouter(prefix="/api/workflows", tags=["workflows"], responses=AUTHENTICATED_ERRORS)
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
    summary="Define a workflow (each step's server, tool, templates and dependencies are checked)",
)
async def create_workflow(
    body: WorkflowCreate, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> WorkflowOut:
    workflow = await service.create_workflow(session, platform.settings.workflows, principal, body)
    return await workflow_view(session, workflow, platform.settings.effective_public_url)


@router.get("", summary="Your workflows, newest first")
async def list_workflows(
    principal: ReadPrincipal, session: SessionDep, platform: PlatformDep, limit: Limit = 50, cursor: str | None = None
) -> Page[WorkflowOut]:
    workflows, next_cursor = await service.list_workflows(session, principal, limit=limit, cursor=cursor)
    items = await workflow_views(session, workflows, platform.settings.effective_public_url)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{workflow_id}", summary="One workflow")
async def get_workflow(
    workflow_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep
) -> WorkflowOut:
    workflow = await service.get_workflow(session, principal, workflow_id)
    return await workflow_view(session, workflow, platform.settings.effective_public_url)


@router.patch("/{workflow_id}", summary="Change a workflow (a changed definition is checked again)")
async def update_workflow(
    workflow_id: uuid.UUID, body: WorkflowUpdate, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> WorkflowOut:
    workflow = await service.update_workflow(session, platform.settings.workflows, principal, workflow_id, body)
    return await workflow_view(session, workflow, platform.settings.effective_public_url)


@router.delete("/{workflow_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a workflow and its runs")
async def delete_workflow(workflow_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> Response:
    await service.delete_workflow(session, principal, workflow_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{workflow_id}/run",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(429),
    summary="Run a workflow: the run is queued and executes in the background (follow it in its runs)",
)
async def run_workflow(
    workflow_id: uuid.UUID, body: RunIn, principal: InvokePrincipal, session: SessionDep, platform: PlatformDep
) -> RunOut:
    settings = platform.settings.workflows
    run = await service.start_run(session, settings, principal, workflow_id, body.input, "api")
    return run_view(run)


@router.get("/{workflow_id}/runs", summary="The workflow's runs, newest first")
async def list_runs(
    workflow_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, limit: Limit = 50, cursor: str | None = None
) -> Page[RunOut]:
    runs, next_cursor = await service.list_runs(session, principal, workflow_id, limit=limit, cursor=cursor)
    return Page(items=[run_view(run) for run in runs], next_cursor=next_cursor)


@router.get("/{workflow_id}/runs/{run_id}", summary="One run with each step's input, output, timing and error")
async def get_run(workflow_id: uuid.UUID, run_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> RunOut:
    run, steps = await service.get_run(session, principal, workflow_id, run_id)
    return run_view(run, steps)


@router.post(
    "/{workflow_id}/runs/{run_id}/cancel",
    responses=error_responses(409),
    summary="Cancel a queued or running run",
)
async def cancel_run(
    workflow_id: uuid.UUID, run_id: uuid.UUID, principal: InvokePrincipal, session: SessionDep
) -> RunOut:
    run, steps = await service.cancel_run(session, principal, workflow_id, run_id)
    return run_view(run, steps)
