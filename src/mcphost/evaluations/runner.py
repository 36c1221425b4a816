"""Carrying out a run: the ``evaluation.run`` job calls each case's tool as the run's user, through the same path
as the playground and the MCP endpoint (access rules, withheld tools, relay, timeouts, traces), scores the answer
and records a result per case as it goes, so a run's page fills in live.

The runner is given a ``ToolCaller`` (``wiring.GatewayCaller`` in the app) instead of importing the gateway: the
gateway sits above the platform, and this package below it. A case that cannot run (its server stopped, its user
no longer allowed, a tool error) gets a result with score 0 and the reason; the run goes on with the others. A job
attempt that starts again (its worker died) starts the run over."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from mcphost.db.base import utcnow
from mcphost.db.session import Database, queue_after_commit
from mcphost.errors import AppError
from mcphost.evaluations.matching import Output, as_text, score
from mcphost.evaluations.repository import FINISHED, EvaluationRepository
from mcphost.events import Event
from mcphost.jobs.registry import JobContext
from mcphost.models import (
    EvaluationCase,
    EvaluationResult,
    EvaluationRun,
    EvaluationStatus,
    EvaluationSuite,
    MatchMode,
    Server,
    ServerStatus,
    User,
)
from mcphost.observability.payloads import clean_text
from mcphost.servers.permissions import may_use
from mcphost.settings import EvaluationSettings

log = logging.getLogger(__name__)
SERVING = frozenset({ServerStatus.RUNNING, ServerStatus.UPDATING})
#: Tool errors and JSON-RPC errors are kept to this many characters in a result's error.
ERROR_CHARS = 2000


@dataclass(frozen=True)
class Answer:
    """What a server answered to ``tools/call``: its result or its JSON-RPC error, and how long it took."""

    result: dict[str, Any] | None
    error: dict[str, Any] | None
    duration_ms: float


class ToolCaller(Protocol):
    async def __call__(self, server: Server, user: User, tool: str, arguments: dict[str, Any]) -> Answer:
        """Call the tool as ``user`` would; raises ``AppError`` when the server cannot be reached."""
        ...


@dataclass
class Outcome:
    passed: bool
    score: float
    actual: Any
    duration_ms: float
    error: str | None


class EvaluationRunner:
    """The handler of ``evaluation.run`` jobs."""

    def __init__(self, db: Database, settings: EvaluationSettings, caller: ToolCaller) -> None:
        self.db = db
        self.settings = settings
        self.caller = caller

    async def handle(self, context: JobContext) -> dict[str, Any] | None:
        run_id = uuid.UUID(str(context.payload["run_id"]))
        try:
            return await self.execute(run_id)
        except Exception as exc:  # the run's own record must say it failed, whatever broke
            log.exception("evaluation run %s failed", run_id)
            await self._finish(run_id, error=f"The run stopped on an internal error: {type(exc).__name__}: {exc}")
            return {"error": str(exc)[:ERROR_CHARS]}

    async def execute(self, run_id: uuid.UUID) -> dict[str, Any]:
        async with self.db.session_scope() as session:
            repository = EvaluationRepository(session)
            run = await repository.run(run_id, for_update=True)
            if run is None or run.status in FINISHED:
                return {"skipped": "the run no longer exists or has finished"}
            cases = await repository.cases(run.suite_id, run.server_id)
            await repository.clear_results(run.id)  # a new attempt starts over
            run.status, run.started_at, run.cases, run.passed, run.error = (
                EvaluationStatus.RUNNING,
                utcnow(),
                len(cases),
                0,
                None,
            )
            user = await session.get(User, run.run_as) if run.run_as is not None else None
            suite = await repository.suite(run.suite_id)
            if suite is not None:
                queue_after_commit(session, _event(suite, run))
        for case in cases:
            outcome = await self._evaluate(case, user)
            async with self.db.session_scope() as session:
                session.add(
                    EvaluationResult(
                        run_id=run_id,
                        case_id=case.id,
                        server_id=case.server_id,
                        case_name=case.name,
                        tool=case.tool,
                        match_mode=case.match_mode,
                        passed=outcome.passed,
                        score=outcome.score,
                        actual=outcome.actual,
                        duration_ms=outcome.duration_ms,
                        error=outcome.error,
                    )
                )
        return await self._finish(run_id)

    async def _evaluate(self, case: EvaluationCase, user: User | None) -> Outcome:
        async with self.db.session_scope() as session:
            server = await session.get(Server, case.server_id)
            if server is None:
                return _failed("The server no longer exists.")
            if user is None or not user.is_active:
                return _failed(
                    "The user this run calls the tools as no longer exists or is disabled; run the suite yourself, "
                    "or recreate it."
                )
            if server.status not in SERVING:
                return _failed(f"Server '{server.slug}' is not running ({server.status.value}); start it.")
            if not await may_use(session, user, server, admin=user.is_admin):
                return _failed(f"{user.email} may not call the tools of server '{server.slug}'.")
        try:
            answer = await self.caller(server, user, case.tool, dict(case.arguments or {}))
        except AppError as exc:
            return _failed(exc.message)
        except (OSError, TimeoutError) as exc:
            return _failed(f"The call failed: {type(exc).__name__}: {exc}")
        if answer.error is not None:
            message = f"JSON-RPC error {answer.error.get('code')}: {answer.error.get('message')}"
            return _failed(clean_text(message, ERROR_CHARS), answer.duration_ms)
        output = Output.of(answer.result)
        if (answer.result or {}).get("isError"):
            text = self._kept(output.text)
            reason = clean_text(f"The tool answered with an error: {output.text}", ERROR_CHARS)
            return _failed(reason, answer.duration_ms, text)
        scored = score(case.match_mode, case.expected, output, case.threshold)
        compared = output.text if _compares_text(case) else output.value
        return Outcome(scored.passed, scored.score, self._kept(compared), answer.duration_ms, None)

    def _kept(self, value: Any) -> Any:
        """The answer as stored: cut to ``max_output_chars`` (a JSON value too long becomes its cut text)."""
        limit = self.settings.max_output_chars
        if isinstance(value, str):
            return clean_text(value, limit)
        try:
            encoded = orjson.dumps(value)
        except orjson.JSONEncodeError:  # an integer beyond 64 bits: keep it as text
            encoded = b"\\u0000"
        if len(encoded) <= limit and b"\\u0000" not in encoded:
            return value
        return clean_text(as_text(value), limit)  # too long, or text no database can hold (NUL)

    async def _finish(self, run_id: uuid.UUID, *, error: str | None = None) -> dict[str, Any]:
        async with self.db.session_scope() as session:
            repository = EvaluationRepository(session)
            run = await repository.run(run_id, for_update=True)
            if run is None:
                return {"skipped": "the run was deleted"}
            results = await repository.results(run_id)
            run.passed = sum(1 for result in results if result.passed)
            run.cases = max(run.cases, len(results))
            run.average_score = round(sum(result.score for result in results) / len(results), 6) if results else None
            run.finished_at = utcnow()
            if error is not None:
                run.status, run.error = EvaluationStatus.ERROR, error[:ERROR_CHARS]
            else:
                run.status = EvaluationStatus.PASSED if run.passed == run.cases else EvaluationStatus.FAILED
                run.error = _summary(results)
            suite = await repository.suite(run.suite_id)
            await repository.forget_old_runs(run.suite_id, self.settings.runs_kept_per_suite)
            if suite is not None:
                queue_after_commit(session, _event(suite, run))
            return {"status": run.status.value, "passed": run.passed, "cases": run.cases}


def _failed(reason: str, duration_ms: float = 0.0, actual: Any = None) -> Outcome:
    return Outcome(False, 0.0, actual, round(duration_ms, 3), reason)


def _compares_text(case: EvaluationCase) -> bool:
    return case.match_mode is not MatchMode.JSON_SUBSET and (
        case.match_mode is not MatchMode.EXACT or isinstance(case.expected, str)
    )


def _summary(results: list[EvaluationResult]) -> str | None:
    """The run's error: which cases could not run at all (a stopped server...), grouped by reason."""
    reasons: dict[str, int] = {}
    for result in results:
        if result.error is not None and result.actual is None and not result.duration_ms:
            reasons[result.error] = reasons.get(result.error, 0) + 1
    if not reasons:
        return None
    return "; ".join(f"{reason} ({count} case{'s' if count != 1 else ''} not run)" for reason, count in reasons.items())


def _event(suite: EvaluationSuite, run: EvaluationRun) -> Event:
    data = {
        "id": str(run.id),
        "suite_id": str(suite.id),
        "suite": suite.name,
        "status": run.status.value,
        "trigger": run.trigger.value,
        "cases": run.cases,
        "passed": run.passed,
        "average_score": run.average_score,
    }
    return Event("evaluation.run", data, user_id=suite.owner_user_id, org_id=suite.org_id)
