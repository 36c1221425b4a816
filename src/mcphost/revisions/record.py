"""Recording a revision: what a deploy puts in place, numbered per server. Servers' own service records them (create,
changed settings, redeploy) as do webhooks and rollbacks; this module needs nothing above the models so that all of
them can use it.

A revision holds the source and the settings that shape the running server, never a secret's value: secrets are
listed by name, and a rollback leaves them as they are. What the runtime resolved the source to (the exact package
version, an image digest, a commit) is added once the lifecycle layer has prepared it (``record_resolved``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.base import utcnow
from mcphost.db.session import Database
from mcphost.models import RevisionActor, RevisionReason, Server, ServerRevision
from mcphost.revisions.repository import RevisionRepository

#: Details of an artifact that say where it lies on this machine or how it was found, not what it is.
_LOCAL_DETAILS = frozenset({"env", "bin_dir", "cached", "mounts"})


@dataclass(frozen=True)
class Trigger:
    """Why a revision is made and by whom."""

    reason: RevisionReason
    actor: RevisionActor = RevisionActor.USER
    user_id: uuid.UUID | None = None
    detail: str | None = None
    rolled_back_to: int | None = None


def settings_of(server: Server) -> dict[str, Any]:
    """The deploy settings of a server as a revision keeps them: secrets by name only."""
    return {
        "runtime": server.runtime,
        "env": dict(server.env or {}),
        "config": dict(server.config or {}),
        "resources": dict(server.resources or {}),
        "network": server.network,
        "isolation": server.isolation.value,
        "secret_names": sorted(server.secret_env or {}),
        "per_user_env": list(server.per_user_env or []),
    }


async def record_revision(session: AsyncSession, server: Server, trigger: Trigger) -> ServerRevision:
    """Number the server's current source and settings as its next revision, which becomes the live one. The
    caller holds the server's row (``get_modifiable`` locks it), so two deploys cannot take the same number."""
    number = (server.revision or 0) + 1
    revision = await RevisionRepository(session).add(
        ServerRevision(
            id=uuid.uuid4(),
            server_id=server.id,
            number=number,
            created_at=utcnow(),
            reason=trigger.reason,
            actor=trigger.actor,
            created_by=trigger.user_id,
            rolled_back_to=trigger.rolled_back_to,
            detail=trigger.detail,
            source=dict(server.source),
            settings=settings_of(server),
        )
    )
    server.revision = number
    return revision


def resolved_facts(details: dict[str, Any]) -> dict[str, Any]:
    """What a runtime's ``Artifact.details`` say about the deployed thing (name, version, digest, commit...), as
    plain JSON values, without where it lies on this machine."""
    return {
        key: value
        for key, value in details.items()
        if key not in _LOCAL_DETAILS and isinstance(value, str | int | float | bool)
    }


async def record_resolved(db: Database, server_id: uuid.UUID, number: int, details: dict[str, Any]) -> None:
    """Add what the runtime prepared for revision ``number`` (its own transaction; the lifecycle layer calls it
    after ``prepare``). An unpinned source prepared again later may resolve anew: the newest facts are kept."""
    if number < 1:
        return
    facts = resolved_facts(details)
    async with db.session_scope() as session:
        revision = await RevisionRepository(session).get(server_id, number)
        if revision is not None and revision.resolved != facts:
            revision.resolved, revision.resolved_at = facts, utcnow()
