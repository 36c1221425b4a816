"""Running a workflow: the durable job ``workflow.run`` executes one queued run.

Steps start as soon as every step they need has succeeded, up to ``workflows.max_parallel_steps`` at once; each
attempt renders the step's arguments from the run's input and the outputs of the steps before it, calls the tool as
the workflow's owner would (``ToolCaller``: the same path as the playground, so held or disabled tools are refused
and every call is traced), and is retried with backoff after a failure that another try could fix. A step whose
arguments cannot be rendered (a missing output field) fails at once, and the steps after it are skipped.

Everything is written as it happens, so a run survives the process: when a worker stops, its job goes back to the
queue and the next worker resumes the run (finished steps keep their outputs, interrupted ones run again).
Cancellation is a flag on the run, looked at twice a second while it runs."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson

from mcphost.db.base import utcnow
from mcphost.db.session import Database
from mcphost.errors import AppError
from mcphost.gateway.withheld import Withheld, withheld_for
from mcphost.jobs.registry import JobContext
from mcphost.models import DesiredState, RunStatus, Server, ServerStatus, StepStatus, User, WorkflowRun
from mcphost.servers.service import get_invocable
from mcphost.settings import WorkflowSettings
from mcphost.workflows.graph import sinks
from mcphost.workflows.outputs import ToolAnswer, ToolFailure, output_of
from mcphost.workflows.repository import RunRepository
from mcphost.workflows.service import acting_as
from mcphost.workflows.templates import RenderError, render

log = logging.getLogger(__name__)

CANCEL_POLL_SECONDS: Final = 0.5
#: Extra time beyond a step's own timeout before the engine stops waiting on the call itself.
CALL_GRACE_SECONDS: Final = 5.0
SERVER_POLL_SECONDS: Final = 0.2
#: Statuses of a server on its way to running.
COMING_UP: Final = frozenset(
    {ServerStatus.PENDING, ServerStatus.INSTALLING, ServerStatus.CLONING, ServerStatus.BUILDING, ServerStatus.PUSHING,
     ServerStatus.STARTING}
)  # fmt: skip
FINISHED_STEPS: Final = frozenset({StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED})

#: Calls one tool of a server as a principal: (server, principal, withheld, tool, arguments, timeout) → the answer.
ToolCaller = Callable[[Server, Any, Withheld, str, dict[str, Any], float], Awaitable[ToolAnswer]]


class _Cancelled(Exception):
    """The run was cancelled by a user while a step was between attempts."""


@dataclass
class _Run:
    id: uuid.UUID
    workflow_id: uuid.UUID
    owner: User
    input: dict[str, Any]
    steps: dict[str, dict[str, Any]]
    output: Any
    status: dict[str, StepStatus]
    outputs: dict[str, Any]
    attempts: dict[str, int]
    errors: dict[str, str]


class WorkflowEngine:
    def __init__(self, db: Database, settings: WorkflowSettings, call_tool: ToolCaller) -> None:
        self.db = db
        self.settings = settings
        self.call_tool = call_tool

    async def handle(self, context: JobContext) -> dict[str, Any]:
        """The job handler: run (or resume) the run named in the payload."""
        run_id = uuid.UUID(str(context.payload["run_id"]))
        status = await self.execute(run_id)
        return {"run_id": str(run_id), "status": status.value if status else "gone"}

    async def execute(self, run_id: uuid.UUID) -> RunStatus | None:
        run = await self._begin(run_id)
        if run is None:
            async with self.db.session_scope() as session:
                found = await RunRepository(session).status(run_id)
            return found[0] if found else None
        cancelled = await self._run_steps(run)
        return await self._finish(run, cancelled=cancelled)

    # -- state in the database ------------------------------------------------------------------------------------

    async def _begin(self, run_id: uuid.UUID) -> _Run | None:
        """Mark the run running and load it; None when it is gone, finished or cancelled before it started."""
        async with self.db.session_scope() as session:
            runs = RunRepository(session)
            run = await runs.get(run_id, for_update=True)
            if run is None or run.status.finished:
                return None
            owner = await session.get(User, run.owner_user_id)
            rows = await runs.steps(run_id)
            if owner is None or run.cancel_requested:
                _close(run, rows, RunStatus.CANCELLED, "Cancelled before it started.")
                return None
            run.status = RunStatus.RUNNING
            run.started_at = run.started_at or utcnow()
            for row in rows:  # interrupted by a stopped worker: run again
                if row.status is StepStatus.RUNNING:
                    row.status = StepStatus.PENDING
            return _Run(
                id=run.id,
                workflow_id=run.workflow_id,
                owner=owner,
                input=dict(run.input),
                steps={step["id"]: step for step in run.definition["steps"]},
                output=run.definition.get("output"),
                status={row.step_id: row.status for row in rows},
                outputs={row.step_id: row.output for row in rows if row.status is StepStatus.SUCCEEDED},
                attempts={row.step_id: row.attempts for row in rows},
                errors={},
            )

    async def _record(self, run: _Run, step_id: str, **values: Any) -> None:
        async with self.db.session_scope() as session:
            row = await RunRepository(session).step(run.id, step_id)
            if row is None:
                return
            for name, value in values.items():
                setattr(row, name, value)
        if "status" in values:
            run.status[step_id] = values["status"]

    async def _cancel_requested(self, run_id: uuid.UUID) -> bool:
        async with self.db.session_scope() as session:
            found = await RunRepository(session).status(run_id)
        return found is None or found[1]

    async def _finish(self, run: _Run, *, cancelled: bool) -> RunStatus:
        status, output, error = RunStatus.SUCCEEDED, None, None
        failed = [step for step, state in run.status.items() if state is StepStatus.FAILED]
        if cancelled:
            status, error = RunStatus.CANCELLED, "Cancelled while running."
        elif failed:
            status = RunStatus.FAILED
            error = "; ".join(f"step '{step}' failed: {run.errors.get(step, 'see the step')}" for step in failed)
        else:
            try:
                output = self._output(run)
            except (RenderError, ToolFailure) as exc:
                status, error = RunStatus.FAILED, f"The workflow's output could not be made: {exc}"
        async with self.db.session_scope() as session:
            runs = RunRepository(session)
            row = await runs.get(run.id, for_update=True)
            if row is None:
                return status
            _close(row, await runs.steps(run.id), status, error)
            row.output = output
        return status

    def _output(self, run: _Run) -> Any:
        context = self._context(run)
        if run.output is not None:
            value = render(run.output, context)
        else:
            final = sinks({step: definition["needs"] for step, definition in run.steps.items()})
            value = run.outputs.get(final[0]) if len(final) == 1 else {step: run.outputs.get(step) for step in final}
        self._check_size(value, "The output")
        return value

    # -- scheduling ---------------------------------------------------------------------------------------------

    async def _run_steps(self, run: _Run) -> bool:
        """Run every step that can run; True when the run was cancelled."""
        limit = asyncio.Semaphore(self.settings.max_parallel_steps)
        tasks: dict[asyncio.Task[None], str] = {}
        try:
            while True:
                await self._skip_blocked(run)
                started = set(tasks.values())
                for step_id in self._ready(run):
                    if step_id not in started:
                        tasks[asyncio.create_task(self._step(run, step_id, limit), name=f"step:{step_id}")] = step_id
                if not tasks:
                    return False
                done, _ = await asyncio.wait(tasks, timeout=CANCEL_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    del tasks[task]
                    if not task.cancelled() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
                if await self._cancel_requested(run.id):
                    await self._cancel(run, tasks)
                    return True
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _ready(self, run: _Run) -> list[str]:
        return [
            step_id
            for step_id, step in run.steps.items()
            if run.status.get(step_id) is StepStatus.PENDING
            and all(run.status.get(needed) is StepStatus.SUCCEEDED for needed in step["needs"])
        ]

    async def _skip_blocked(self, run: _Run) -> None:
        changed = True
        while changed:
            changed = False
            for step_id, step in run.steps.items():
                if run.status.get(step_id) is not StepStatus.PENDING:
                    continue
                blocked = [n for n in step["needs"] if run.status.get(n) in (StepStatus.FAILED, StepStatus.SKIPPED)]
                if blocked:
                    reason = f"Skipped: step '{blocked[0]}' {run.status[blocked[0]].value}."
                    await self._record(run, step_id, status=StepStatus.SKIPPED, error=reason)
                    changed = True

    async def _cancel(self, run: _Run, tasks: dict[asyncio.Task[None], str]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for step_id, state in list(run.status.items()):
            if state in (StepStatus.PENDING, StepStatus.RUNNING):
                await self._record(run, step_id, status=StepStatus.CANCELLED, error="Cancelled.", finished_at=utcnow())
        tasks.clear()

    # -- one step -----------------------------------------------------------------------------------------------

    async def _step(self, run: _Run, step_id: str, limit: asyncio.Semaphore) -> None:
        step = run.steps[step_id]
        async with limit:
            started_at, started = utcnow(), time.perf_counter()
            await self._record(run, step_id, status=StepStatus.RUNNING, started_at=started_at, error=None)
            try:
                output, arguments = await self._attempts(run, step_id, step)
            except ToolFailure as exc:
                run.errors[step_id] = str(exc)
                await self._record(
                    run,
                    step_id,
                    status=StepStatus.FAILED,
                    error=str(exc),
                    input=exc.arguments,
                    attempts=run.attempts[step_id],
                    finished_at=utcnow(),
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                )
                return
            run.outputs[step_id] = output
            await self._record(
                run,
                step_id,
                status=StepStatus.SUCCEEDED,
                output=output,
                input=arguments,
                attempts=run.attempts[step_id],
                finished_at=utcnow(),
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )

    async def _attempts(self, run: _Run, step_id: str, step: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        retry = step["retry"]
        total = int(retry["attempts"])
        done = run.attempts.get(step_id, 0)
        # A resumed step keeps its count, but always gets at least one more try.
        remaining = max(total - done, 1)
        try:
            arguments = render(step["arguments"], self._context(run))
        except RenderError as exc:
            raise ToolFailure(f"Its arguments could not be rendered: {exc}", None) from None
        self._check_size(arguments, "The rendered arguments", limit=self.settings.max_argument_bytes)
        for attempt in range(1, remaining + 1):
            run.attempts[step_id] = done + attempt
            await self._record(run, step_id, attempts=run.attempts[step_id], input=arguments)
            try:
                output = await self._call(run, step, arguments)
            except ToolFailure as exc:
                exc.arguments = arguments
                if not exc.retryable or attempt == remaining:
                    if total > 1 and exc.retryable:
                        raise ToolFailure(f"{exc} (after {run.attempts[step_id]} attempts)", arguments) from None
                    raise
                delay = float(retry["backoff_seconds"]) * float(retry["backoff_multiplier"]) ** (attempt - 1)
                log.info("workflow run %s: step %s attempt %d failed (%s); retrying", run.id, step_id, attempt, exc)
                await asyncio.sleep(delay)
                continue
            self._check_size(output, "The tool's output")
            return output, arguments
        raise AssertionError("unreachable")

    async def _call(self, run: _Run, step: dict[str, Any], arguments: dict[str, Any]) -> Any:
        principal = acting_as(run.owner, run.workflow_id)
        timeout = float(step["timeout_seconds"])
        deadline = time.monotonic() + timeout
        while True:
            async with self.db.session_scope() as session:
                try:
                    server = await get_invocable(session, principal, uuid.UUID(step["server_id"]))
                except AppError:
                    raise ToolFailure(
                        "Its server no longer exists, or the workflow's owner can no longer call its tools.",
                        arguments,
                        retryable=False,
                    ) from None
                withheld = await withheld_for(session, server, run.owner, admin=False)
            # A server on its way up (after a restart of the platform, a redeploy) is waited for within the step's
            # timeout rather than failing the attempt; one that is stopped or broken fails it.
            if server.desired_state is not DesiredState.RUNNING or server.status not in COMING_UP:
                break
            if time.monotonic() >= deadline:
                raise ToolFailure(
                    f"The server '{server.slug}' was still {server.status.value} after {timeout:g} s.", None
                )
            await asyncio.sleep(SERVER_POLL_SECONDS)
        try:
            answer = await asyncio.wait_for(
                self.call_tool(server, principal, withheld, step["tool"], arguments, timeout),
                timeout + CALL_GRACE_SECONDS,
            )
        except TimeoutError:
            raise ToolFailure(f"The tool did not answer within {timeout:g} s.", arguments) from None
        except AppError as exc:  # the server is not running (409), or unavailable
            raise ToolFailure(exc.message, arguments) from None
        return output_of(answer, timeout)

    # -- helpers ------------------------------------------------------------------------------------------------

    def _context(self, run: _Run) -> dict[str, Any]:
        return {"input": run.input, "steps": {step: {"output": value} for step, value in run.outputs.items()}}

    def _check_size(self, value: Any, what: str, *, limit: int | None = None) -> None:
        limit = limit or self.settings.max_output_bytes
        try:
            size = len(orjson.dumps(value))
        except orjson.JSONEncodeError as exc:  # nested deeper than JSON is written here (a hostile server)
            raise ToolFailure(f"{what} cannot be stored as JSON: {exc}.", None, retryable=False) from None
        if size > limit:
            raise ToolFailure(f"{what} is {size} bytes, more than the {limit} a workflow keeps.", None, retryable=False)


def _close(run: WorkflowRun, rows: list[Any], status: RunStatus, error: str | None) -> None:
    now = utcnow()
    run.status, run.error, run.finished_at = status, error, now
    for row in rows:
        if row.status not in FINISHED_STEPS:
            row.status = StepStatus.CANCELLED if status is RunStatus.CANCELLED else StepStatus.SKIPPED
            row.finished_at = row.finished_at or (now if row.started_at else None)
