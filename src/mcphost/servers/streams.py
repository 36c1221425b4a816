"""Live streams of one server (SSE): its status, its usage events and its log lines.

Status and usage come from the event bus. Log lines come from the database (another replica may host the
server), read as soon as this process writes new ones and at least every second otherwise. A stream checks the
caller's credential and access to the server again every heartbeat and ends when either is gone."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from functools import partial

import orjson
from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import authenticate
from mcphost.api.deps import credential_of
from mcphost.errors import AppError
from mcphost.events.base import Event
from mcphost.events.sse import KEEP_ALIVE, ServerSentEvent, last_event_id, sse_response, subscription_stream
from mcphost.models import ServerLog, TokenScope
from mcphost.platform import Platform
from mcphost.servers import logs
from mcphost.servers.observe_schemas import LogLineOut
from mcphost.servers.repository import ServerRepository

POLL_SECONDS = 1.0


def _access_check(request: Request, platform: Platform, server_id: uuid.UUID):  # type: ignore[no-untyped-def]
    credential = credential_of(request)

    async def still_allowed() -> bool:
        if credential is None:
            return False

        async def check(session: AsyncSession) -> bool:
            principal = await authenticate(session, platform.keys, credential)
            visible = await ServerRepository(session).visible(principal, server_id)
            return visible is not None and principal.has(TokenScope.READ)

        try:
            return await platform.db.complete(check)
        except AppError:
            return False

    return still_allowed


def event_stream(
    request: Request,
    platform: Platform,
    server_id: uuid.UUID,
    kinds: frozenset[str],
    first: Sequence[ServerSentEvent] = (),
) -> StreamingResponse:
    target = str(server_id)

    def accept(event: Event) -> bool:
        return event.kind in kinds and event.data.get("id") == target

    subscription = platform.bus.subscribe(last_event_id(request))
    return sse_response(
        subscription_stream(
            request,
            subscription,
            heartbeat=platform.settings.events.sse_heartbeat_seconds,
            accept=accept,
            still_allowed=_access_check(request, platform, server_id),
            first=first,
        )
    )


def log_stream(request: Request, platform: Platform, server_id: uuid.UUID, tail: int) -> StreamingResponse:
    resume = last_event_id(request)
    after_id = int(resume) if resume and resume.isdigit() else None
    return sse_response(_log_lines(request, platform, server_id, after_id, tail))


async def _log_lines(
    request: Request, platform: Platform, server_id: uuid.UUID, after_id: int | None, tail: int
) -> AsyncIterator[bytes]:
    still_allowed = _access_check(request, platform, server_id)
    heartbeat = platform.settings.events.sse_heartbeat_seconds
    loop = asyncio.get_running_loop()
    yield ServerSentEvent(data="", event="ready", retry_ms=2000).encode()
    # The client can go away at any moment: database work runs to completion without it (Database.complete).
    first = await platform.db.complete(
        partial(logs.history, server_id=server_id, since=None, after_id=after_id, limit=5000)
        if after_id is not None
        else partial(logs.tail, server_id=server_id, lines=tail)
    )
    for row in first:
        yield _log_message(row)
        after_id = row.id
    check_at = quiet_until = loop.time() + heartbeat
    while not await request.is_disconnected():
        rows = await platform.db.complete(
            partial(logs.history, server_id=server_id, since=None, after_id=after_id, limit=500)
        )
        for row in rows:
            yield _log_message(row)
            after_id, quiet_until = row.id, loop.time() + heartbeat
        if loop.time() >= check_at:
            if not await still_allowed():
                return
            check_at = loop.time() + heartbeat
        if loop.time() >= quiet_until:
            yield KEEP_ALIVE
            quiet_until = loop.time() + heartbeat
        if not rows:
            await _wait_for_lines(platform)


async def _wait_for_lines(platform: Platform) -> None:
    agent = platform.agent
    if agent is None:
        await asyncio.sleep(POLL_SECONDS)
        return
    with contextlib.suppress(TimeoutError):
        async with agent.logs.written:
            await asyncio.wait_for(agent.logs.written.wait(), POLL_SECONDS)


def _log_message(row: ServerLog) -> bytes:
    body = LogLineOut.model_validate(row).model_dump(mode="json")
    return ServerSentEvent(data=orjson.dumps(body).decode(), event="log", id=str(row.id)).encode()
