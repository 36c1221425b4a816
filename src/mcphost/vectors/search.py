"""Searching a collection and listing its documents: shared by the API, the console and the bridge that answers a
published database's MCP search server."""

from __future__ import annotations

import asyncio
from typing import Any

from mcphost.vectors.chroma import ChromaClient
from mcphost.vectors.embedding import Embedder

MAX_K = 50


async def search(chroma: ChromaClient, embedder: Embedder, collection: str, query: str, k: int) -> list[dict[str, Any]]:
    """The ``k`` chunks nearest to the query, best first, each with its document (``source``) and a score (cosine)."""
    found = await chroma.find(collection)
    [vector] = await asyncio.to_thread(embedder.embed, [query])
    hits = await chroma.query(found, vector, max(1, min(k, MAX_K)))
    return [
        {
            "source": hit["metadata"].get("source", ""),
            "title": hit["metadata"].get("title", ""),
            "chunk": hit["metadata"].get("chunk", 0),
            "score": hit["score"],
            "text": hit["text"],
        }
        for hit in hits
    ]


async def documents(chroma: ChromaClient, collection: str, limit: int = 10_000) -> list[dict[str, Any]]:
    """The documents stored in a collection (one entry per source, with its chunk count), by source."""
    found = await chroma.find(collection)
    rows = await chroma.get(found, limit=limit)
    seen: dict[str, dict[str, Any]] = {}
    for metadata in rows.get("metadatas") or []:
        metadata = metadata or {}
        source = str(metadata.get("source", ""))
        entry = seen.setdefault(
            source,
            {"source": source, "title": metadata.get("title", source), "chunks": 0, "hash": metadata.get("hash")},
        )
        entry["chunks"] += 1
    return sorted(seen.values(), key=lambda entry: entry["source"])


async def document_text(chroma: ChromaClient, collection: str, source: str) -> str | None:
    """A document's text as stored (its chunks in order, overlaps removed), or None when it is not there."""
    found = await chroma.find(collection)
    rows = await chroma.get(found, where={"source": source})
    parts = sorted(
        zip(rows.get("metadatas") or [], rows.get("documents") or [], strict=False),
        key=lambda pair: int((pair[0] or {}).get("chunk", 0)),
    )
    if not parts:
        return None
    text = ""
    for metadata, chunk in parts:
        skip = int((metadata or {}).get("overlap", 0)) if text else 0
        text += chunk[skip:]
    return text
