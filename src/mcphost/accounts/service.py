"""Rules of accounts: registration, sign-in and sign-out, the admin's changes to users."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.password_policy import check_password
from mcphost.accounts.principal import Principal
from mcphost.accounts.quotas import quota_lock, servers_owned
from mcphost.accounts.repository import LoginSessionRepository, UserRepository
from mcphost.accounts.schemas import MeOut, OrgSummary, UserOut, UserUpdate
from mcphost.accounts.throttle import FailureThrottle
from mcphost.db.base import utcnow
from mcphost.db.locks import advisory_xact_lock
from mcphost.db.session import queue_after_commit
from mcphost.errors import Conflict, Forbidden, NotFound, Unauthorized
from mcphost.events import Event
from mcphost.models import LoginSession, User, UserRole
from mcphost.orgs.repository import OrgRepository
from mcphost.security import tokens
from mcphost.security.keys import KeyRing
from mcphost.security.passwords import password_hashing
from mcphost.servers.service import remove_servers_of
from mcphost.settings import AuthSettings


async def register(session: AsyncSession, auth: AuthSettings, email: str, password: str) -> User | None:
    """Create an account. The first one becomes admin; invitations waiting for the email become memberships.

    An email that already has an account is answered like a new one (the caller says the same either way, so
    registering does not tell who has an account): nothing changes and None is returned. The password is still
    hashed, so both take the same time."""
    check_password(password, email=email, min_length=auth.min_password_length, min_score=auth.min_password_score)
    await advisory_xact_lock(session, "accounts:register")
    users, orgs = UserRepository(session), OrgRepository(session)
    password_hash = password_hashing(auth).hash(password)
    existing = await users.by_email(email)
    first_user = existing is None and await users.count() == 0
    invitations = await orgs.invitations_for_email(email, now=utcnow()) if existing is None else []
    if not (first_user or auth.allow_signup or invitations):
        # Also for a taken email: with sign-up off, an uninvited email gets this answer whether or not it has one.
        raise Forbidden(
            "Sign-up is turned off on this instance; ask an administrator for an invitation.",
            code="signup_disabled",
        )
    if existing is not None:
        return None
    user = await users.add(
        User(
            email=email,
            password_hash=password_hash,
            role=UserRole.ADMIN if first_user else UserRole.USER,
            server_quota=auth.default_server_quota,
        )
    )
    for invitation in invitations:
        await orgs.add_member(invitation.org_id, user.id, invitation.role)
        await orgs.delete_invitation(invitation)
    queue_after_commit(session, Event("user.registered", {"id": str(user.id), "email": user.email}))
    return user


async def login(
    session: AsyncSession,
    keys: KeyRing,
    auth: AuthSettings,
    email: str,
    password: str,
    *,
    ip: str | None,
    user_agent: str | None,
    throttle: FailureThrottle,
) -> tuple[str, datetime]:
    """Check the password and open a session; returns the session JWT and when it expires."""
    throttle.check(ip, email)
    user = await UserRepository(session).by_email(email)
    hashing = password_hashing(auth)
    if not hashing.verify(user.password_hash if user else None, password) or user is None:
        throttle.record_failure(ip, email)
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    throttle.reset(ip, email)
    if not user.is_active:
        raise Forbidden("This account is disabled; ask an administrator.", code="account_disabled")
    if hashing.needs_rehash(user.password_hash):
        user.password_hash = hashing.hash(password)
    now = utcnow()
    user.last_login_at = now
    ttl = timedelta(minutes=auth.session_ttl_minutes)
    login_session = await LoginSessionRepository(session).add(
        LoginSession(
            user_id=user.id,
            expires_at=now + ttl,
            ip=ip[:64] if ip else None,
            user_agent=user_agent[:255] if user_agent else None,
        )
    )
    claims = tokens.new_session_claims(user.id, login_session.id, ttl)
    return tokens.encode_jwt(keys.jwt, claims), claims.expires_at


async def logout(session: AsyncSession, principal: Principal) -> None:
    if principal.via == "session":
        await LoginSessionRepository(session).revoke(principal.credential_id, utcnow())
        queue_after_commit(session, Event("user.signed_out", {"id": str(principal.user_id)}, user_id=principal.user_id))


async def me(session: AsyncSession, principal: Principal) -> MeOut:
    memberships = await UserRepository(session).orgs_of(principal.user_id)
    return MeOut(
        **UserOut.model_validate(principal.user).model_dump(),
        orgs=[OrgSummary(id=org.id, name=org.name, slug=org.slug, role=role) for org, role in memberships],
    )


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await UserRepository(session).get(user_id)
    if user is None:
        raise NotFound("No user with this id.")
    return user


async def update_user(session: AsyncSession, user_id: uuid.UUID, changes: UserUpdate) -> User:
    """An admin changes a user's role, quota or whether the account is active."""
    await advisory_xact_lock(session, "accounts:admins")
    users = UserRepository(session)
    user = await users.get(user_id, for_update=True)
    if user is None:
        raise NotFound("No user with this id.")
    loses_admin = changes.role is UserRole.USER or changes.is_active is False
    if loses_admin and user.is_admin and user.is_active and await users.count_active_admins() <= 1:
        raise Conflict("This is the last active administrator; make another user admin first.", code="last_admin")
    for field in ("role", "server_quota", "is_active"):
        value = getattr(changes, field)
        if value is not None:
            setattr(user, field, value)
    await session.flush()
    queue_after_commit(session, Event("user.updated", {"id": str(user.id), "email": user.email}, user_id=user.id))
    return user


async def delete_user(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID, *, delete_servers: bool = False
) -> int:
    """An administrator deletes an account: its tokens, sessions and memberships go with it, its access keys stop
    working. Refused for oneself, the last active administrator, the only owner of an organisation, and (409
    ``user_has_servers``) while it owns servers unless ``delete_servers``: then each is stopped and deleted the
    way deleting a server does it. Returns how many servers went."""
    await advisory_xact_lock(session, "accounts:admins")
    users = UserRepository(session)
    user = await users.get(user_id, for_update=True)
    if user is None:
        raise NotFound("No user with this id.")
    if user.id == principal.user_id:
        raise Conflict("You cannot delete your own account; another administrator can.", code="cannot_delete_self")
    if user.is_admin and user.is_active and await users.count_active_admins() <= 1:
        raise Conflict("This is the last active administrator; make another user admin first.", code="last_admin")
    sole = await OrgRepository(session).solely_owned_by(user.id)
    if sole:
        names = ", ".join(org.name for org in sole[:5])
        raise Conflict(
            f"{user.email} is the only owner of {names}; make someone else owner there, or delete "
            f"{'it' if len(sole) == 1 else 'them'}, first.",
            code="sole_owner",
            details={"orgs": [str(org.id) for org in sole]},
        )
    await advisory_xact_lock(session, quota_lock(user.id))
    count = await servers_owned(session, user.id)
    if count and not delete_servers:
        raise Conflict(
            f"{user.email} owns {count} server{'' if count == 1 else 's'}. Delete "
            f"{'it' if count == 1 else 'them'} first, or delete the account together with its servers (API: "
            "DELETE /api/users/{id}?delete_servers=true; CLI: mcphost users delete USER --delete-servers).",
            code="user_has_servers",
            details={"servers": count},
        )
    removed = await remove_servers_of(session, user_id=user.id)
    await users.delete(user)
    queue_after_commit(
        session,
        # Addressed to the account, so its open event streams check their credential again and end.
        Event("user.deleted", {"id": str(user_id), "email": user.email, "servers_deleted": removed}, user_id=user_id),
    )
    return removed


async def list_users(
    session: AsyncSession, *, limit: int, cursor: str | None, query: str | None
) -> tuple[list[User], str | None]:
    return await UserRepository(session).page(limit=limit, cursor=cursor, query=query)
