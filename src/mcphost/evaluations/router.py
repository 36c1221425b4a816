"""``/api/evaluations``: suites, their cases (written or recorded from invocations), runs with their results, and the
scoreboard across servers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep, WritePrincipal
from mcphost.api.schemas import AUTHENTICATED_ERRORS, error_responses
from mcphost.errors import RateLimited
from mcphost.evaluations import recording, service
from mcphost.evaluations.schemas import (
    CaseCreate,
    CaseOut,
    CaseUpdate,
    RecordIn,
    RecordOut,
    ResultOut,
    RunDetail,
    RunIn,
    RunOut,
    Scoreboard,
    SuiteCreate,
    SuiteOut,
    SuiteUpdate,
)
from mcphost.gateway.access import RateLimiter

router = APIRouter(prefix="/api/evaluations", tags=["evaluations"], responses=AUTHENTICATED_ERRORS)


def _limited(request: Request, principal: WritePrincipal) -> None:
    """Runs started on demand per user: each calls every case's tool."""
    limiter: RateLimiter | None = getattr(request.app.state, "evaluation_limiter", None)
    wait = limiter.retry_after(str(principal.user_id)) if limiter is not None else 0
    if wait:
        raise RateLimited(f"Too many evaluation runs started; try again in {wait} seconds.", retry_after=wait)


@router.get("/scoreboard", summary="Per server, its latest run's scores; ranked by average score")
async def get_scoreboard(
    principal: ReadPrincipal,
    session: SessionDep,
    suite_id: Annotated[uuid.UUID | None, Query(description="Only runs of this suite.")] = None,
) -> Scoreboard:
    return await service.scoreboard(session, principal, suite_id)


@router.get("/suites", summary="The evaluation suites you can see")
async def list_suites(
    principal: ReadPrincipal,
    session: SessionDep,
    org_id: Annotated[uuid.UUID | None, Query(description="Only this organisation's suites.")] = None,
) -> list[SuiteOut]:
    return await service.list_suites(session, principal, org_id)


@router.post(
    "/suites", status_code=status.HTTP_201_CREATED, responses=error_responses(403, 404, 422), summary="Create a suite"
)
async def create_suite(
    data: SuiteCreate, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> SuiteOut:
    suite = await service.create_suite(session, platform.settings.evaluations, principal, data)
    return await service.describe_suite(session, suite)


@router.get("/suites/{suite_id}", summary="One suite")
async def get_suite(suite_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> SuiteOut:
    return await service.describe_suite(session, await service.get_suite(session, principal, suite_id))


@router.patch("/suites/{suite_id}", responses=error_responses(403, 422), summary="Rename or reschedule a suite")
async def update_suite(
    suite_id: uuid.UUID, data: SuiteUpdate, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> SuiteOut:
    suite = await service.update_suite(session, platform.settings.evaluations, principal, suite_id, data)
    return await service.describe_suite(session, suite)


@router.delete(
    "/suites/{suite_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(403),
    summary="Delete a suite with its cases and runs",
)
async def delete_suite(suite_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> Response:
    await service.delete_suite(session, principal, suite_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/suites/{suite_id}/cases", summary="The suite's cases")
async def list_cases(suite_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> list[CaseOut]:
    return [CaseOut.model_validate(case) for case in await service.list_cases(session, principal, suite_id)]


@router.post(
    "/suites/{suite_id}/cases",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(403, 404, 409, 413, 422),
    summary="Add a case: a tool call and the output expected of it",
)
async def add_case(
    suite_id: uuid.UUID, data: CaseCreate, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> CaseOut:
    """422 ``unknown_tool`` (with the server's tools) when the server has no such tool; 409 ``tools_not_synced``
    before the server's first start."""
    case = await service.add_case(session, platform.settings.evaluations, principal, suite_id, data)
    return CaseOut.model_validate(case)


@router.post(
    "/suites/{suite_id}/cases/from-invocations",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(403, 404, 409, 422),
    summary="Record and replay: turn a server's recorded tool calls into cases expecting the recorded answers",
)
async def record_cases(
    suite_id: uuid.UUID, data: RecordIn, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> RecordOut:
    created, skipped = await recording.record_cases(session, platform.settings.evaluations, principal, suite_id, data)
    return RecordOut(created=[CaseOut.model_validate(case) for case in created], skipped=skipped)


@router.patch("/suites/{suite_id}/cases/{case_id}", responses=error_responses(403, 413, 422), summary="Change a case")
async def update_case(
    suite_id: uuid.UUID,
    case_id: uuid.UUID,
    data: CaseUpdate,
    principal: WritePrincipal,
    session: SessionDep,
    platform: PlatformDep,
) -> CaseOut:
    case = await service.update_case(session, platform.settings.evaluations, principal, suite_id, case_id, data)
    return CaseOut.model_validate(case)


@router.delete(
    "/suites/{suite_id}/cases/{case_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(403),
    summary="Delete a case (its past results stay)",
)
async def delete_case(
    suite_id: uuid.UUID, case_id: uuid.UUID, principal: WritePrincipal, session: SessionDep
) -> Response:
    await service.delete_case(session, principal, suite_id, case_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/suites/{suite_id}/runs",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(403, 409, 429),
    dependencies=[Depends(_limited)],
    summary="Run the suite now (as you): queued, then running; follow it at GET /api/evaluations/runs/{id}",
)
async def run_suite(
    suite_id: uuid.UUID, principal: WritePrincipal, session: SessionDep, data: RunIn | None = None
) -> RunOut:
    """409 ``server_not_running`` when a server the suite covers is not running, ``run_in_progress`` when a run of
    the suite is still going, ``no_cases`` for an empty suite."""
    run = await service.request_run(session, principal, suite_id, data or RunIn())
    return RunOut.model_validate(run)


@router.get("/suites/{suite_id}/runs", summary="The suite's runs, newest first")
async def list_runs(
    suite_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[RunOut]:
    return [RunOut.model_validate(run) for run in await service.list_runs(session, principal, suite_id, limit)]


@router.get("/runs/{run_id}", summary="One run with each case's result")
async def get_run(run_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> RunDetail:
    run, results = await service.get_run(session, principal, run_id)
    return RunDetail(
        **RunOut.model_validate(run).model_dump(exclude={"pass_rate"}),
        results=[ResultOut.model_validate(result) for result in results],
    )
