"""Rules of evaluations: who may define, change and run suites; what a case may say; starting a run on demand;
the scoreboard.

Suites are owned like servers (a user, or an organisation whose members change and run them and whose viewers only
read them). A case may name any server whose tools its author may call, and only a tool that server has (as its
last capability sync saw it). An on-demand run of a suite whose servers are not all running is refused with 409
(``server_not_running``): the user is there to start them; a scheduled run or one after a redeploy records the
reason on each case it could not run instead."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.db.base import utcnow
from mcphost.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, QuotaExceeded, ValidationFailed
from mcphost.evaluations import triggers
from mcphost.evaluations.repository import EvaluationRepository
from mcphost.evaluations.schemas import (
    CaseCreate,
    CaseFields,
    CaseUpdate,
    RunIn,
    RunSummary,
    Scoreboard,
    ScoreboardEntry,
    SuiteCreate,
    SuiteOut,
    SuiteUpdate,
)
from mcphost.models import (
    EvaluationCase,
    EvaluationResult,
    EvaluationRun,
    EvaluationStatus,
    EvaluationSuite,
    EvaluationTrigger,
    OrgRole,
    Server,
    ServerStatus,
)
from mcphost.orgs.access import require_org_role
from mcphost.servers import service as servers
from mcphost.settings import EvaluationSettings

#: Statuses in which a server answers tool calls (an updating server serves its previous revision).
SERVING = frozenset({ServerStatus.RUNNING, ServerStatus.UPDATING})


# -- suites -------------------------------------------------------------------------------------------------------


async def create_suite(
    session: AsyncSession, settings: EvaluationSettings, principal: Principal, data: SuiteCreate
) -> EvaluationSuite:
    if data.org_id is not None:
        await require_org_role(session, principal, data.org_id, OrgRole.MEMBER)
    _check_schedule(settings, data.schedule_seconds)
    repository = EvaluationRepository(session)
    owner_id = None if data.org_id else principal.user_id
    if await repository.count_owned(user_id=owner_id, org_id=data.org_id) >= settings.max_suites_per_owner:
        raise QuotaExceeded(
            f"{'The organisation' if data.org_id else 'You'} already own {settings.max_suites_per_owner} evaluation "
            "suites, the most allowed; delete one first."
        )
    suite = EvaluationSuite(
        id=uuid.uuid4(),
        name=data.name,
        description=data.description,
        owner_user_id=owner_id,
        org_id=data.org_id,
        created_by=principal.user_id,
        run_on_deploy=data.run_on_deploy,
        schedule_seconds=data.schedule_seconds,
        next_run_at=_next_run(data.schedule_seconds),
    )
    await repository.add(suite)
    return suite


async def list_suites(session: AsyncSession, principal: Principal, org_id: uuid.UUID | None) -> list[SuiteOut]:
    repository = EvaluationRepository(session)
    suites = await repository.suites(principal, org_id)
    ids = [suite.id for suite in suites]
    counts, last = await repository.case_counts(ids), await repository.last_runs(ids)
    return [suite_out(suite, counts.get(suite.id, 0), last.get(suite.id)) for suite in suites]


async def get_suite(session: AsyncSession, principal: Principal, suite_id: uuid.UUID) -> EvaluationSuite:
    suite = await EvaluationRepository(session).visible_suite(principal, suite_id)
    if suite is None:
        raise NotFound("No evaluation suite with this id.")
    return suite


async def describe_suite(session: AsyncSession, suite: EvaluationSuite) -> SuiteOut:
    repository = EvaluationRepository(session)
    counts, last = await repository.case_counts([suite.id]), await repository.last_runs([suite.id])
    return suite_out(suite, counts.get(suite.id, 0), last.get(suite.id))


async def get_modifiable_suite(session: AsyncSession, principal: Principal, suite_id: uuid.UUID) -> EvaluationSuite:
    """A suite the principal may change and run: its own, or its organisation's with at least the member role."""
    suite = await EvaluationRepository(session).visible_suite(principal, suite_id, for_update=True)
    if suite is None:
        raise NotFound("No evaluation suite with this id.")
    if principal.is_admin:
        return suite
    if suite.org_id is not None:
        await require_org_role(session, principal, suite.org_id, OrgRole.MEMBER)
    elif suite.owner_user_id != principal.user_id:
        raise Forbidden("Only the suite's owner can change or run it.", code="insufficient_role")
    return suite


async def update_suite(
    session: AsyncSession, settings: EvaluationSettings, principal: Principal, suite_id: uuid.UUID, data: SuiteUpdate
) -> EvaluationSuite:
    suite = await get_modifiable_suite(session, principal, suite_id)
    given = data.model_fields_set
    if data.name is not None:
        if not data.name.strip():
            raise ValidationFailed("name must not be blank.")
        suite.name = data.name.strip()
    if data.description is not None:
        suite.description = data.description
    if data.run_on_deploy is not None:
        suite.run_on_deploy = data.run_on_deploy
    if "schedule_seconds" in given:
        _check_schedule(settings, data.schedule_seconds)
        suite.schedule_seconds = data.schedule_seconds
        suite.next_run_at = _next_run(data.schedule_seconds)
    suite.updated_at = utcnow()
    await session.flush()
    return suite


async def delete_suite(session: AsyncSession, principal: Principal, suite_id: uuid.UUID) -> None:
    suite = await get_modifiable_suite(session, principal, suite_id)
    await EvaluationRepository(session).delete(suite)


def suite_out(suite: EvaluationSuite, case_count: int, last: EvaluationRun | None) -> SuiteOut:
    summary = None
    if last is not None:
        summary = RunSummary(
            id=last.id,
            status=last.status,
            trigger=last.trigger,
            cases=last.cases,
            passed=last.passed,
            average_score=last.average_score,
            finished_at=last.finished_at,
        )
    return SuiteOut(
        id=suite.id,
        name=suite.name,
        description=suite.description,
        owner_user_id=suite.owner_user_id,
        org_id=suite.org_id,
        created_by=suite.created_by,
        run_on_deploy=suite.run_on_deploy,
        schedule_seconds=suite.schedule_seconds,
        next_run_at=suite.next_run_at,
        created_at=suite.created_at,
        updated_at=suite.updated_at,
        case_count=case_count,
        last_run=summary,
    )


def _check_schedule(settings: EvaluationSettings, seconds: int | None) -> None:
    if seconds is not None and seconds < settings.min_schedule_seconds:
        raise ValidationFailed(
            f"schedule_seconds must be at least {settings.min_schedule_seconds} on this instance (each run calls "
            "every case's tool); give a longer interval, or null for no schedule.",
            details={"min_schedule_seconds": settings.min_schedule_seconds},
        )


def _next_run(seconds: int | None) -> datetime | None:
    return None if seconds is None else utcnow() + timedelta(seconds=seconds)


# -- cases --------------------------------------------------------------------------------------------------------


async def list_cases(session: AsyncSession, principal: Principal, suite_id: uuid.UUID) -> list[EvaluationCase]:
    suite = await get_suite(session, principal, suite_id)
    return await EvaluationRepository(session).cases(suite.id)


def tools_of(server: Server) -> list[str] | None:
    """The names of the server's tools as last synced; None before its first sync."""
    if server.capabilities is None:
        return None
    return [str(tool.get("name")) for tool in server.capabilities.get("tools") or [] if isinstance(tool, dict)]


def check_tool(server: Server, tool: str) -> None:
    """422 ``unknown_tool`` naming the tool and listing the server's real ones; 409 before its tools are known."""
    names = tools_of(server)
    if names is None:
        raise Conflict(
            f"The tools of server '{server.slug}' are not known yet: they are synced when it first runs. Start it, "
            "then add cases.",
            code="tools_not_synced",
        )
    if tool not in names:
        listed = ", ".join(sorted(names)) or "none"
        raise ValidationFailed(
            f"Server '{server.slug}' has no tool '{tool}'; its tools are: {listed}.",
            code="unknown_tool",
            details={"tool": tool, "tools": sorted(names)},
        )


def check_size(settings: EvaluationSettings, what: str, value: Any) -> None:
    """413 beyond ``max_case_json_chars``; 422 for what JSON-RPC cannot carry (integers beyond 64 bits)."""
    try:
        size = len(orjson.dumps(value))
    except orjson.JSONEncodeError:
        raise ValidationFailed(
            f"The case's {what} hold a number too large to send (integers must fit in 64 bits).",
            details=[{"loc": ["body", what.split()[0]], "msg": "integer beyond 64 bits"}],
        ) from None
    if size > settings.max_case_json_chars:
        raise PayloadTooLarge(
            f"The case's {what} is {size} characters of JSON; at most {settings.max_case_json_chars} are allowed."
        )


async def case_server(session: AsyncSession, principal: Principal, server_id: uuid.UUID) -> Server:
    """A server whose tools the principal may call (404 when it cannot see it, 403 for viewers)."""
    try:
        return await servers.get_invocable(session, principal, server_id)
    except NotFound:
        raise NotFound(f"No server with id {server_id} (or you cannot see it).") from None


async def add_case(
    session: AsyncSession, settings: EvaluationSettings, principal: Principal, suite_id: uuid.UUID, data: CaseCreate
) -> EvaluationCase:
    suite = await get_modifiable_suite(session, principal, suite_id)
    server = await case_server(session, principal, data.server_id)
    check_tool(server, data.tool)
    check_size(settings, "arguments", data.arguments)
    check_size(settings, "expected output", data.expected)
    repository = EvaluationRepository(session)
    await ensure_room(repository, settings, suite, 1)
    case = EvaluationCase(
        id=uuid.uuid4(),
        suite_id=suite.id,
        server_id=server.id,
        name=(data.name or "").strip() or data.tool,
        tool=data.tool,
        arguments=data.arguments,
        expected=data.expected,
        match_mode=data.match_mode,
        threshold=data.threshold,
    )
    await repository.add(case)
    return case


async def ensure_room(
    repository: EvaluationRepository, settings: EvaluationSettings, suite: EvaluationSuite, adding: int
) -> None:
    held = (await repository.case_counts([suite.id])).get(suite.id, 0)
    if held + adding > settings.max_cases_per_suite:
        raise Conflict(
            f"The suite holds {held} cases; with {adding} more it would pass the limit of "
            f"{settings.max_cases_per_suite}. Delete cases, or start another suite.",
            code="too_many_cases",
        )


async def update_case(
    session: AsyncSession,
    settings: EvaluationSettings,
    principal: Principal,
    suite_id: uuid.UUID,
    case_id: uuid.UUID,
    data: CaseUpdate,
) -> EvaluationCase:
    suite = await get_modifiable_suite(session, principal, suite_id)
    case = await _case(session, suite, case_id)
    given = data.model_fields_set
    mode = data.match_mode or case.match_mode
    expected = data.expected if "expected" in given else case.expected
    threshold = data.threshold if "threshold" in given else (case.threshold if mode is case.match_mode else None)
    try:
        CaseFields.check_expectation(mode, expected, threshold)
    except ValueError as exc:
        raise ValidationFailed(f"{exc}.") from None
    if data.arguments is not None:
        check_size(settings, "arguments", data.arguments)
        case.arguments = data.arguments
    check_size(settings, "expected output", expected)
    if data.name is not None:
        case.name = data.name.strip() or case.tool
    case.match_mode, case.expected, case.threshold = mode, expected, threshold
    await session.flush()
    return case


async def delete_case(session: AsyncSession, principal: Principal, suite_id: uuid.UUID, case_id: uuid.UUID) -> None:
    suite = await get_modifiable_suite(session, principal, suite_id)
    await EvaluationRepository(session).delete(await _case(session, suite, case_id))


async def _case(session: AsyncSession, suite: EvaluationSuite, case_id: uuid.UUID) -> EvaluationCase:
    case = await EvaluationRepository(session).case(suite.id, case_id)
    if case is None:
        raise NotFound("No case with this id in this suite.")
    return case


# -- runs ---------------------------------------------------------------------------------------------------------


async def request_run(session: AsyncSession, principal: Principal, suite_id: uuid.UUID, data: RunIn) -> EvaluationRun:
    """Start a run now, calling the tools as the principal. 409 when the suite has no cases, a run of it is still
    going, or a server it covers is not running."""
    suite = await get_modifiable_suite(session, principal, suite_id)
    repository = EvaluationRepository(session)
    cases = await repository.cases(suite.id, data.server_id)
    if not cases:
        scope = " of this server" if data.server_id else ""
        raise Conflict(f"The suite has no cases{scope} to run; add cases first.", code="no_cases")
    if await repository.has_active_run(suite.id):
        raise Conflict("A run of this suite is still queued or running; wait for it to finish.", code="run_in_progress")
    covered = {case.server_id for case in cases}
    found = {server.id: server for server in await _servers(session, covered)}
    stopped = [server for server in found.values() if server.status not in SERVING]
    if stopped:
        names = ", ".join(f"'{server.slug}' ({server.status.value})" for server in stopped)
        raise Conflict(
            f"Not running: {names}. Start the server before evaluating it, or run only the cases of a running "
            "server (server_id).",
            code="server_not_running",
            details={"servers": [{"id": str(s.id), "slug": s.slug, "status": s.status.value} for s in stopped]},
        )
    run = EvaluationRun(
        id=uuid.uuid4(),
        suite_id=suite.id,
        trigger=EvaluationTrigger.MANUAL,
        status=EvaluationStatus.QUEUED,
        server_id=data.server_id,
        run_as=principal.user_id,
        cases=0,
        passed=0,
    )
    await repository.add(run)
    await triggers.enqueue_run(session, run, found.get(cases[0].server_id))
    return run


async def _servers(session: AsyncSession, ids: set[uuid.UUID]) -> list[Server]:
    return list((await session.scalars(sa.select(Server).where(Server.id.in_(ids)))).all())


async def list_runs(
    session: AsyncSession, principal: Principal, suite_id: uuid.UUID, limit: int
) -> list[EvaluationRun]:
    suite = await get_suite(session, principal, suite_id)
    return await EvaluationRepository(session).runs(suite.id, limit)


async def get_run(
    session: AsyncSession, principal: Principal, run_id: uuid.UUID
) -> tuple[EvaluationRun, list[EvaluationResult]]:
    repository = EvaluationRepository(session)
    run = await repository.run(run_id)
    if run is None or await repository.visible_suite(principal, run.suite_id) is None:
        raise NotFound("No evaluation run with this id.")
    return run, await repository.results(run.id)


# -- scoreboard ---------------------------------------------------------------------------------------------------


async def scoreboard(session: AsyncSession, principal: Principal, suite_id: uuid.UUID | None) -> Scoreboard:
    """Per server the principal may see, the latest finished run that evaluated it; ranked by average score (then
    pass rate, then name)."""
    if suite_id is not None:
        await get_suite(session, principal, suite_id)
    repository = EvaluationRepository(session)
    rows = await repository.scores(principal, suite_id)
    named_servers, named_suites = await repository.named(
        [row.server_id for row in rows], list({row.suite_id for row in rows})
    )
    rows = [row for row in rows if row.server_id in named_servers and row.suite_id in named_suites]
    rows.sort(key=lambda row: (-row.average_score, -row.passed / row.cases, named_servers[row.server_id].name))
    entries = [
        ScoreboardEntry(
            rank=index,
            server_id=row.server_id,
            server_name=named_servers[row.server_id].name,
            server_slug=named_servers[row.server_id].slug,
            suite_id=row.suite_id,
            suite_name=named_suites[row.suite_id].name,
            run_id=row.run_id,
            average_score=round(row.average_score, 6),
            pass_rate=round(row.passed / row.cases, 6),
            cases=row.cases,
            passed=row.passed,
            finished_at=row.finished_at,
        )
        for index, row in enumerate(rows, start=1)
    ]
    return Scoreboard(items=entries)
