"""Workflow pages: your workflows (define one in a JSON editor), one workflow with its steps, a form to run it, its
runs, and a run drawn as a timeline (each step a bar from its start to its end, coloured by status), refreshed by htmx
while the run goes on. Everything goes through the same services as the API, so the same checks hold."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from mcphost.accounts.principal import Principal
from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.db.base import utcnow
from mcphost.errors import AppError
from mcphost.models import Workflow, WorkflowRun, WorkflowStepRun
from mcphost.servers import service as servers
from mcphost.ui.forms import form_text
from mcphost.ui.routing import ConsoleRoute, ConsoleUser, redirect
from mcphost.ui.templating import render
from mcphost.workflows import service
from mcphost.workflows.schemas import WorkflowCreate
from mcphost.workflows.views import run_view, workflow_view, workflow_views

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
EXAMPLE = {
    "name": "Greet twice",
    "input_schema": {"type": "object", "properties": {"who": {"type": "string"}}, "required": ["who"]},
    "steps": [
        {"id": "first", "server": "SERVER-SLUG", "tool": "echo", "arguments": {"text": "Hello {{ input.who }}"}},
        {"id": "second", "server": "SERVER-SLUG", "tool": "echo", "arguments": {"text": "{{ steps.first.output }}!"}},
    ],
}


@dataclass(frozen=True)
class Bar:
    """One step on the timeline: where its bar starts and how wide it is, in percent of the run's span."""

    step: WorkflowStepRun
    left: float
    width: float
    drawn: bool


def timeline(run: WorkflowRun, steps: list[WorkflowStepRun]) -> tuple[list[Bar], float]:
    """The bars of a run's steps and the run's span in seconds (now, for a run still going)."""
    starts = [step.started_at for step in steps if step.started_at is not None]
    begin = run.started_at or (min(starts) if starts else None)
    if begin is None:
        return [Bar(step, 0.0, 0.0, False) for step in steps], 0.0
    ends = [step.finished_at or utcnow() for step in steps if step.started_at is not None]
    end = max([run.finished_at or utcnow(), *ends])
    span = max((end - begin).total_seconds(), 0.001)

    def offset(moment: datetime) -> float:
        return round(max((moment - begin).total_seconds(), 0.0) / span * 100, 2)

    bars = []
    for step in steps:
        if step.started_at is None:
            bars.append(Bar(step, 0.0, 0.0, False))
            continue
        left = offset(step.started_at)
        width = max(offset(step.finished_at or utcnow()) - left, 0.6)
        bars.append(Bar(step, left, min(width, 100 - left), True))
    return bars, span


async def _list_context(session: AsyncSession, principal: Principal, public_url: str) -> dict[str, Any]:
    workflows, _ = await service.list_workflows(session, principal, limit=200, cursor=None)
    mine, _ = await servers.list_servers(session, principal, org_id=None, limit=200, cursor=None)
    return {
        "section": "workflows",
        "workflows": await workflow_views(session, workflows, public_url),
        "server_slugs": [server.slug for server in mine],
    }


@router.get("/workflows")
async def workflows_page(
    request: Request, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    context = await _list_context(session, principal, platform.settings.effective_public_url)
    slugs = context["server_slugs"]
    example = json.dumps(EXAMPLE, indent=2).replace("SERVER-SLUG", slugs[0] if slugs else "SERVER-SLUG")
    return render(request, "workflows/list.html", {**context, "definition": example})


@router.post("/workflows")
async def create(request: Request, principal: ConsoleUser, session: SessionDep, platform: PlatformDep) -> Response:
    text = form_text(await request.form(), "definition")
    try:
        data = WorkflowCreate.model_validate_json(text)
        workflow = await service.create_workflow(session, platform.settings.workflows, principal, data)
    except AppError as exc:
        problem = exc.message
    except ValueError as exc:  # not JSON, or not a definition (pydantic's ValidationError is a ValueError)
        problem = _definition_problem(exc)
    else:
        return redirect(request, f"/workflows/{workflow.id}")
    context = await _list_context(session, principal, platform.settings.effective_public_url)
    return render(request, "workflows/list.html", {**context, "definition": text, "problem": problem}, status_code=422)


def _definition_problem(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = [f"{'.'.join(str(p) for p in error['loc']) or 'definition'}: {error['msg']}" for error in errors()[:5]]
        return "The definition is invalid. " + "; ".join(parts)
    return f"The definition is not JSON: {exc}"


async def _workflow_context(
    session: AsyncSession, principal: Principal, workflow: Workflow, public_url: str, run_id: uuid.UUID | None
) -> dict[str, Any]:
    runs, _ = await service.list_runs(session, principal, workflow.id, limit=20, cursor=None)
    shown = next((run for run in runs if run.id == run_id), None) if run_id else (runs[0] if runs else None)
    context: dict[str, Any] = {
        "section": "workflows",
        "workflow": await workflow_view(session, workflow, public_url),
        "runs": [run_view(run) for run in runs],
    }
    if shown is not None:
        context |= await _run_context(session, principal, workflow.id, shown.id)
    return context


async def _run_context(
    session: AsyncSession, principal: Principal, workflow_id: uuid.UUID, run_id: uuid.UUID
) -> dict[str, Any]:
    run, steps = await service.get_run(session, principal, workflow_id, run_id)
    bars, span = timeline(run, steps)
    return {"run": run_view(run, steps), "bars": bars, "span": span, "workflow_id": workflow_id}


@router.get("/workflows/{workflow_id}")
async def workflow_page(
    request: Request,
    workflow_id: uuid.UUID,
    principal: ConsoleUser,
    session: SessionDep,
    platform: PlatformDep,
    run: uuid.UUID | None = None,
) -> Response:
    workflow = await service.get_workflow(session, principal, workflow_id)
    context = await _workflow_context(session, principal, workflow, platform.settings.effective_public_url, run)
    return render(request, "workflows/detail.html", context)


@router.get("/workflows/{workflow_id}/runs/{run_id}/timeline")
async def run_timeline(
    request: Request, workflow_id: uuid.UUID, run_id: uuid.UUID, principal: ConsoleUser, session: SessionDep
) -> Response:
    """The timeline alone, for htmx to refresh while the run goes on."""
    return render(request, "workflows/timeline.html", await _run_context(session, principal, workflow_id, run_id))


@router.post("/workflows/{workflow_id}/run")
async def run_workflow(
    request: Request, workflow_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    text = form_text(await request.form(), "input").strip() or "{}"
    workflow = await service.get_workflow(session, principal, workflow_id)
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("the input must be a JSON object")
        run = await service.start_run(session, platform.settings.workflows, principal, workflow_id, data, "console")
    except AppError as exc:
        problem = exc.message
    except ValueError as exc:
        problem = f"The input is not a JSON object: {exc}"
    else:
        return redirect(request, f"/workflows/{workflow_id}?run={run.id}")
    public_url = platform.settings.effective_public_url
    context = await _workflow_context(session, principal, workflow, public_url, None)
    return render(request, "workflows/detail.html", {**context, "input": text, "problem": problem}, status_code=422)


@router.post("/workflows/{workflow_id}/runs/{run_id}/cancel")
async def cancel(
    request: Request, workflow_id: uuid.UUID, run_id: uuid.UUID, principal: ConsoleUser, session: SessionDep
) -> Response:
    await service.cancel_run(session, principal, workflow_id, run_id)
    return redirect(request, f"/workflows/{workflow_id}?run={run_id}")


@router.post("/workflows/{workflow_id}/delete")
async def delete(request: Request, workflow_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    await service.delete_workflow(session, principal, workflow_id)
    return redirect(request, "/workflows")
