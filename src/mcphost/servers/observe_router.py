"""Endpoints to observe a server: logs, usage metrics, live streams, manifest and capabilities."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep
from mcphost.api.schemas import AUTHENTICATED_ERRORS, IsoDateTime
from mcphost.errors import NotFound
from mcphost.events.sse import event_message
from mcphost.servers import logs, service, streams, usage
from mcphost.servers.observe_schemas import CapabilitiesOut, LogLineOut, ManifestOut, MetricsOut
from mcphost.servers.service import server_event

router = APIRouter(prefix="/api/servers/{server_id}", tags=["servers"], responses=AUTHENTICATED_ERRORS)
SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}
}
Tail = Annotated[int, Query(ge=1, le=5000, description="How many of the newest lines.")]


@router.get("/logs", summary="The newest log lines, oldest first")
async def tail_logs(
    server_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, tail: Tail = 100
) -> list[LogLineOut]:
    await service.get_visible(session, principal, server_id)
    return [LogLineOut.model_validate(row) for row in await logs.tail(session, server_id, tail)]


@router.get("/logs/history", summary="Log lines since a time or after a line id, oldest first")
async def log_history(
    server_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    since: IsoDateTime | None = None,
    after_id: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[LogLineOut]:
    await service.get_visible(session, principal, server_id)
    rows = await logs.history(session, server_id, since=since, after_id=after_id, limit=limit)
    return [LogLineOut.model_validate(row) for row in rows]


@router.get("/logs/stream", response_class=StreamingResponse, responses=SSE, summary="Live log lines (SSE)")
async def stream_logs(
    server_id: uuid.UUID,
    request: Request,
    principal: ReadPrincipal,
    session: SessionDep,
    platform: PlatformDep,
    tail: Tail = 100,
) -> StreamingResponse:
    await service.get_visible(session, principal, server_id)
    return streams.log_stream(request, platform, server_id, tail)


@router.get(
    "/status/stream",
    response_class=StreamingResponse,
    responses=SSE,
    summary="Live status (SSE): the current status first, then every change",
)
async def stream_status(
    server_id: uuid.UUID, request: Request, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep
) -> StreamingResponse:
    server = await service.get_visible(session, principal, server_id)
    now = server_event("server.status", server, status=server.status.value, reason=server.status_reason)
    return streams.event_stream(request, platform, server_id, frozenset({"server.status"}), first=[event_message(now)])


@router.get("/metrics", summary="Usage events and their counts per interval")
async def metrics(
    server_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    interval: usage.Interval = "hour",
    since: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    kind: Annotated[list[str] | None, Query(max_length=20, description="Only these kinds of event.")] = None,
) -> MetricsOut:
    await service.get_visible(session, principal, server_id)
    return await usage.metrics(session, server_id, interval=interval, since=since, limit=limit, kinds=kind or [])


@router.get("/metrics/stream", response_class=StreamingResponse, responses=SSE, summary="Live usage events (SSE)")
async def stream_metrics(
    server_id: uuid.UUID, request: Request, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep
) -> StreamingResponse:
    await service.get_visible(session, principal, server_id)
    return streams.event_stream(request, platform, server_id, frozenset({"server.usage"}))


@router.get("/manifest", summary="What the server said about itself at its last start")
async def manifest(server_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> ManifestOut:
    server = await service.get_visible(session, principal, server_id)
    if server.manifest is None:
        raise NotFound("The server has not completed a start yet, so it has no manifest.", code="not_synced")
    return ManifestOut.model_validate(server.manifest)


@router.get("/capabilities", summary="Its tools, resources, resource templates and prompts")
async def capabilities(server_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> CapabilitiesOut:
    server = await service.get_visible(session, principal, server_id)
    if server.capabilities is None:
        raise NotFound("The server has not completed a start yet, so its capabilities are unknown.", code="not_synced")
    return CapabilitiesOut(**server.capabilities, synced_at=server.capabilities_synced_at)
