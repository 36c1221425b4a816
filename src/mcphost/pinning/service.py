"""Recording what a server declares against what its owners approved, and approving changes.

``record`` runs at every capability sync (a start, a redeploy, a ``list_changed``) in the transaction that stores the
capabilities. The first sync of a server is its baseline: everything is approved as it is. After that, under the
policy ``pin``, a changed or new definition is held; under ``warn`` it is approved at once and the change recorded;
under ``off`` definitions are kept current without notice. The held names are written to ``Server.held`` (what the
gateway reads) and a change of them publishes ``server.updated``, which clears the gateway's cached grants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.db.base import utcnow
from mcphost.db.session import queue_after_commit
from mcphost.errors import ValidationFailed
from mcphost.models import DefinitionPin, PinPolicy, Server
from mcphost.pinning.definitions import declared, digest
from mcphost.pinning.store import held_names, pins_of
from mcphost.servers import service as servers
from mcphost.servers.permissions import require_owner, server_event
from mcphost.servers.service import add_usage


@dataclass
class Recorded:
    """What a sync found: items new or changed since approval (held or, under warn, approved at once)."""

    changed: list[tuple[str, str]] = field(default_factory=list)
    held: dict[str, list[str]] = field(default_factory=dict)


async def record(session: AsyncSession, server: Server, capabilities: dict[str, Any]) -> Recorded:
    """Compare the server's declared definitions with its pins (the server's row is locked by the caller)."""
    pins = await pins_of(session, server.id)
    baseline = not pins
    known = {(pin.kind, pin.name): pin for pin in pins}
    now = utcnow()
    found = Recorded()
    current = declared(capabilities)
    for (kind, name), value in current.items():
        value_digest = digest(value)
        pin = known.get((kind, name))
        if pin is None:
            pin = DefinitionPin(server_id=server.id, kind=kind, name=name, first_seen_at=now, changed_at=now)
            session.add(pin)
            pins.append(pin)
        if pin.current_digest != value_digest:
            pin.current_digest, pin.current_definition, pin.changed_at = value_digest, value, now
        if pin.approved_digest == value_digest:
            continue
        if not baseline and server.pin_policy is not PinPolicy.OFF:
            found.changed.append((kind.value, name))
        if baseline or server.pin_policy is not PinPolicy.PIN:
            pin.approved_digest, pin.approved_definition, pin.approved_at = value_digest, value, now
    for (kind, name), pin in known.items():
        if (kind, name) not in current and pin.current_digest is not None:
            pin.current_digest, pin.current_definition, pin.changed_at = None, None, now
    found.held = held_names(pins, server.pin_policy)
    _publish(session, server, found.held)
    if found.changed:
        outcome = "held" if server.pin_policy is PinPolicy.PIN else "served (policy warn)"
        items = [f"{kind} {name}" for kind, name in found.changed]
        add_usage(session, server, "definitions_changed", {"items": items, "outcome": outcome})
    return found


async def approve(
    session: AsyncSession, server: Server, user_id: uuid.UUID | None, names: list[str] | None
) -> list[DefinitionPin]:
    """Approve the current definitions of the held items named (all of them when ``names`` is None); the pins
    approved. Unknown or not-held names are the caller's to refuse (``held_names``)."""
    pins = await pins_of(session, server.id)
    now = utcnow()
    approved = []
    for pin in pins:
        pending = pin.current_digest is not None and pin.current_digest != pin.approved_digest
        if pending and (names is None or pin.name in names):
            pin.approved_digest, pin.approved_definition = pin.current_digest, pin.current_definition
            pin.approved_at, pin.approved_by = now, user_id
            approved.append(pin)
    held = held_names(pins, server.pin_policy)
    _publish(session, server, held)
    if approved:
        add_usage(session, server, "definitions_approved", {"items": [f"{p.kind.value} {p.name}" for p in approved]})
    return approved


def _publish(session: AsyncSession, server: Server, held: dict[str, list[str]]) -> None:
    if (server.held or {}) != held:
        server.held = held
        queue_after_commit(session, server_event("server.updated", server))


async def approve_held(
    session: AsyncSession, principal: Principal, server_id: uuid.UUID, names: list[str] | None
) -> tuple[Server, list[DefinitionPin]]:
    """``approve`` for a caller: only the owner, an admin of its organisation or an administrator may, and only
    items held now (422 ``not_held`` names the others); the server (locked) and the pins approved."""
    server = await servers.get_visible(session, principal, server_id, for_update=True)
    await require_owner(session, principal, server, "approve its changed definitions")
    if names is not None:
        held = {name for kind in (server.held or {}).values() for name in kind}
        unknown = sorted(set(names) - held)
        if unknown:
            raise ValidationFailed(
                f"Not held on {server.name}: {', '.join(unknown)}. Held now: {', '.join(sorted(held)) or 'nothing'}.",
                code="not_held",
            )
    return server, await approve(session, server, principal.user_id, names)
