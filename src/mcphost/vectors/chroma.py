"""A small async client of Chroma's HTTP API (v2), with the database's token. The platform talks to Chroma with
httpx rather than the ``chromadb`` client: that one is synchronous and heavy to import in the API process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from mcphost.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed

_BASE = "/api/v2/tenants/default_tenant/databases/default_database"


class ChromaUnavailable(ServiceUnavailable):
    """The database's Chroma server is meant to run but does not answer (or fails inside)."""

    code = "vector_db_unavailable"


class VectorDbNotRunning(Conflict):
    """The database is starting, or failed and waits for its restart: nothing to ask yet."""

    code = "vector_db_not_running"


@dataclass(frozen=True)
class Collection:
    id: str
    name: str


class ChromaClient:
    def __init__(self, port: int, token: str, timeout: float = 30.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    async def __aenter__(self) -> ChromaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ChromaUnavailable(
                f"The vector database does not answer ({type(exc).__name__}); retry shortly."
            ) from exc
        if response.status_code == 404:
            raise NotFound(_message(response) or "Not found in the vector database.", code="collection_not_found")
        if response.status_code == 409:
            raise Conflict(_message(response) or "It exists already in the vector database.", code="vector_db_conflict")
        if response.status_code in (400, 422):
            raise ValidationFailed(f"The vector database refused the request: {_message(response)}")
        if response.status_code >= 400:  # its token refused (401/403), or it failed inside
            raise ChromaUnavailable(
                f"The vector database refused the request ({response.status_code}): {_message(response)}"
            )
        return response.json() if response.content else None

    async def heartbeat(self) -> bool:
        """Whether it answers an authenticated request (the token is right and the server ours)."""
        try:
            response = await self._http.get(f"{_BASE}/collections", params={"limit": 1})
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def collections(self) -> list[Collection]:
        rows = await self._call("GET", f"{_BASE}/collections")
        return [Collection(row["id"], row["name"]) for row in rows]

    async def find(self, name: str) -> Collection:
        row = await self._call("GET", f"{_BASE}/collections/{name}")
        return Collection(row["id"], row["name"])

    async def create(self, name: str, *, get_or_create: bool = False) -> Collection:
        body = {"name": name, "metadata": {"hnsw:space": "cosine"}, "get_or_create": get_or_create}
        row = await self._call("POST", f"{_BASE}/collections", body)
        return Collection(row["id"], row["name"])

    async def delete_collection(self, name: str) -> None:
        await self._call("DELETE", f"{_BASE}/collections/{name}")

    async def count(self, collection: Collection) -> int:
        return int(await self._call("GET", f"{_BASE}/collections/{collection.id}/count"))

    async def upsert(
        self,
        collection: Collection,
        ids: list[str],
        embeddings: list[list[float]],
        documents: list[str],
        metadatas: list[dict[str, Any]],
    ) -> None:
        body = {"ids": ids, "embeddings": embeddings, "documents": documents, "metadatas": metadatas}
        await self._call("POST", f"{_BASE}/collections/{collection.id}/upsert", body)

    async def delete_where(self, collection: Collection, where: dict[str, Any]) -> None:
        await self._call("POST", f"{_BASE}/collections/{collection.id}/delete", {"where": where})

    async def get(
        self, collection: Collection, *, where: dict[str, Any] | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"include": ["documents", "metadatas"]}
        if where:
            body["where"] = where
        if limit:
            body["limit"] = limit
        return dict(await self._call("POST", f"{_BASE}/collections/{collection.id}/get", body))

    async def query(self, collection: Collection, embedding: list[float], k: int) -> list[dict[str, Any]]:
        body = {"query_embeddings": [embedding], "n_results": k, "include": ["documents", "metadatas", "distances"]}
        found = await self._call("POST", f"{_BASE}/collections/{collection.id}/query", body)
        ids = found["ids"][0]
        return [
            {
                "id": ids[i],
                "text": found["documents"][0][i],
                "metadata": found["metadatas"][0][i] or {},
                "score": round(1.0 - float(found["distances"][0][i]), 4),
            }
            for i in range(len(ids))
        ]


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    return str(body.get("message") or body.get("error") or body)[:300] if isinstance(body, dict) else str(body)[:300]
