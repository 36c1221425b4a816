"""Who may use a server (change it, call its tools, and have the keys they created honoured), and the events a
server's changes publish. Kept apart from ``service`` so that ``keys`` and the gateway can use them without the
whole service module (which creates keys itself)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.errors import Forbidden, NotFound
from mcphost.events import Event
from mcphost.models import OrgRole, Server, User
from mcphost.orgs.access import require_org_role
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


async def require_owner(session: AsyncSession, principal: Principal, server: Server, doing: str) -> None:
    """Only the server's owner, an admin of its organisation or an administrator may do this (403 otherwise):
    rotating its webhook secret, approving its changed definitions."""
    if principal.is_admin:
        return
    if server.org_id is not None:
        await require_org_role(session, principal, server.org_id, OrgRole.ADMIN)
    elif server.owner_user_id != principal.user_id:
        raise Forbidden(f"Only the server's owner can {doing}.", code="insufficient_role")


async def may_own(session: AsyncSession, principal: Principal, server: Server) -> bool:
    """Whether ``require_owner`` lets the principal act as this (visible) server's owner."""
    try:
        await require_owner(session, principal, server, "do this")
    except (Forbidden, NotFound):
        return False
    return True


def server_event(kind: str, server: Server, **data: Any) -> Event:
    payload = {"id": str(server.id), "slug": server.slug, "name": server.name, **data}
    return Event(kind, payload, user_id=server.owner_user_id, org_id=server.org_id)
