"""Who may use a server (change it, call its tools, and have the keys they created honoured), and the events a
server's changes publish. Kept apart from ``service`` so that ``keys`` and the gateway can use them without the
whole service module (which creates keys itself)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.events import Event
from mcphost.models import OrgRole, Server, User
from mcphost.orgs.repository import OrgRepository


async def may_use(session: AsyncSession, user: User, server: Server, *, admin: bool) -> bool:
    """Whether this account may change and call this server: an active account that owns it, is at least a
    member of its organisation (viewers only read), or is an administrator (``admin``: the caller's admin power,
    which for a principal also needs the admin scope). One query at most."""
    if not user.is_active:
        return False
    if admin:
        return True
    if server.org_id is None:
        return server.owner_user_id == user.id
    role = await OrgRepository(session).role_of(server.org_id, user.id)
    return role is not None and role.at_least(OrgRole.MEMBER)


async def who_may_use(session: AsyncSession, users: list[User], server: Server) -> dict[uuid.UUID, bool]:
    """``may_use`` for several accounts at once (their own admin power), in one query at most."""
    roles = (
        await OrgRepository(session).roles_of(server.org_id, [user.id for user in users])
        if server.org_id is not None
        else {}
    )

    def allowed(user: User) -> bool:
        if not user.is_active:
            return False
        if user.is_admin:
            return True
        if server.org_id is None:
            return server.owner_user_id == user.id
        role = roles.get(user.id)
        return role is not None and role.at_least(OrgRole.MEMBER)

    return {user.id: allowed(user) for user in users}


def server_event(kind: str, server: Server, **data: Any) -> Event:
    payload = {"id": str(server.id), "slug": server.slug, "name": server.name, **data}
    return Event(kind, payload, user_id=server.owner_user_id, org_id=server.org_id)
