"""Endpoints of webhooks: the two that receive deliveries (no user credentials: the secret or the signature is the
credential), and the authenticated ones that show the URLs, rotate the secret and list deliveries."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep, WritePrincipal
from mcphost.api.errors import error_response
from mcphost.api.schemas import AUTHENTICATED_ERRORS, Page, error_responses
from mcphost.db.pagination import MAX_LIMIT
from mcphost.errors import RateLimited
from mcphost.gateway.access import RateLimiter
from mcphost.models import DeliveryOutcome, Server, ServerWebhook, WebhookDelivery
from mcphost.webhooks import service
from mcphost.webhooks.schemas import DeliveryOut, WebhookOut, WebhookResult, WebhookSecret

#: The delivery endpoints: their bodies are taken raw (the signature covers the exact bytes), with their own size
#: limit (``webhooks.max_body_bytes``, applied by ``RequestLimitsMiddleware``).
DELIVERY_PATHS = re.compile(r"^/api/servers/[^/]+/(webhook|github)$")

router = APIRouter(prefix="/api/servers", tags=["webhooks"])
DELIVERY_ERRORS = error_responses(400, 401, 404, 413, 422, 429)
PING: dict[int | str, dict[str, Any]] = {200: {"model": WebhookResult, "description": "A ping: the webhook is set up"}}


def rate_limiter(settings_per_minute: float, burst: int) -> RateLimiter:
    """The per-server limit of deliveries, kept on the app (``app.state.webhook_limiter``)."""
    return RateLimiter(settings_per_minute / 60.0, burst)


def _limited(request: Request, server_id: uuid.UUID) -> None:
    limiter: RateLimiter = request.app.state.webhook_limiter
    wait = limiter.retry_after(str(server_id))
    if wait:
        raise RateLimited(
            f"Too many webhook deliveries for this server; try again in {wait} seconds.", retry_after=wait
        )


Limited = Depends(_limited)


def _answer(received: service.Received, response: Response) -> WebhookResult | JSONResponse:
    delivery = received.delivery
    if received.error is not None:
        error = received.error
        return error_response(error.status_code, error.code, error.message, error.details, error.headers)
    response.status_code = status.HTTP_200_OK if received.immediate else status.HTTP_202_ACCEPTED
    ignored = delivery.detail if delivery.outcome is DeliveryOutcome.IGNORED else None
    return WebhookResult(
        outcome=delivery.outcome,
        revision=delivery.revision,
        ignored=ignored,
        detail=delivery.detail,
        delivery=delivery.id,
    )


@router.post(
    "/{server_id}/webhook",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookResult,
    responses=DELIVERY_ERRORS,
    dependencies=[Limited],
    summary="Redeploy the server: the generic webhook, authenticated by the X-Webhook-Secret header",
)
async def generic_webhook(
    server_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    platform: PlatformDep,
    x_webhook_secret: Annotated[str | None, Header(description="The server's webhook secret.")] = None,
) -> Any:
    await request.body()  # read within the size limit, though only the header matters
    received = await service.receive_generic(session, platform, server_id, x_webhook_secret)
    return _answer(received, response)


@router.post(
    "/{server_id}/github",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookResult,
    responses=PING | DELIVERY_ERRORS,
    dependencies=[Limited],
    summary="A GitHub webhook: a push to the server's branch redeploys it (signed with the webhook secret)",
)
async def github_webhook(
    server_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    platform: PlatformDep,
    x_github_event: Annotated[str | None, Header(max_length=100)] = None,
    x_github_delivery: Annotated[str | None, Header(max_length=100)] = None,
    x_hub_signature_256: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    received = await service.receive_github(
        session,
        platform,
        server_id,
        event=x_github_event,
        delivery_id=x_github_delivery,
        signature=x_hub_signature_256,
        body=await request.body(),
        content_type=request.headers.get("content-type"),
    )
    return _answer(received, response)


def webhook_out(platform_url: str, server: Server, webhook: ServerWebhook | None) -> WebhookOut:
    base = f"{platform_url}/api/servers/{server.id}"
    return WebhookOut(
        url=f"{base}/webhook",
        github_url=f"{base}/github",
        has_secret=webhook is not None,
        rotated_at=webhook.rotated_at if webhook is not None else None,
        git_branch=service.branch_of(server) if server.source.get("type") == "git" else None,
        follows_pushes=server.source.get("type") == "git",
    )


@router.get(
    "/{server_id}/webhook", responses=AUTHENTICATED_ERRORS, summary="The server's webhook URLs (not the secret)"
)
async def get_webhook(
    server_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep
) -> WebhookOut:
    server, webhook = await service.webhook_of(session, principal, server_id)
    return webhook_out(platform.settings.effective_public_url, server, webhook)


@router.post(
    "/{server_id}/webhook/rotate",
    responses=AUTHENTICATED_ERRORS,
    summary="Make a new webhook secret, shown once (owner or organisation admin); the old one stops working",
)
async def rotate_webhook(
    server_id: uuid.UUID, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> WebhookSecret:
    server, webhook, secret = await service.rotate(session, platform, principal, server_id)
    shown = webhook_out(platform.settings.effective_public_url, server, webhook)
    return WebhookSecret(**shown.model_dump(), webhook_secret=secret)


@router.get(
    "/{server_id}/webhook/deliveries",
    responses=AUTHENTICATED_ERRORS,
    summary="Deliveries the server's webhooks received, newest first: redeployed, ignored or rejected",
)
async def list_deliveries(
    server_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[DeliveryOut]:
    rows, next_cursor = await service.deliveries(session, principal, server_id, limit=limit, cursor=cursor)
    return Page[DeliveryOut](items=[_delivery_out(row) for row in rows], next_cursor=next_cursor)


def _delivery_out(row: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        received_at=row.received_at,
        endpoint=row.endpoint,
        event=row.event,
        delivery_id=row.delivery_id,
        outcome=row.outcome,
        detail=row.detail,
        revision=row.revision,
    )
