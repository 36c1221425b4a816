"""The live event stream of what the caller may see."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep
from mcphost.api.schemas import AUTHENTICATED_ERRORS
from mcphost.events.audience import Audience
from mcphost.events.sse import last_event_id, sse_response, subscription_stream

router = APIRouter(prefix="/api/events", tags=["events"], responses=AUTHENTICATED_ERRORS)


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
    summary="Live events (SSE); reconnect with Last-Event-ID to resume",
)
async def stream(request: Request, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep) -> StreamingResponse:
    audience = await Audience.load(session, principal)
    subscription = platform.bus.subscribe(last_event_id(request))
    heartbeat = platform.settings.events.sse_heartbeat_seconds
    return sse_response(
        subscription_stream(request, subscription, heartbeat=heartbeat, accept=audience.accept)
    )

