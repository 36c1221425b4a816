"""Rules of webhooks: who may see and rotate a server's secret, and what a delivery does.

A delivery is checked before anything else: a missing or wrong secret (or GitHub signature) is refused with 401 and
nothing is deployed. A good one redeploys the server through the path of ``redeploy`` and records a revision made by
the webhook, or is ignored with the reason (a GitHub ping, another event, a push to another branch, a server that is
not a git source). Every delivery to an existing server is recorded, refused ones included, so that its owner can see
what reached it; a server keeps its newest ``webhooks.deliveries_kept``."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.errors import AppError, BadRequest, NotFound
from mcphost.models import (
    DeliveryOutcome,
    RevisionActor,
    RevisionReason,
    Server,
    ServerWebhook,
    WebhookDelivery,
)
from mcphost.revisions.record import Trigger
from mcphost.servers import service as servers
from mcphost.servers.permissions import may_own, require_owner
from mcphost.servers.repository import ServerRepository
from mcphost.webhooks import github, secrets
from mcphost.webhooks.repository import DeliveryRepository

if TYPE_CHECKING:
    from mcphost.platform import Platform

GENERIC, GITHUB = "webhook", "github"


def _no_secret(server: Server) -> str:
    return (
        f"No webhook secret; rotate one first (POST /api/servers/{server.id}/webhook/rotate, or "
        "`mcphost servers webhook rotate`)."
    )


class Refused(AppError):
    """A delivery without the right secret or signature (no ``WWW-Authenticate``: the secret is not a bearer
    credential)."""

    status_code = 401
    code = "webhook_refused"


@dataclass(frozen=True)
class Received:
    """What became of a delivery: its record, and the error to answer with when it was refused."""

    delivery: WebhookDelivery
    error: AppError | None = None
    #: The answer is 200 rather than 202 (a GitHub ping: nothing was started).
    immediate: bool = False


@dataclass(frozen=True)
class Delivery:
    endpoint: str
    event: str
    delivery_id: str | None = None


# -- reading and rotating -----------------------------------------------------------------------------------------


async def webhook_of(
    session: AsyncSession, principal: Principal, server_id: uuid.UUID
) -> tuple[Server, ServerWebhook | None]:
    server = await servers.get_visible(session, principal, server_id)
    return server, await session.get(ServerWebhook, server.id)


async def rotate(
    session: AsyncSession, platform: Platform, principal: Principal, server_id: uuid.UUID
) -> tuple[Server, ServerWebhook, str]:
    """A new webhook secret (the old one stops working at once); only the server's owner, an admin of its
    organisation, or an administrator may."""
    server = await servers.get_visible(session, principal, server_id, for_update=True)
    await require_owner(session, principal, server, "rotate its webhook secret")
    plaintext = await secrets.issue(session, platform.keys, server)
    webhook = await session.get(ServerWebhook, server.id)
    assert webhook is not None
    return server, webhook, plaintext


async def may_rotate(session: AsyncSession, principal: Principal, server: Server) -> bool:
    """Whether ``rotate`` would let the principal make a new secret for this (visible) server."""
    return await may_own(session, principal, server)


async def deliveries(
    session: AsyncSession, principal: Principal, server_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[WebhookDelivery], str | None]:
    server = await servers.get_visible(session, principal, server_id)
    return await DeliveryRepository(session).page(server.id, limit=limit, cursor=cursor)


def branch_of(server: Server) -> str | None:
    """The branch a git source follows (None: the repository's default branch)."""
    source = server.source
    value = source.get("ref")
    return str(value) if value else None


# -- deliveries ---------------------------------------------------------------------------------------------------


async def receive_generic(
    session: AsyncSession, platform: Platform, server_id: uuid.UUID, given_secret: str | None
) -> Received:
    """``POST /webhook`` with ``X-Webhook-Secret``: redeploy."""
    server, secret = await _target(session, platform, server_id)
    seen = Delivery(GENERIC, GENERIC)
    if secret is None:
        return await _refuse(session, platform, server, seen, _no_secret(server), "no_webhook_secret")
    if not given_secret or not hmac.compare_digest(given_secret.strip().encode(), secret.encode()):
        why = "The X-Webhook-Secret header is missing." if not given_secret else "The webhook secret is wrong."
        return await _refuse(session, platform, server, seen, why, "invalid_webhook_secret")
    trigger = Trigger(RevisionReason.WEBHOOK, RevisionActor.WEBHOOK, detail="webhook call")
    return await _redeploy(session, platform, server, seen, trigger)


async def receive_github(
    session: AsyncSession,
    platform: Platform,
    server_id: uuid.UUID,
    *,
    event: str | None,
    delivery_id: str | None,
    signature: str | None,
    body: bytes,
    content_type: str | None,
) -> Received:
    """``POST /github``: a signed GitHub event; a push to the server's branch redeploys it."""
    server, secret = await _target(session, platform, server_id)
    seen = Delivery(GITHUB, (event or "unknown")[:100], delivery_id[:100] if delivery_id else None)
    if secret is None:
        return await _refuse(session, platform, server, seen, _no_secret(server), "no_webhook_secret")
    if not github.signature_matches(secret, body, signature):
        why = (
            "The X-Hub-Signature-256 header is missing; set the webhook's secret in GitHub."
            if not signature
            else "The X-Hub-Signature-256 signature does not match the body with this server's webhook secret."
        )
        return await _refuse(session, platform, server, seen, why, "invalid_signature")
    if event == "ping":
        return await _ignore(session, platform, server, seen, "ping: GitHub reached MCP Host", immediate=True)
    if event != "push":
        return await _ignore(session, platform, server, seen, f"{event or 'an unnamed'} event: only push is acted on")
    try:
        push = github.Push.of(github.parse_payload(body, content_type))
    except github.PayloadError as exc:
        return await _refuse(session, platform, server, seen, f"Not a push payload: {exc}.", "invalid_payload", 400)
    return await _on_push(session, platform, server, seen, push)


async def _on_push(
    session: AsyncSession, platform: Platform, server: Server, seen: Delivery, push: github.Push
) -> Received:
    if server.source.get("type") != "git":
        kind = str(server.source.get("type"))
        why = f"the server's source is a {kind}, not a git repository: pushes do not change it"
        return await _ignore(session, platform, server, seen, why)
    branch = branch_of(server) or push.default_branch
    if branch is None:
        return await _ignore(session, platform, server, seen, "the push does not name the repository's default branch")
    if push.ref != f"refs/heads/{branch}":
        why = f"push to {push.ref or 'no ref'}; the server follows refs/heads/{branch}"
        return await _ignore(session, platform, server, seen, why)
    if push.deleted:
        return await _ignore(session, platform, server, seen, f"the branch {branch} was deleted")
    if "commit" in server.source:  # pinned by a rollback: a push to the branch moves it on
        server.source = {key: value for key, value in server.source.items() if key != "commit"}
    trigger = Trigger(RevisionReason.PUSH, RevisionActor.GITHUB, detail=push.describe(branch))
    return await _redeploy(session, platform, server, seen, trigger)


async def _target(session: AsyncSession, platform: Platform, server_id: uuid.UUID) -> tuple[Server, str | None]:
    server = await ServerRepository(session).get(server_id, for_update=True)
    if server is None:
        raise NotFound("No server with this id.")
    return server, await secrets.reveal(session, platform.keys, server.id)


async def _redeploy(
    session: AsyncSession, platform: Platform, server: Server, seen: Delivery, trigger: Trigger
) -> Received:
    server = await servers.act_on(session, server, "redeploy", trigger)
    detail = f"redeployed as revision {server.revision}" + (f" ({trigger.detail})" if trigger.detail else "")
    return Received(await _record(session, platform, server, seen, DeliveryOutcome.REDEPLOYED, detail, server.revision))


async def _ignore(
    session: AsyncSession, platform: Platform, server: Server, seen: Delivery, why: str, *, immediate: bool = False
) -> Received:
    delivery = await _record(session, platform, server, seen, DeliveryOutcome.IGNORED, why)
    return Received(delivery, immediate=immediate)


async def _refuse(
    session: AsyncSession,
    platform: Platform,
    server: Server,
    seen: Delivery,
    why: str,
    code: str,
    status: int = 401,
) -> Received:
    delivery = await _record(session, platform, server, seen, DeliveryOutcome.REJECTED, why)
    error: AppError = Refused(why, code=code) if status == 401 else BadRequest(why, code=code)
    return Received(delivery, error)


async def _record(
    session: AsyncSession,
    platform: Platform,
    server: Server,
    seen: Delivery,
    outcome: DeliveryOutcome,
    detail: str,
    revision: int | None = None,
) -> WebhookDelivery:
    delivery = WebhookDelivery(
        server_id=server.id,
        endpoint=seen.endpoint,
        event=seen.event,
        delivery_id=seen.delivery_id,
        outcome=outcome,
        detail=detail,
        revision=revision,
    )
    return await DeliveryRepository(session).add(delivery, keep=platform.settings.webhooks.deliveries_kept)
