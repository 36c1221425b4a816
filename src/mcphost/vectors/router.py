"""Endpoints of managed vector databases: create, list, get, delete; collections (list, create, delete, query,
documents); publishing one as a hosted MCP server with a ``search`` tool."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep, WritePrincipal
from mcphost.api.schemas import AUTHENTICATED_ERRORS, error_responses
from mcphost.models import VectorDatabase
from mcphost.vectors import service
from mcphost.vectors.schemas import (
    CollectionCreate,
    CollectionName,
    CollectionOut,
    DocumentOut,
    Hit,
    PublishIn,
    PublishOut,
    QueryIn,
    QueryOut,
    Usage,
    VectorDbCreate,
    VectorDbOut,
)

# Every endpoint may find its Chroma server starting or down (503), or the database busy with another change (409).
router = APIRouter(
    prefix="/api/vector-dbs",
    tags=["vector databases"],
    responses=AUTHENTICATED_ERRORS | error_responses(409, 503),
)


async def vector_db_out(platform: service.VectorParts, row: VectorDatabase) -> VectorDbOut:
    return VectorDbOut(
        id=row.id,
        name=row.name,
        owner_user_id=row.owner_user_id,
        org_id=row.org_id,
        status=row.status,
        last_error=row.last_error,
        restarts=row.restarts,
        server_id=row.server_id,
        published_collection=row.published_collection,
        created_at=row.created_at,
        usage=Usage.model_validate(await service.usage(platform, row)),
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a vector database (a Chroma server)")
async def create_vector_db(
    body: VectorDbCreate, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> VectorDbOut:
    row = await service.create(session, platform, principal, body.name, body.org_id)
    return await vector_db_out(platform, row)


@router.get("", summary="The vector databases you can see, with their usage")
async def list_vector_dbs(principal: ReadPrincipal, session: SessionDep, platform: PlatformDep) -> list[VectorDbOut]:
    return [await vector_db_out(platform, row) for row in await service.list_visible(session, principal)]


@router.get("/{vector_db_id}", summary="A vector database, its status and usage")
async def get_vector_db(
    vector_db_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep
) -> VectorDbOut:
    return await vector_db_out(platform, await service.get_visible(session, principal, vector_db_id))


@router.delete("/{vector_db_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Stop and delete a vector database")
async def delete_vector_db(vector_db_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> None:
    await service.delete(session, principal, vector_db_id)


@router.get("/{vector_db_id}/collections", summary="Its collections and how many vectors each holds")
async def list_collections(
    vector_db_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep
) -> list[CollectionOut]:
    row = await service.get_visible(session, principal, vector_db_id)
    return [CollectionOut.model_validate(c) for c in await service.list_collections(platform, row)]


@router.post("/{vector_db_id}/collections", status_code=status.HTTP_201_CREATED, summary="Create a collection")
async def create_collection(
    vector_db_id: uuid.UUID,
    body: CollectionCreate,
    principal: WritePrincipal,
    session: SessionDep,
    platform: PlatformDep,
) -> CollectionOut:
    row = await service.get_modifiable(session, principal, vector_db_id)
    return CollectionOut.model_validate(await service.create_collection(platform, row, body.name))


@router.delete(
    "/{vector_db_id}/collections/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a collection"
)
async def delete_collection(
    vector_db_id: uuid.UUID, name: CollectionName, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> None:
    row = await service.get_modifiable(session, principal, vector_db_id)
    await service.delete_collection(platform, row, name)


@router.post("/{vector_db_id}/collections/{name}/query", summary="Semantic search of a collection")
async def query_collection(
    vector_db_id: uuid.UUID,
    name: CollectionName,
    body: QueryIn,
    principal: ReadPrincipal,
    session: SessionDep,
    platform: PlatformDep,
) -> QueryOut:
    row = await service.get_visible(session, principal, vector_db_id)
    hits = await service.query(platform, row, name, body.query, body.k)
    return QueryOut(results=[Hit.model_validate(hit) for hit in hits])


@router.get("/{vector_db_id}/collections/{name}/documents", summary="The documents stored in a collection")
async def list_documents(
    vector_db_id: uuid.UUID, name: CollectionName, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep
) -> list[DocumentOut]:
    row = await service.get_visible(session, principal, vector_db_id)
    return [DocumentOut.model_validate(doc) for doc in await service.list_documents(platform, row, name)]


@router.post(
    "/{vector_db_id}/publish",
    status_code=status.HTTP_201_CREATED,
    summary="Expose a collection as a hosted MCP server with a search tool and its documents as resources",
)
async def publish(
    vector_db_id: uuid.UUID, body: PublishIn, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> PublishOut:
    row = await service.get_modifiable(session, principal, vector_db_id)
    server, access_key = await service.publish(session, platform, principal, row, body.collection, body.name)
    endpoint = f"{platform.settings.effective_public_url.rstrip('/')}/mcp/{server.slug}"
    return PublishOut(server_id=server.id, slug=server.slug, endpoint=endpoint, access_key=access_key)
