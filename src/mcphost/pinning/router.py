"""Endpoints of pins: what a server declares against what was approved, and approving held changes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from mcphost.api.deps import ReadPrincipal, SessionDep, WritePrincipal
from mcphost.api.schemas import AUTHENTICATED_ERRORS, error_responses
from mcphost.models import DefinitionPin, PinPolicy
from mcphost.pinning import service
from mcphost.pinning.schemas import ApproveIn, ApproveOut, PinOut, PinsOut
from mcphost.pinning.store import pins_of
from mcphost.servers import service as servers

router = APIRouter(prefix="/api/servers", tags=["pins"], responses=AUTHENTICATED_ERRORS)


def pin_out(pin: DefinitionPin, policy: PinPolicy) -> PinOut:
    differs = pin.current_digest != pin.approved_digest
    state = (
        "gone"
        if pin.current_digest is None
        else "approved"
        if not differs
        else "held"
        if policy is PinPolicy.PIN
        else "changed"
    )
    return PinOut(
        kind=pin.kind,
        name=pin.name,
        state=state,
        approved=pin.approved_definition,
        current=pin.current_definition,
        approved_at=pin.approved_at,
        approved_by=pin.approved_by,
        first_seen_at=pin.first_seen_at,
        changed_at=pin.changed_at,
    )


@router.get("/{server_id}/pins", summary="The server's tools, prompts and resources as approved and as declared now")
async def list_pins(server_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> PinsOut:
    server = await servers.get_visible(session, principal, server_id)
    pins = await pins_of(session, server.id)
    return PinsOut(
        policy=server.pin_policy, held=dict(server.held or {}), items=[pin_out(p, server.pin_policy) for p in pins]
    )


@router.post(
    "/{server_id}/pins/approve",
    summary="Approve the changed definitions of held items (all of them, or those named); owners only",
    responses=error_responses(409),
)
async def approve(server_id: uuid.UUID, body: ApproveIn, principal: WritePrincipal, session: SessionDep) -> ApproveOut:
    server, approved = await service.approve_held(session, principal, server_id, body.names)
    return ApproveOut(approved=[pin_out(pin, server.pin_policy) for pin in approved], held=dict(server.held or {}))
