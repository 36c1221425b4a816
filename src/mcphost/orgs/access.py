"""Who may do what in an organisation. Non-members get 404 (the org's existence is not revealed);
members below the needed role get 403. Administrators (with the admin scope) may do anything."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.errors import Forbidden, NotFound
from mcphost.models import Organization, OrgRole
from mcphost.orgs.repository import OrgRepository


async def require_org_role(
    session: AsyncSession,
    principal: Principal,
    org_id: uuid.UUID,
    minimum: OrgRole,
    *,
    for_update: bool = False,
) -> tuple[Organization, OrgRole | None]:
    """The org and the caller's role in it, if the caller has at least ``minimum``."""
    repository = OrgRepository(session)
    org = await repository.get(org_id, for_update=for_update)
    role = await repository.role_of(org_id, principal.user_id) if org is not None else None
    if org is None or (role is None and not principal.is_admin):
        raise NotFound("No organisation with this id.")
    if principal.is_admin:
        return org, role
    assert role is not None
    if not role.at_least(minimum):
        raise Forbidden(
            f"This needs the {minimum.value} role in the organisation; you are {role.value}.",
            code="insufficient_role",
        )
    return org, role
