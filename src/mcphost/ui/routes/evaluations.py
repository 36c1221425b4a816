"""The Evaluations pages: suites and the scoreboard with its ranking (``/evaluations``), one suite's cases and runs
with forms to add, record and run (``/evaluations/{id}``), and one run's results, which fill in live while it runs
(``/evaluations/runs/{id}``). Forms post and come back to the page; the pages call the API's own services."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.errors import RateLimited, ValidationFailed
from mcphost.evaluations import recording, service
from mcphost.evaluations.repository import ACTIVE, EvaluationRepository
from mcphost.evaluations.schemas import CaseCreate, RecordIn, RunIn, SuiteCreate
from mcphost.gateway.access import RateLimiter
from mcphost.servers import service as servers
from mcphost.ui.forms import validated
from mcphost.ui.routing import ConsoleRoute, ConsoleUser, redirect
from mcphost.ui.templating import render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
FormText = Annotated[str, Form(max_length=1000)]
FormJson = Annotated[str, Form(max_length=70_000)]
CASE_LABELS = {
    "server_id": "Server",
    "tool": "Tool",
    "arguments": "Arguments",
    "expected": "Expected output",
    "match_mode": "Match mode",
    "threshold": "Threshold",
    "name": "Name",
}


@router.get("/evaluations")
async def evaluations_page(request: Request, principal: ConsoleUser, session: SessionDep) -> Response:
    suites = await service.list_suites(session, principal, None)
    board = await service.scoreboard(session, principal, None)
    return render(request, "evaluations/index.html", {"section": "evaluations", "suites": suites, "board": board})


@router.post("/evaluations")
async def create_suite(
    request: Request,
    principal: ConsoleUser,
    session: SessionDep,
    platform: PlatformDep,
    name: FormText = "",
    description: FormText = "",
    schedule_minutes: FormText = "",
    run_on_deploy: FormText = "",
) -> Response:
    seconds = _minutes(schedule_minutes)
    data = validated(
        SuiteCreate,
        {"name": "Name", "description": "Description", "schedule_seconds": "Schedule"},
        name=name,
        description=description,
        schedule_seconds=seconds,
        run_on_deploy=bool(run_on_deploy),
    )
    suite = await service.create_suite(session, platform.settings.evaluations, principal, data)
    return redirect(request, f"/evaluations/{suite.id}")


@router.get("/evaluations/runs/{run_id}")
async def run_page(request: Request, run_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    context = await _run_context(session, principal, run_id)
    template = (
        "evaluations/run_results.html" if request.query_params.get("part") == "results" else "evaluations/run.html"
    )
    return render(request, template, context)


@router.get("/evaluations/{suite_id}")
async def suite_page(request: Request, suite_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    suite = await service.get_suite(session, principal, suite_id)
    cases = await service.list_cases(session, principal, suite_id)
    page, _ = await servers.list_servers(session, principal, org_id=None, limit=200, cursor=None)
    names = {server.id: server for server in page}
    runs = await service.list_runs(session, principal, suite_id, 20)
    return render(
        request,
        "evaluations/suite.html",
        {
            "section": "evaluations",
            "suite": await service.describe_suite(session, suite),
            "cases": cases,
            "servers": page,
            "names": names,
            "tools": {str(server.id): service.tools_of(server) or [] for server in page},
            "runs": runs,
            "board": await service.scoreboard(session, principal, suite_id),
        },
    )


@router.post("/evaluations/{suite_id}/cases")
async def add_case(
    request: Request,
    suite_id: uuid.UUID,
    principal: ConsoleUser,
    session: SessionDep,
    platform: PlatformDep,
    server_id: FormText = "",
    tool: FormText = "",
    arguments: FormJson = "",
    expected: FormJson = "",
    match_mode: FormText = "exact",
    threshold: FormText = "",
    name: FormText = "",
) -> Response:
    data = validated(
        CaseCreate,
        CASE_LABELS,
        server_id=server_id or None,
        tool=tool,
        arguments=_json("Arguments", arguments or "{}"),
        expected=_expected(expected, match_mode),
        match_mode=match_mode,
        threshold=threshold.strip() or None,
        name=name or None,
    )
    await service.add_case(session, platform.settings.evaluations, principal, suite_id, data)
    return redirect(request, f"/evaluations/{suite_id}")


@router.post("/evaluations/{suite_id}/record")
async def record_cases(
    request: Request,
    suite_id: uuid.UUID,
    principal: ConsoleUser,
    session: SessionDep,
    platform: PlatformDep,
    server_id: FormText = "",
    tool: FormText = "",
    limit: FormText = "20",
    match_mode: FormText = "exact",
) -> Response:
    data = validated(
        RecordIn,
        {"server_id": "Server", "tool": "Tool", "limit": "How many", "match_mode": "Match mode"},
        server_id=server_id or None,
        tool=tool.strip() or None,
        limit=limit or 20,
        match_mode=match_mode,
    )
    await recording.record_cases(session, platform.settings.evaluations, principal, suite_id, data)
    return redirect(request, f"/evaluations/{suite_id}")


@router.post("/evaluations/{suite_id}/cases/{case_id}/delete")
async def delete_case(
    request: Request, suite_id: uuid.UUID, case_id: uuid.UUID, principal: ConsoleUser, session: SessionDep
) -> Response:
    await service.delete_case(session, principal, suite_id, case_id)
    return redirect(request, f"/evaluations/{suite_id}")


@router.post("/evaluations/{suite_id}/run")
async def run_suite(request: Request, suite_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    limiter: RateLimiter | None = getattr(request.app.state, "evaluation_limiter", None)
    wait = limiter.retry_after(str(principal.user_id)) if limiter is not None else 0
    if wait:
        raise RateLimited(f"Too many evaluation runs started; try again in {wait} seconds.", retry_after=wait)
    run = await service.request_run(session, principal, suite_id, RunIn())
    return redirect(request, f"/evaluations/runs/{run.id}")


@router.post("/evaluations/{suite_id}/delete")
async def delete_suite(request: Request, suite_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    await service.delete_suite(session, principal, suite_id)
    return redirect(request, "/evaluations")


async def _run_context(session: SessionDep, principal: Any, run_id: uuid.UUID) -> dict[str, Any]:
    run, results = await service.get_run(session, principal, run_id)
    suite = await service.get_suite(session, principal, run.suite_id)
    found, _ = await EvaluationRepository(session).named(list({result.server_id for result in results}), [])
    return {
        "section": "evaluations",
        "run": run,
        "suite": suite,
        "results": results,
        "servers": found,
        "active": run.status in ACTIVE,
    }


def _minutes(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        return round(float(value) * 60)
    except ValueError:
        raise ValidationFailed(
            "Please correct the form. Schedule: give the interval in minutes, or leave it empty."
        ) from None


def _json(label: str, value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        raise ValidationFailed(f"Please correct the form. {label}: this is not valid JSON.") from None


def _expected(value: str, mode: str) -> Any:
    """Text as typed for the text modes (and exact); JSON for json_subset."""
    return _json("Expected output", value) if mode == "json_subset" else value
