"""Which events a principal may see: administrators all; others those addressed to them or to an org they
belong to. Membership changes arrive as events, so a long-lived stream keeps its org set current; changes to
the account itself (``user.*`` events addressed to it) make the stream check its credentials again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal, authenticate
from mcphost.db.session import Database
from mcphost.errors import AppError
from mcphost.events.base import Event
from mcphost.models import TokenScope
from mcphost.orgs.repository import OrgRepository
from mcphost.security.keys import KeyRing

_JOINED = frozenset({"org.created", "org.member.added"})
_LEFT = frozenset({"org.member.removed"})


@dataclass
class Audience:
    user_id: uuid.UUID
    is_admin: bool
    org_ids: set[uuid.UUID] = field(default_factory=set)

    @classmethod
    async def load(cls, session: AsyncSession, principal: Principal) -> Audience:
        org_ids = await OrgRepository(session).org_ids_of(principal.user_id)
        return cls(principal.user_id, principal.is_admin, org_ids)

    async def recheck(self, db: Database, keys: KeyRing, credential: str) -> bool:
        """Authenticate the credential again; when it still belongs to this user with the read scope, start
        again from the database (the role may have changed, a membership event been missed)."""

        async def check(session: AsyncSession) -> bool:
            current = await authenticate(session, keys, credential)
            if current.user_id != self.user_id or not current.has(TokenScope.READ):
                return False
            self.is_admin = current.is_admin
            self.org_ids = await OrgRepository(session).org_ids_of(current.user_id)
            return True

        try:  # a stream's client can go away at any moment: the check runs to completion without it
            return await db.complete(check)
        except AppError:
            return False

    def concerns_access(self, event: Event) -> bool:
        """Whether the event may change what this principal is allowed (disabled, demoted, ...)."""
        return event.user_id == self.user_id and event.kind.startswith("user.")

    def can_see(self, event: Event) -> bool:
        if self.is_admin or (event.user_id is not None and event.user_id == self.user_id):
            return True
        return event.org_id is not None and event.org_id in self.org_ids

    def observe(self, event: Event) -> None:
        if event.org_id is None:
            return
        if event.kind == "org.deleted":
            self.org_ids.discard(event.org_id)
        elif event.user_id == self.user_id and event.kind in _JOINED:
            self.org_ids.add(event.org_id)
        elif event.user_id == self.user_id and event.kind in _LEFT:
            self.org_ids.discard(event.org_id)

    def accept(self, event: Event) -> bool:
        """Visibility of the event, after learning from it (a user sees the event that removes them)."""
        visible = self.can_see(event)
        self.observe(event)
        return visible or self.can_see(event)
