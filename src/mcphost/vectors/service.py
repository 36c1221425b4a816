"""Rules of vector databases: who may create, see, change and delete them, quotas, the collection API, usage, and
publishing one as a hosted MCP server.

Seeing a database: its owner, members of its organisation (viewers too), administrators; others get 404. Changing
it (collections, ingestion, publishing): the owner, or members and above. Deleting it: the owner, or admins of its
organisation. The Chroma server itself is the supervisor's business (``supervisor``): this module only writes rows
and talks to a running server with its token."""

from __future__ import annotations

import asyncio
import secrets
import sys
import uuid
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.db.locks import advisory_xact_lock
from mcphost.errors import Conflict, Forbidden, NotFound, QuotaExceeded
from mcphost.models import OrgRole, Server, VectorDatabase, VectorDbStatus
from mcphost.orgs.access import require_org_role
from mcphost.orgs.repository import OrgRepository
from mcphost.runtimes.registry import Runtimes
from mcphost.secretstore import SecretStore
from mcphost.security.keys import KeyRing
from mcphost.servers import service as servers
from mcphost.servers.schemas import ServerCreate
from mcphost.settings import Settings
from mcphost.vectors import search as searching
from mcphost.vectors.bridge import SOCKET_NAME
from mcphost.vectors.chroma import ChromaClient, ChromaUnavailable, VectorDbNotRunning
from mcphost.vectors.embedding import Embedder, embedder_for
from mcphost.vectors.process import db_dir, disk_bytes
from mcphost.vectors.repository import VectorRepository
from mcphost.vectors.supervisor import token_context

SEARCH_SERVER = Path(__file__).resolve().parent / "search_server.py"


class VectorParts(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def keys(self) -> KeyRing: ...

    @property
    def runtimes(self) -> Runtimes: ...

    @property
    def secret_store(self) -> SecretStore: ...


def embedder(settings: Settings) -> Embedder:
    ingestion = settings.ingestion
    return embedder_for(
        ingestion.embedding_model_path,
        ingestion.embedding_tokenizer_path,
        ingestion.embedding_threads,
        ingestion.embedding_batch_size,
    )


async def create(
    session: AsyncSession, parts: VectorParts, principal: Principal, name: str, org_id: uuid.UUID | None
) -> VectorDatabase:
    settings = parts.settings
    repository = VectorRepository(session)
    if org_id is not None:
        org, _ = await require_org_role(session, principal, org_id, OrgRole.MEMBER)
        await advisory_xact_lock(session, f"quota:vector-dbs:{org.id}")
        used, limit, whose = await repository.count_owned(org_id=org.id), settings.vectors.max_per_org, org.name + "'s"
    else:
        await advisory_xact_lock(session, f"quota:vector-dbs:{principal.user_id}")
        used, limit, whose = (
            await repository.count_owned(user_id=principal.user_id),
            settings.vectors.max_per_user,
            "Your",
        )
    if used >= limit:
        raise QuotaExceeded(
            f"{whose} vector database quota is {limit} and {used} are in use; delete one or ask an administrator to "
            "raise vectors.max_per_user / vectors.max_per_org.",
            details={"quota": limit, "used": used},
        )
    vector_db_id = uuid.uuid4()
    token = secrets.token_urlsafe(32)
    return await repository.add(
        VectorDatabase(
            id=vector_db_id,
            name=name,
            owner_user_id=None if org_id else principal.user_id,
            org_id=org_id,
            created_by=principal.user_id,
            node=settings.runtime.node_name,
            status=VectorDbStatus.STARTING,
            token=parts.keys.secrets.encrypt(token, token_context(vector_db_id)),
            restarts=0,
        )
    )


async def get_visible(session: AsyncSession, principal: Principal, vector_db_id: uuid.UUID) -> VectorDatabase:
    row = await VectorRepository(session).visible(principal, vector_db_id)
    if row is None:
        raise NotFound("No vector database with this id.", code="vector_db_not_found")
    return row


async def get_modifiable(session: AsyncSession, principal: Principal, vector_db_id: uuid.UUID) -> VectorDatabase:
    row = await get_visible(session, principal, vector_db_id)
    if row.org_id is not None and not principal.is_admin:
        role = await OrgRepository(session).role_of(row.org_id, principal.user_id)
        if role is None or not role.at_least(OrgRole.MEMBER):
            raise Forbidden(
                "Viewers of the organisation can read its vector databases, not change them.", code="insufficient_role"
            )
    return row


async def list_visible(session: AsyncSession, principal: Principal) -> list[VectorDatabase]:
    return await VectorRepository(session).list_visible(principal)


async def delete(session: AsyncSession, principal: Principal, vector_db_id: uuid.UUID) -> None:
    """The row goes (its ingestion jobs with it); the supervisor then stops its server and removes its files. Its
    search server, if published, is removed too."""
    row = await get_visible(session, principal, vector_db_id)
    if not principal.is_admin:
        if row.org_id is not None:
            await require_org_role(session, principal, row.org_id, OrgRole.ADMIN)
        elif row.owner_user_id != principal.user_id:
            raise Forbidden("Only the vector database's owner can delete it.", code="insufficient_role")
    if row.server_id is not None and (server := await session.get(Server, row.server_id)) is not None:
        await servers.remove_server(session, server)
    await VectorRepository(session).delete(row)


class ClientParts(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def keys(self) -> KeyRing: ...


def client_for(parts: ClientParts, row: VectorDatabase) -> ChromaClient:
    """A client of the database's running server; 409 with the reason while it is not running."""
    if row.status is not VectorDbStatus.RUNNING or row.port is None:
        reason = f": {row.last_error}" if row.last_error else ""
        raise VectorDbNotRunning(f"The vector database is {row.status.value}{reason}; try again shortly.")
    token = parts.keys.secrets.decrypt(row.token, token_context(row.id))
    return ChromaClient(row.port, token, timeout=parts.settings.vectors.request_timeout_seconds)


async def usage(parts: VectorParts, row: VectorDatabase) -> dict[str, int | None]:
    size = await asyncio.to_thread(disk_bytes, db_dir(parts.settings.home, row.id))
    collections = vectors = None
    if row.status is VectorDbStatus.RUNNING and row.port is not None:
        try:
            async with client_for(parts, row) as chroma:
                found = await chroma.collections()
                counts = [await chroma.count(collection) for collection in found]
            collections, vectors = len(found), sum(counts)
        except ChromaUnavailable:
            pass
    return {
        "collections": collections,
        "vectors": vectors,
        "bytes_on_disk": size,
        "disk_limit_bytes": parts.settings.vectors.max_disk_bytes,
    }


async def list_collections(parts: VectorParts, row: VectorDatabase) -> list[dict[str, object]]:
    async with client_for(parts, row) as chroma:
        return [{"name": c.name, "vectors": await chroma.count(c)} for c in await chroma.collections()]


async def create_collection(parts: VectorParts, row: VectorDatabase, name: str) -> dict[str, object]:
    async with client_for(parts, row) as chroma:
        if name in {c.name for c in await chroma.collections()}:
            raise Conflict(f"A collection named {name!r} exists already in this database.", code="collection_exists")
        await chroma.create(name)
    return {"name": name, "vectors": 0}


async def delete_collection(parts: VectorParts, row: VectorDatabase, name: str) -> None:
    if row.published_collection == name:
        raise Conflict(
            f"The collection {name!r} is searched by the published server; delete that server first.",
            code="collection_published",
        )
    async with client_for(parts, row) as chroma:
        await chroma.find(name)
        await chroma.delete_collection(name)


async def query(parts: VectorParts, row: VectorDatabase, collection: str, text: str, k: int) -> list[dict[str, object]]:
    async with client_for(parts, row) as chroma:
        return await searching.search(chroma, embedder(parts.settings), collection, text, k)


async def list_documents(parts: VectorParts, row: VectorDatabase, collection: str) -> list[dict[str, object]]:
    async with client_for(parts, row) as chroma:
        return await searching.documents(chroma, collection)


async def publish(
    session: AsyncSession,
    parts: VectorParts,
    principal: Principal,
    row: VectorDatabase,
    collection: str,
    name: str | None,
) -> tuple[Server, str]:
    """Deploy the database's search server (a hosted MCP server with a ``search`` tool and the collection's documents
    as resources), owned like the database. It is the platform's own stdlib-only script, run by the configured
    runtime like any server (sandboxed); it reaches the database only through the socket in its data directory."""
    if row.server_id is not None and await session.get(Server, row.server_id) is not None:
        raise Conflict(
            "This vector database is published already; delete its server to publish it again.",
            code="already_published",
        )
    async with client_for(parts, row) as chroma:
        await chroma.find(collection)
    data = ServerCreate.model_validate(
        {
            "name": name or f"{row.name} search",
            "org_id": row.org_id,
            "source": {"type": "command", "command": [sys.executable, "-I", str(SEARCH_SERVER)]},
            "env": {"VECTORS_SOCKET": f"/data/{SOCKET_NAME}", "VECTORS_NAME": row.name},
        }
    )
    server, access_key, _ = await servers.create_server(session, parts, principal, data, trusted=True)
    row.server_id, row.published_collection = server.id, collection
    await session.flush()
    return server, access_key
