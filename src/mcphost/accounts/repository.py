"""All SQL of users, login sessions and personal access tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.pagination import paginate
from mcphost.models import ApiToken, LoginSession, Membership, Organization, OrgRole, User, UserRole


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        statement = sa.select(User).where(User.id == user_id)
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def by_email(self, email: str) -> User | None:
        return await self.session.scalar(sa.select(User).where(User.email == email))

    async def count(self) -> int:
        return int(await self.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0)

    async def count_active_admins(self) -> int:
        statement = sa.select(sa.func.count()).where(User.role == UserRole.ADMIN, User.is_active.is_(True))
        return int(await self.session.scalar(statement) or 0)

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def delete(self, user: User) -> None:
        """Its sessions, tokens and memberships go by the database's cascades; keys and servers it created keep
        a null creator."""
        await self.session.delete(user)
        await self.session.flush()

    async def page(self, *, limit: int, cursor: str | None, query: str | None) -> tuple[list[User], str | None]:
        statement = sa.select(User)
        if query:
            statement = statement.where(User.email.contains(query.lower(), autoescape=True))
        return await paginate(
            self.session, statement, created_at=User.created_at, row_id=User.id, limit=limit, cursor=cursor
        )

    async def orgs_of(self, user_id: uuid.UUID) -> list[tuple[Organization, OrgRole]]:
        rows = await self.session.execute(
            sa.select(Organization, Membership.role)
            .join(Membership, Membership.org_id == Organization.id)
            .where(Membership.user_id == user_id)
            .order_by(Organization.name)
        )
        return [(org, role) for org, role in rows]


class LoginSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, login: LoginSession) -> LoginSession:
        self.session.add(login)
        await self.session.flush()
        return login

    async def with_user(self, session_id: uuid.UUID, user_id: uuid.UUID) -> tuple[LoginSession, User] | None:
        row = await self.session.execute(
            sa.select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.id == session_id, LoginSession.user_id == user_id)
        )
        found = row.first()
        return (found[0], found[1]) if found else None

    async def revoke(self, session_id: uuid.UUID, when: datetime) -> None:
        await self.session.execute(
            sa.update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.revoked_at.is_(None))
            .values(revoked_at=when)
        )


class TokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        await self.session.flush()
        return token

    async def with_user_by_hash(self, token_hash: str) -> tuple[ApiToken, User] | None:
        row = await self.session.execute(
            sa.select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == token_hash)
        )
        found = row.first()
        return (found[0], found[1]) if found else None

    async def list_for(self, user_id: uuid.UUID, *, include_revoked: bool) -> list[ApiToken]:
        statement = sa.select(ApiToken).where(ApiToken.user_id == user_id)
        if not include_revoked:
            statement = statement.where(ApiToken.revoked_at.is_(None))
        return list((await self.session.scalars(statement.order_by(ApiToken.created_at.desc()))).all())

    async def get_for(self, user_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken | None:
        return await self.session.scalar(
            sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
        )

    async def count_active(self, user_id: uuid.UUID) -> int:
        statement = sa.select(sa.func.count()).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        return int(await self.session.scalar(statement) or 0)

    async def touch(self, token_id: uuid.UUID, when: datetime) -> None:
        await self.session.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=when))
