"""Reading a server's pins and which of them are held; below the services that change servers, so that they can
ask too (a changed pin policy holds or releases items at once)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.models import DefinitionPin, PinPolicy


def held_names(pins: list[DefinitionPin], policy: PinPolicy) -> dict[str, list[str]]:
    """The names held now, by kind: declared items whose definition is not the approved one (policy pin only)."""
    if policy is not PinPolicy.PIN:
        return {}
    held: dict[str, list[str]] = {}
    for pin in pins:
        if pin.current_digest is not None and pin.current_digest != pin.approved_digest:
            held.setdefault(pin.kind.value, []).append(pin.name)
    return {kind: sorted(names) for kind, names in sorted(held.items())}


async def pins_of(session: AsyncSession, server_id: uuid.UUID) -> list[DefinitionPin]:
    rows = await session.scalars(
        sa.select(DefinitionPin)
        .where(DefinitionPin.server_id == server_id)
        .order_by(DefinitionPin.kind, DefinitionPin.name)
    )
    return list(rows)
