"""Reading a server's revisions and rolling back to one.

A rollback makes the server's source and settings those of an earlier revision and redeploys it through the same
path as ``redeploy``, recording a new revision (reason ``rollback``). Secrets are not part of revisions: they stay as
they are. The rollback pins what the earlier revision resolved to (an unpinned package's version, an image's digest, a
git build's commit), so the server runs what it ran then rather than whatever is newest now."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.db.base import utcnow
from mcphost.db.session import queue_after_commit
from mcphost.errors import Conflict, Forbidden, NotFound
from mcphost.models import Isolation, RevisionReason, Server, ServerRevision, User
from mcphost.revisions.record import Trigger
from mcphost.revisions.repository import RevisionRepository
from mcphost.servers import service as servers
from mcphost.servers.permissions import server_event

if TYPE_CHECKING:
    from mcphost.platform import Platform


async def list_revisions(
    session: AsyncSession, principal: Principal, server_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[Server, list[tuple[ServerRevision, User | None]], str | None]:
    server = await servers.get_visible(session, principal, server_id)
    rows, next_cursor = await RevisionRepository(session).page(server.id, limit=limit, cursor=cursor)
    return server, rows, next_cursor


async def get_revision(
    session: AsyncSession, principal: Principal, server_id: uuid.UUID, number: int
) -> tuple[Server, ServerRevision, User | None]:
    server = await servers.get_visible(session, principal, server_id)
    found = await RevisionRepository(session).with_creator(server.id, number)
    if found is None:
        raise _unknown(server, number)
    return server, found[0], found[1]


async def rollback(
    session: AsyncSession, platform: Platform, principal: Principal, server_id: uuid.UUID, number: int
) -> tuple[Server, ServerRevision]:
    """Deploy revision ``number``'s source and settings again; the server and the new revision."""
    server = await servers.get_modifiable(session, principal, server_id)
    repository = RevisionRepository(session)
    target = await repository.get(server.id, number)
    if target is None:
        raise _unknown(server, number)
    if number == server.revision:
        raise Conflict(
            f"Revision {number} is already live on {server.name}; roll back to another revision, or redeploy to "
            "prepare its source anew.",
            code="already_live",
        )
    source, pinned = _pinned_source(target)
    runnable_type = source["package"]["type"] if source["type"] == "catalog" else source["type"]
    if runnable_type == "command" and not (principal.is_admin or platform.settings.runtime.allow_user_commands):
        raise Forbidden(
            f"Revision {number} runs a command, and only administrators can deploy command sources on this instance.",
            code="command_not_allowed",
        )
    runtime_type = platform.runtimes.for_source(runnable_type)
    if runtime_type is None:
        raise Conflict(servers.unavailable_reason(platform, runnable_type) or "", code="runtime_unavailable")
    _restore(server, target, source, runtime_type)
    detail = f"rolled back to revision {number}" + (f"; {pinned}" if pinned else "")
    trigger = Trigger(RevisionReason.ROLLBACK, user_id=principal.user_id, detail=detail, rolled_back_to=number)
    server = await servers.act_on(session, server, "redeploy", trigger)
    server.updated_at = utcnow()
    await session.flush()
    queue_after_commit(session, server_event("server.updated", server))
    revision = await repository.get(server.id, server.revision)
    assert revision is not None
    return server, revision


def _unknown(server: Server, number: int) -> NotFound:
    return NotFound(
        f"{server.name} has no revision {number}; its revisions go from 1 to {server.revision} "
        f"(GET /api/servers/{server.id}/revisions lists them).",
        code="revision_not_found",
    )


def _pinned_source(target: ServerRevision) -> tuple[dict[str, Any], str | None]:
    """The revision's source pinned to what it resolved to, when known: an unpinned package to its version, an image
    to its digest, a git source to the commit it built (``commit``: the ref still names the branch pushes follow)."""
    source = dict(target.source)
    resolved = target.resolved or {}
    if source["type"] == "image":
        return _pinned_image(source, resolved)
    if source["type"] == "git":
        return _pinned_commit(source, resolved)
    version, catalog = resolved.get("version"), source["type"] == "catalog"
    package = dict(source["package"]) if catalog else source
    identifier = package.get("identifier")
    pinned = package.get("version") not in (None, "", "latest")  # "latest" is what the runtime resolves anew
    if package.get("type") != "package" or pinned or not isinstance(version, str):
        return source, None
    if resolved.get("identifier") != identifier:
        return source, None
    package["version"] = version
    if catalog:
        source["package"] = package
    return source, f"pinned to {identifier} {version}, the version it ran"


def _pinned_image(source: dict[str, Any], resolved: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    digest, image = resolved.get("digest"), str(source.get("image") or "")
    if "@" in image or not isinstance(digest, str) or resolved.get("image") != image:
        return source, None
    return {**source, "image": digest}, f"pinned to {digest}, the image it ran (was {image})"


def _pinned_commit(source: dict[str, Any], resolved: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    commit = resolved.get("commit")
    if not isinstance(commit, str) or source.get("commit") == commit or source.get("ref") == commit:
        return source, None
    return {**source, "commit": commit}, f"pinned to commit {commit[:12]}, the commit it built"


def _restore(server: Server, target: ServerRevision, source: dict[str, Any], runtime_type: str) -> None:
    settings = target.settings
    server.source = source
    server.runtime = runtime_type
    server.env = dict(settings.get("env") or {})
    server.config = dict(settings.get("config") or {})
    server.resources = dict(settings.get("resources") or {})
    server.network = str(settings.get("network") or "default")
    server.isolation = Isolation(settings.get("isolation") or Isolation.SHARED.value)
    server.per_user_env = list(settings.get("per_user_env") or [])
