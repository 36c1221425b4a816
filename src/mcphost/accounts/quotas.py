"""Quotas on what users and organisations may own, checked under a lock so concurrent creations cannot
overshoot them."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.locks import advisory_xact_lock
from mcphost.errors import NotFound, QuotaExceeded
from mcphost.models import Organization, User
from mcphost.servers.repository import ServerRepository


def quota_lock(owner_id: uuid.UUID) -> str:
    """The lock held while an owner's servers are counted and added, or while the owner is deleted."""
    return f"quota:servers:{owner_id}"


async def _gone(session: AsyncSession, *, user: User | None, org: Organization | None) -> bool:
    table, row_id = (User, user.id) if user is not None else (Organization, org.id)  # type: ignore[union-attr]
    statement = sa.select(table.id).where(table.id == row_id)
    return await session.scalar(statement) is None


async def ensure_server_quota(
    session: AsyncSession, *, user: User | None = None, org: Organization | None = None
) -> None:
    """Raise ``QuotaExceeded`` when the owner already has as many servers as its quota allows."""
    owner_id: uuid.UUID = user.id if user is not None else org.id  # type: ignore[union-attr]
    await advisory_xact_lock(session, quota_lock(owner_id))
    if await _gone(session, user=user, org=org):
        # Deleted while this request waited for the lock (deleting an owner holds it too).
        raise NotFound("The organisation or account that would own the server no longer exists.")
    repository = ServerRepository(session)
    if user is not None:
        used, limit, whose = await repository.count_owned(user_id=user.id), user.server_quota, "Your"
    else:
        assert org is not None
        used, limit, whose = await repository.count_owned(org_id=org.id), org.server_quota, f"{org.name}'s"
    if used >= limit:
        raise QuotaExceeded(
            f"{whose} server quota is {limit} and {used} are in use; delete one or ask an administrator "
            "for a larger quota.",
            details={"quota": limit, "used": used},
        )


async def servers_owned(session: AsyncSession, user_id: uuid.UUID) -> int:
    """How many servers a user owns personally (what their server quota counts)."""
    return await ServerRepository(session).count_owned(user_id=user_id)
