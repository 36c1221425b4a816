"""Who may use a server's endpoint: access keys of that server while the account that created the key may still use
the server, and personal access tokens with the ``invoke`` scope of users who may call it (its owner, members of its
organisation from the member role up, administrators; viewers only read).

OAuth access tokens are bound to the one server the user consented to; any other endpoint answers 401
(``invalid_token``), as RFC 8707 audiences require. Revoking a token or an authorisation publishes a ``user.oauth_*``
event, which clears the cache like every ``user.`` event.

What a caller learns about names it cannot use: without a valid credential every name answers 401; a key answers
404 for any name but its own server's; a token answers 404 alike for unknown names and servers its user cannot see.

A checked credential is cached for a short while (the hot path never waits on the database for a known client);
anything that could change an answer (a revoked key or token, a server updated or deleted, membership or account
changes) clears the cache at once through the event bus. Bad credentials are remembered briefly too, so a flood of
them does not become a flood of queries."""

from __future__ import annotations

import hmac
import logging
import math
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from mcphost.accounts.principal import Principal, authenticate
from mcphost.db.base import utcnow
from mcphost.errors import AppError, Unauthorized
from mcphost.gateway.withheld import NOTHING_WITHHELD, Withheld, withheld_for
from mcphost.models import Isolation, Server, ServerAccessKey, TokenScope, User
from mcphost.oauth.repository import OAuthRepository
from mcphost.oauth.service import ACCESS_PREFIX
from mcphost.security import tokens
from mcphost.servers.keys import KEY_PREFIX
from mcphost.servers.permissions import may_use
from mcphost.servers.repository import visible_to
from mcphost.servers.service import may_invoke

if TYPE_CHECKING:
    from mcphost.platform import Platform

log = logging.getLogger(__name__)
NEGATIVE_CACHE_SECONDS: Final = 5.0
#: How long after its expiry a checked grant still serves while the database cannot be asked.
STALE_GRACE_SECONDS: Final = 300.0
MAX_CACHED: Final = 50_000
LAST_USED_PRECISION_SECONDS: Final = 60.0
#: Event kinds after which cached answers may be wrong.
INVALIDATING_PREFIXES: Final = ("user.", "org.", "server.updated", "server.deleted", "server.key_revoked")


@dataclass(frozen=True, slots=True)
class Grant:
    """A credential's right to one server's endpoint."""

    server_id: uuid.UUID
    slug: str
    isolation: Isolation
    #: Who the caller is for isolation and rate limits: ``key:<id>`` or ``user:<id>``.
    principal: str
    user_id: uuid.UUID | None
    key_id: uuid.UUID | None
    #: What the caller may not see or use: held definitions, disabled tools, tools kept for a higher role.
    withheld: Withheld = NOTHING_WITHHELD
    #: The node hosting the server (``Server.node``; it never changes): requests go there when it is not this one.
    node: str | None = None


class Denied(Exception):
    """The request may not reach the server: 401 (no or bad credential), 403 (wrong server) or 404 (unknown)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class AccessResolver:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.ttl = platform.settings.gateway.credential_cache_seconds
        self._grants: dict[tuple[str, str], tuple[Grant, float]] = {}
        self._denials: dict[tuple[str, str], tuple[Denied, float]] = {}
        self._key_used: dict[uuid.UUID, float] = {}

    def invalidate(self, kind: str = "") -> None:
        if not kind or kind.startswith(INVALIDATING_PREFIXES):
            self._grants.clear()
            self._denials.clear()

    async def grant(self, slug: str, credential: str) -> Grant:
        """The grant of ``credential`` for the server ``slug``; raises ``Denied``."""
        cache_key = (slug, credential)
        now = time.monotonic()
        cached = self._grants.get(cache_key)
        if cached is not None and cached[1] > now:
            return cached[0]
        denied = self._denials.get(cache_key)
        if denied is not None and denied[1] > now:
            raise denied[0]
        try:
            grant = await self._lookup(slug, credential)
        except Denied as exc:
            if len(self._denials) >= MAX_CACHED:
                self._denials.clear()
            self._denials[cache_key] = (exc, now + NEGATIVE_CACHE_SECONDS)
            raise
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            # The database is busy (SQLite locked under a flood of writes) or unreachable: a grant checked a moment
            # ago still holds (revocations clear the cache through events, not through expiry), else retry.
            if cached is not None and now - cached[1] < STALE_GRACE_SECONDS:
                log.warning("credential lookup failed (%s); using the grant checked %.0f s ago", exc, now - cached[1])
                return cached[0]
            raise Denied(
                503,
                "busy",
                "MCP Host could not check the credential just now (its database is busy or unreachable); retry in a "
                "moment.",
            ) from exc
        if self.ttl > 0:
            if len(self._grants) >= MAX_CACHED:
                self._grants.clear()
            self._grants[cache_key] = (grant, now + self.ttl)
        return grant

    async def _lookup(self, slug: str, credential: str) -> Grant:
        if credential.startswith(KEY_PREFIX):
            return await self._by_access_key(slug, credential)
        if credential.startswith(tokens.PAT_PREFIX):
            return await self._by_personal_token(slug, credential)
        if credential.startswith(ACCESS_PREFIX):
            return await self._by_oauth_token(slug, credential)
        message = "The bearer credential is not an access key, a personal access token or an OAuth access token."
        raise Denied(401, "invalid_token", message)

    async def _by_access_key(self, slug: str, credential: str) -> Grant:
        digest = tokens.hash_token(self.platform.keys.token_hmac, credential)
        async with self.platform.db.session_scope() as session:
            row = (
                await session.execute(
                    sa.select(ServerAccessKey, Server, User)
                    .join(Server, Server.id == ServerAccessKey.server_id)
                    .outerjoin(User, User.id == ServerAccessKey.created_by)
                    .where(ServerAccessKey.key_hash == digest)
                )
            ).first()
            if row is None or not hmac.compare_digest(row[0].key_hash, digest):
                raise Denied(401, "invalid_token", "The access key is not valid.")
            key, server, creator = row
            if key.revoked_at is not None:
                raise Denied(401, "token_revoked", "This access key was revoked.")
            if server.slug != slug:
                # The same answer whether or not a server of that name exists: a key reaches one server only,
                # and holding one must not tell which other names are taken.
                raise Denied(
                    404,
                    "not_found",
                    f"There is no server '{slug}' for this access key; it is a key of /mcp/{server.slug}.",
                )
            # A key acts for the account that created it: it works while that account may still use the server.
            if creator is None or not await may_use(session, creator, server, admin=creator.is_admin):
                raise Denied(
                    401,
                    "key_creator_lost_access",
                    "This access key stopped working: the account that created it can no longer use this server "
                    "(disabled, deleted, removed from its organisation or now a viewer there). Create a new key.",
                )
            if self._key_used.get(key.id, 0.0) + LAST_USED_PRECISION_SECONDS < time.monotonic():
                self._key_used[key.id] = time.monotonic()
                key.last_used_at = utcnow()
            withheld = await withheld_for(session, server, creator, admin=creator.is_admin)
            return Grant(
                server.id, server.slug, server.isolation, f"key:{key.id}", key.created_by, key.id, withheld, server.node
            )

    async def _by_personal_token(self, slug: str, credential: str) -> Grant:
        async with self.platform.db.session_scope() as session:
            try:
                principal = await authenticate(session, self.platform.keys, credential)
            except Unauthorized as exc:
                raise Denied(401, exc.code, exc.message) from None
            except AppError as exc:
                raise Denied(exc.status_code, exc.code, exc.message) from None
            if not principal.has(TokenScope.INVOKE):
                raise Denied(403, "insufficient_scope", "This token lacks the 'invoke' scope needed to call servers.")
            server = await session.scalar(sa.select(Server).where(Server.slug == slug, visible_to(principal)))
            if server is None:  # unknown and invisible alike
                raise Denied(404, "not_found", f"There is no server '{slug}' you can use.")
            if not await may_invoke(session, principal, server):
                raise Denied(
                    403,
                    "insufficient_role",
                    "Viewers of an organisation can read its servers but not call them; ask an admin of the "
                    "organisation for the member role.",
                )
            user_id = principal.user_id
            withheld = await withheld_for(session, server, principal.user, admin=principal.is_admin)
            return Grant(
                server.id, server.slug, server.isolation, f"user:{user_id}", user_id, None, withheld, server.node
            )

    async def _by_oauth_token(self, slug: str, credential: str) -> Grant:
        """An OAuth access token: bound to one server (its audience, RFC 8707), acting for the user who consented
        with what that user may do now, as a personal access token with the ``invoke`` scope would."""
        if not self.platform.settings.oauth.enabled:
            raise Denied(401, "oauth_disabled", "OAuth is turned off on this MCP Host; use an access key.")
        digest = tokens.hash_token(self.platform.keys.token_hmac, credential)
        async with self.platform.db.session_scope() as session:
            found = await OAuthRepository(session).access_token_grant(digest)
            if found is None or not hmac.compare_digest(found[0].token_hash, digest):
                raise Denied(401, "invalid_token", "The OAuth access token is not valid.")
            token, consent, server, user = found
            now = utcnow()
            if token.revoked_at is not None or consent.revoked_at is not None:
                raise Denied(401, "invalid_token", "This OAuth access token was revoked; sign in again.")
            if token.expires_at <= now:
                raise Denied(401, "invalid_token", "This OAuth access token expired; refresh it.")
            if server.slug != slug:
                # The token's audience is one endpoint: every other one refuses it as not meant for it.
                raise Denied(
                    401, "invalid_token", f"This OAuth access token is for /mcp/{server.slug}, not for /mcp/{slug}."
                )
            if not user.is_active:
                raise Denied(401, "invalid_token", "The account this token acts for is disabled.")
            if TokenScope.INVOKE.value not in token.scopes:
                raise Denied(403, "insufficient_scope", "This token lacks the 'invoke' scope needed to call servers.")
            principal = Principal(user, frozenset({TokenScope.INVOKE}), "token", token.id)
            visible = await session.scalar(sa.select(Server.id).where(Server.id == server.id, visible_to(principal)))
            if visible is None or not await may_invoke(session, principal, server):
                raise Denied(
                    403,
                    "insufficient_role",
                    "The account this token acts for can no longer call this server (removed from its organisation "
                    "or now a viewer there).",
                )
            if self._key_used.get(consent.id, 0.0) + LAST_USED_PRECISION_SECONDS < time.monotonic():
                self._key_used[consent.id] = time.monotonic()
                consent.last_used_at = now
            withheld = await withheld_for(session, server, user, admin=False)
            return Grant(
                server.id, server.slug, server.isolation, f"user:{user.id}", user.id, None, withheld, server.node
            )


class RateLimiter:
    """A token bucket per credential: ``rate`` requests per second sustained, ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, list[float]] = {}

    def retry_after(self, key: str) -> int:
        """0 when the request may go ahead (and it is counted); else the seconds to wait."""
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_CACHED:
                self._buckets.clear()
            self._buckets[key] = [self.burst - 1.0, now]
            return 0
        tokens_now = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens_now >= 1.0:
            bucket[0] = tokens_now - 1.0
            return 0
        bucket[0] = tokens_now
        return max(1, math.ceil((1.0 - tokens_now) / self.rate))
