"""The live event stream of what the caller may see."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep, credential_of
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
async def stream(
    request: Request, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep
) -> StreamingResponse:
    # Subscribe before reading memberships: a membership committed in between is then either in what is read
    # or among the events this subscription receives, never lost between the two.
    subscription = platform.bus.subscribe(last_event_id(request))
    try:
        audience = await Audience.load(session, principal)
    except BaseException:
        subscription.close()
        raise
    credential = credential_of(request)

    async def still_allowed() -> bool:
        """The stream outlives the request that authenticated it: sign-out, a revoked token or a disabled
        account must end it too, and a changed role or membership must change what it shows."""
        return credential is not None and await audience.recheck(platform.db, platform.keys, credential)

    return sse_response(
        subscription_stream(
            request,
            subscription,
            heartbeat=platform.settings.events.sse_heartbeat_seconds,
            accept=audience.accept,
            recheck=audience.concerns_access,
            still_allowed=still_allowed,
        )
    )
