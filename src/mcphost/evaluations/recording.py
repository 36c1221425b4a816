"""Record and replay: a server's recorded ``tools/call`` invocations (``observability.traces``) become test cases in
one action, each expecting the answer the server gave then.

Only calls that can be replayed faithfully become cases: answered without an error, recorded whole (not cut to the
trace budget, no argument redacted as a secret), of a tool the server still has, and not already a case of the
suite. The others are listed with the reason, so the user knows what to write by hand."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.evaluations import service
from mcphost.evaluations.matching import Output
from mcphost.evaluations.repository import EvaluationRepository
from mcphost.evaluations.schemas import RecordIn, Skipped
from mcphost.models import EvaluationCase, InvocationRecord, MatchMode
from mcphost.observability.payloads import REDACTED
from mcphost.settings import EvaluationSettings

#: Records read per case wanted: room for the ones skipped.
SCAN_FACTOR = 5


async def record_cases(
    session: AsyncSession, settings: EvaluationSettings, principal: Principal, suite_id: uuid.UUID, data: RecordIn
) -> tuple[list[EvaluationCase], list[Skipped]]:
    suite = await service.get_modifiable_suite(session, principal, suite_id)
    server = await service.case_server(session, principal, data.server_id)
    tools = service.tools_of(server)
    if tools is None:
        service.check_tool(server, data.tool or "")  # raises: the server's tools are not known yet
    if data.tool is not None:
        service.check_tool(server, data.tool)
    repository = EvaluationRepository(session)
    seen = {_call_key(case.tool, case.arguments) for case in await repository.cases(suite.id, server.id)}
    recorded = await repository.recorded_ids(suite.id, server.id)
    created: list[EvaluationCase] = []
    skipped: list[Skipped] = []
    for record in await _records(session, server.id, data):
        if len(created) >= data.limit:
            break
        reason, case = _case_of(record, tools or [], data, settings)
        if case is None:
            skipped.append(Skipped(invocation=record.id, reason=reason or "not replayable"))
            continue
        key = _call_key(case.tool, case.arguments)
        if record.id in recorded:
            skipped.append(Skipped(invocation=record.id, reason="already a case of this suite"))
            continue
        if key in seen:
            reason = "the same call (tool and arguments) is already a case of this suite"
            skipped.append(Skipped(invocation=record.id, reason=reason))
            continue
        seen.add(key)
        case.suite_id = suite.id
        created.append(case)
    await service.ensure_room(repository, settings, suite, len(created))
    for case in created:
        await repository.add(case)
    return created, skipped


async def _records(session: AsyncSession, server_id: uuid.UUID, data: RecordIn) -> list[InvocationRecord]:
    statement = sa.select(InvocationRecord).where(
        InvocationRecord.server_id == server_id, InvocationRecord.method == "tools/call"
    )
    if data.tool is not None:
        statement = statement.where(InvocationRecord.name == data.tool)
    if data.since is not None:
        statement = statement.where(InvocationRecord.ts >= data.since)
    statement = statement.order_by(InvocationRecord.id.desc()).limit(data.limit * SCAN_FACTOR)
    return list((await session.scalars(statement)).all())


def _case_of(
    record: InvocationRecord, tools: list[str], data: RecordIn, settings: EvaluationSettings
) -> tuple[str | None, EvaluationCase | None]:
    """The case a record makes, or why it makes none."""
    if record.status != "ok" or record.result is None:
        return "the call was answered with an error", None
    params, result = record.params or {}, record.result
    if _cut(params) or _cut(result):
        return "the record was cut to the trace budget (traces.max_payload_chars); write this case by hand", None
    name, arguments = params.get("name"), params.get("arguments") or {}
    if not isinstance(name, str) or not isinstance(arguments, dict):
        return "the record holds no tool name and arguments", None
    if _redacted(arguments):
        return "an argument was redacted as a secret in the record", None
    if name not in tools:
        return f"the server no longer has the tool '{name}'", None
    if not isinstance(result, dict) or result.get("isError"):
        return "the tool answered with an error", None
    output = Output.of(result)
    expected: Any = output.value if data.match_mode is MatchMode.JSON_SUBSET else output.text
    if data.match_mode is MatchMode.JSON_SUBSET and not isinstance(expected, dict | list):
        return "its answer is not a JSON object or array (json_subset needs one)", None
    limit = settings.max_case_json_chars
    if len(orjson.dumps(arguments)) > limit or len(orjson.dumps(expected)) > limit:
        return f"its arguments or answer are larger than {limit} characters of JSON", None
    case = EvaluationCase(
        id=uuid.uuid4(),
        server_id=record.server_id,
        name=f"{name} (recorded #{record.id})"[:200],
        tool=name,
        arguments=arguments,
        expected=expected,
        match_mode=data.match_mode,
        threshold=data.threshold,
        recorded_from=record.id,
    )
    return None, case


def _cut(value: Any) -> bool:
    return isinstance(value, dict) and value.get("_truncated") is True


def _redacted(value: Any) -> bool:
    if isinstance(value, str):
        return REDACTED in value
    if isinstance(value, dict):
        return any(_redacted(item) for item in value.values())
    if isinstance(value, list):
        return any(_redacted(item) for item in value)
    return False


def _call_key(tool: str, arguments: Any) -> bytes:
    return orjson.dumps([tool, arguments], option=orjson.OPT_SORT_KEYS)
