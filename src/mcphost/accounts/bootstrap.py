"""The bootstrap admin: created from MCPHOST_ADMIN_EMAIL / MCPHOST_ADMIN_PASSWORD when it does not exist yet."""

from __future__ import annotations

import logging

from mcphost.accounts.repository import UserRepository
from mcphost.accounts.schemas import Credentials
from mcphost.db.locks import advisory_xact_lock
from mcphost.db.session import Database
from mcphost.models import User, UserRole
from mcphost.security.passwords import password_hashing
from mcphost.settings import Settings

log = logging.getLogger(__name__)


async def ensure_bootstrap_admin(db: Database, settings: Settings) -> None:
    if not settings.admin_email or settings.admin_password is None:
        return
    credentials = Credentials(email=settings.admin_email, password=settings.admin_password.get_secret_value())
    async with db.session_scope() as session:
        await advisory_xact_lock(session, "accounts:register")
        users = UserRepository(session)
        if await users.by_email(credentials.email) is not None:
            return
        await users.add(
            User(
                email=credentials.email,
                password_hash=password_hashing(settings.auth).hash(credentials.password),
                role=UserRole.ADMIN,
                server_quota=settings.auth.default_server_quota,
            )
        )
    log.info("created bootstrap admin %s", credentials.email)
