"""Client sessions that outlive the replica they started on (ADR 0015).

A session of a server relayed over HTTP (every replica reaches its upstream) is recorded when ``initialize`` opens
it: what another replica needs to continue it (the server, the credential's principal, the negotiated protocol
version, the client's capabilities and info, its idle time), under the SHA-256 of its id. A replica that gets a
request with an id it does not hold loads it (one read, on that replica's first request of the session; unknown ids
are remembered as unknown for a few seconds), and from then on holds it in memory like its own. The upstream
session is the hosting node's (``servers/endpoints.py``), so nothing else needs to move.

The row's expiry is renewed in batches, off the request path, for the sessions used since the last renewal; a
replica that forgets an idle session only forgets its copy, and the row goes once it expired everywhere. DELETE ends
the session for every replica: the row goes, and ``gateway.session_ended`` makes the others drop their copies.

What stays on the replica that relayed it: resumable event streams (``Last-Event-ID`` elsewhere is 404: open a new
stream), a server→client request's pending answer, and resource subscriptions."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from mcphost.db.base import utcnow
from mcphost.db.session import queue_after_commit
from mcphost.events import Event
from mcphost.models import GatewaySession

if TYPE_CHECKING:
    from mcphost.db.session import Database
    from mcphost.gateway.sessions import ClientSession

log = logging.getLogger(__name__)
ENDED_EVENT: Final = "gateway.session_ended"
#: How long an id found nowhere is answered 404 without asking the database again.
UNKNOWN_SECONDS: Final = 5.0
MAX_UNKNOWN: Final = 50_000
#: How often the expiry of used sessions is renewed (and expired rows removed).
RENEW_SECONDS: Final = 30.0


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SharedSessions:
    def __init__(self, db: Database, *, enabled: bool) -> None:
        self.db = db
        self.enabled = enabled
        self._unknown: dict[str, float] = {}
        self._renewed = time.monotonic()

    async def save(self, session: ClientSession) -> bool:
        """Record a new session; whether it is shared (a database failure leaves it on this replica only)."""
        expires = utcnow() + timedelta(seconds=session.idle_seconds)
        try:
            async with self.db.session_scope() as db_session:
                db_session.add(
                    GatewaySession(
                        id_hash=digest(session.id),
                        server_id=session.server_id,
                        principal=session.principal,
                        protocol_version=session.protocol_version,
                        client_capabilities=session.client_capabilities,
                        client_info=session.client_info,
                        idle_seconds=session.idle_seconds,
                        expires_at=expires,
                    )
                )
        except (SQLAlchemyError, OSError) as exc:
            log.warning(
                "session %s… is served by this replica only: it could not be recorded (%s)", session.id[:6], exc
            )
            return False
        return True

    async def load(self, session_id: str) -> GatewaySession | None:
        """The recorded session with this id, if it is still alive."""
        now = time.monotonic()
        if self._unknown.get(session_id, 0.0) > now:
            return None
        try:
            async with self.db.session_scope() as db_session:
                row = await db_session.get(GatewaySession, digest(session_id))
        except (SQLAlchemyError, OSError) as exc:
            log.warning("could not look a session up: %s", exc)
            return None
        if row is None or row.expires_at < utcnow():
            if len(self._unknown) >= MAX_UNKNOWN:
                self._unknown.clear()
            self._unknown[session_id] = now + UNKNOWN_SECONDS
            return None
        return row

    async def end(self, session: ClientSession) -> None:
        """The client ended the session: every replica forgets it."""
        hashed = digest(session.id)
        try:
            async with self.db.session_scope() as db_session:
                await db_session.execute(sa.delete(GatewaySession).where(GatewaySession.id_hash == hashed))
                queue_after_commit(db_session, Event(ENDED_EVENT, {"session": hashed}))
        except (SQLAlchemyError, OSError) as exc:  # it expires anyway
            log.warning("could not record the end of a session: %s", exc)

    async def renew(self, sessions: list[ClientSession]) -> None:
        """Every ``RENEW_SECONDS``: push back the expiry of the shared sessions used since the last time, and remove
        the rows that expired."""
        now = time.monotonic()
        if not self.enabled or now - self._renewed < RENEW_SECONDS:
            return
        since, self._renewed = self._renewed, now
        used: defaultdict[float, list[str]] = defaultdict(list)
        for session in sessions:
            if session.shared and session.last_used >= since:
                used[session.idle_seconds].append(digest(session.id))
        wall = utcnow()
        try:
            async with self.db.session_scope() as db_session:
                for idle, hashes in used.items():
                    for start in range(0, len(hashes), 500):
                        await db_session.execute(
                            sa.update(GatewaySession)
                            .where(GatewaySession.id_hash.in_(hashes[start : start + 500]))
                            .values(expires_at=wall + timedelta(seconds=idle))
                        )
                await db_session.execute(sa.delete(GatewaySession).where(GatewaySession.expires_at < wall))
        except (SQLAlchemyError, OSError) as exc:
            log.warning("could not renew the shared sessions: %s", exc)
