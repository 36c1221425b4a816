"""Vector databases and ingestion jobs through the API. Module-level functions over an ``MCPHostClient``, like
``files``:

    async with MCPHostClient(url, token) as api:
        db = await vectors.create(api, "kb")
        job = await vectors.ingest(api, db["id"], "docs", [{"type": "upload"}], files=[Path("guide.md")])
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from mcphost.client._client import _api_error, _reason
from mcphost.client._errors import Unreachable

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

__all__ = [
    "cancel_job",
    "create",
    "create_collection",
    "delete",
    "delete_collection",
    "delete_job",
    "get",
    "get_job",
    "ingest",
    "list_collections",
    "list_dbs",
    "list_documents",
    "list_jobs",
    "publish",
    "query",
]


async def list_dbs(client: MCPHostClient) -> list[dict[str, Any]]:
    return list(await client.request("GET", "/api/vector-dbs"))


async def resolve(client: MCPHostClient, ref: str) -> dict[str, Any]:
    """A database by id or by name (names are only unique per owner: an ambiguous name is an error)."""
    found = [db for db in await list_dbs(client) if ref in (db["id"], db["name"])]
    if len(found) == 1:
        return found[0]
    from mcphost.client._errors import ApiError

    if not found:
        raise ApiError(404, "vector_db_not_found", f"No vector database {ref!r}; list them with `mcphost vectors ls`.")
    raise ApiError(409, "ambiguous", f"Several vector databases are named {ref!r}; use the id.")


async def create(client: MCPHostClient, name: str, org_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name} | ({"org_id": org_id} if org_id else {})
    return dict(await client.request("POST", "/api/vector-dbs", json=body))


async def get(client: MCPHostClient, db_id: str) -> dict[str, Any]:
    return dict(await client.request("GET", f"/api/vector-dbs/{db_id}"))


async def delete(client: MCPHostClient, db_id: str) -> None:
    await client.request("DELETE", f"/api/vector-dbs/{db_id}")


async def list_collections(client: MCPHostClient, db_id: str) -> list[dict[str, Any]]:
    return list(await client.request("GET", f"/api/vector-dbs/{db_id}/collections"))


async def create_collection(client: MCPHostClient, db_id: str, name: str) -> dict[str, Any]:
    return dict(await client.request("POST", f"/api/vector-dbs/{db_id}/collections", json={"name": name}))


async def delete_collection(client: MCPHostClient, db_id: str, name: str) -> None:
    await client.request("DELETE", f"/api/vector-dbs/{db_id}/collections/{quote(name, safe='')}")


async def query(client: MCPHostClient, db_id: str, collection: str, text: str, k: int = 5) -> list[dict[str, Any]]:
    path = f"/api/vector-dbs/{db_id}/collections/{quote(collection, safe='')}/query"
    return list((await client.request("POST", path, json={"query": text, "k": k}))["results"])


async def list_documents(client: MCPHostClient, db_id: str, collection: str) -> list[dict[str, Any]]:
    return list(
        await client.request("GET", f"/api/vector-dbs/{db_id}/collections/{quote(collection, safe='')}/documents")
    )


async def publish(client: MCPHostClient, db_id: str, collection: str, name: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"collection": collection} | ({"name": name} if name else {})
    return dict(await client.request("POST", f"/api/vector-dbs/{db_id}/publish", json=body))


async def ingest(
    client: MCPHostClient,
    db_id: str,
    collection: str,
    sources: list[dict[str, Any]],
    *,
    files: list[Path] = (),  # type: ignore[assignment]
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
) -> dict[str, Any]:
    """Start an ingestion job; local ``files`` are uploaded with it (add a ``{"type": "upload"}`` source)."""
    spec: dict[str, Any] = {"vector_db_id": db_id, "collection": collection, "sources": sources}
    spec |= {k: v for k, v in (("chunk_size", chunk_size), ("chunk_overlap", chunk_overlap)) if v is not None}
    if not files:
        return dict(await client.request("POST", "/api/ingestion-jobs", json=spec))
    headers = {"Authorization": f"Bearer {client.token}"} if client.token else {}
    handles = [path.open("rb") for path in files]
    try:
        parts = [
            ("files", (path.name, handle, "application/octet-stream"))
            for path, handle in zip(files, handles, strict=True)
        ]
        response = await client._http.post(
            "/api/ingestion-jobs",
            data={"spec": json.dumps(spec)},
            files=parts,
            headers=headers,
            timeout=httpx.Timeout(10.0, read=300.0, write=300.0),
        )
    except httpx.TransportError as exc:
        raise Unreachable(client.base_url, _reason(exc)) from None
    finally:
        for handle in handles:
            handle.close()
    if response.is_error:
        raise _api_error(response)
    return dict(response.json())


async def list_jobs(client: MCPHostClient, db_id: str | None = None) -> list[dict[str, Any]]:
    return list(await client.request("GET", "/api/ingestion-jobs", params={"vector_db_id": db_id}))


async def get_job(client: MCPHostClient, job_id: str) -> dict[str, Any]:
    return dict(await client.request("GET", f"/api/ingestion-jobs/{job_id}"))


async def cancel_job(client: MCPHostClient, job_id: str) -> dict[str, Any]:
    return dict(await client.request("POST", f"/api/ingestion-jobs/{job_id}/cancel"))


async def delete_job(client: MCPHostClient, job_id: str) -> None:
    await client.request("DELETE", f"/api/ingestion-jobs/{job_id}")
