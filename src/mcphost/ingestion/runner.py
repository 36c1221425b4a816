"""Running an ingestion job (the ``ingestion.run`` durable job, on the vector database's node queue).

Each document is extracted, chunked, embedded (in a worker thread) and upserted; its chunks' ids are stable
(``sha256(source)[:16]:chunk``) and carry the document's content hash, so re-ingesting an unchanged document is
skipped, and a changed one replaces its chunks (the old ones are deleted first). Progress (documents, chunks, bytes)
is written after every document; a document that fails is recorded with its reason and the job goes on. Cancellation
is checked between documents. A failure of the database itself (not answering) fails the attempt: the queue retries
it with backoff, and the last attempt marks the job failed with the reason."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import uuid
from collections.abc import AsyncIterator
from typing import Any, Protocol

from mcphost.db.base import utcnow
from mcphost.db.session import Database
from mcphost.errors import AppError
from mcphost.ingestion import sources as reading
from mcphost.ingestion.chunking import chunks
from mcphost.ingestion.extract import DocumentError, extract
from mcphost.ingestion.service import RUN
from mcphost.jobs.registry import JobContext, JobRegistry
from mcphost.models import IngestionJob, IngestionStatus, Server, VectorDatabase
from mcphost.security.keys import KeyRing
from mcphost.servers.launch import data_dir
from mcphost.settings import Settings
from mcphost.vectors.chroma import ChromaClient, Collection
from mcphost.vectors.embedding import Embedder
from mcphost.vectors.process import db_dir, disk_bytes
from mcphost.vectors.service import client_for, embedder

log = logging.getLogger(__name__)
UPSERT_BATCH = 64


class RunnerParts(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def keys(self) -> KeyRing: ...


class Cancelled(Exception):
    pass


def register_ingestion_jobs(registry: JobRegistry, parts: RunnerParts) -> None:
    if registry.get(RUN) is None:
        registry.register(RUN, IngestionRunner(parts).run)


class IngestionRunner:
    def __init__(self, parts: RunnerParts) -> None:
        self.parts = parts
        self.settings = parts.settings

    async def run(self, context: JobContext) -> dict[str, Any] | None:
        job_id = uuid.UUID(context.payload["ingestion_job_id"])
        async with self.parts.db.session_scope() as session:
            row = await session.get(IngestionJob, job_id)
            if row is None or row.status.finished:
                return {"skipped": "the ingestion job is gone or finished"}
            row.status, row.started_at = IngestionStatus.RUNNING, row.started_at or utcnow()
            row.progress, row.errors, row.error = dict(row.progress), list(row.errors), None
            vector_db = await session.get(VectorDatabase, row.vector_db_id)
            assert vector_db is not None  # the job goes with its database (cascade)
            sources, collection_name = list(row.sources), row.collection
            size, overlap = row.chunk_size, row.chunk_overlap
        try:
            async with client_for(self.parts, vector_db) as chroma:
                collection = await chroma.create(collection_name, get_or_create=True)
                state = await self._ingest(job_id, vector_db, chroma, collection, sources, size, overlap)
        except Cancelled:
            await self._finish(job_id, IngestionStatus.CANCELLED, None)
            return {"cancelled": True}
        except Exception as exc:
            # The database did not answer, or something unforeseen: the queue retries with backoff; the job records
            # each failed attempt, and fails with the reason after the last one.
            reason = str(exc) if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
            if context.attempt < context.max_attempts:
                await self._note(job_id, f"attempt {context.attempt} failed, retrying: {reason}")
            else:
                await self._finish(job_id, IngestionStatus.FAILED, reason)
            raise
        status = _outcome(state)
        error = "no document could be ingested" if status is IngestionStatus.FAILED else None
        if not state["documents_total"]:
            error = "the sources hold no supported documents (plain text, Markdown, HTML, PDF)"
        await self._finish(job_id, status, error)
        return {"status": status.value, **state}

    async def _ingest(
        self,
        job_id: uuid.UUID,
        vector_db: VectorDatabase,
        chroma: ChromaClient,
        collection: Collection,
        sources: list[dict[str, Any]],
        size: int,
        overlap: int,
    ) -> dict[str, int]:
        model = embedder(self.settings)
        progress = {key: 0 for key in ("documents_total", "documents_done", "documents_failed", "documents_unchanged",
                                       "chunks", "bytes")}  # fmt: skip
        errors: list[dict[str, str]] = []
        directory = db_dir(self.settings.home, vector_db.id)
        async for document in self._documents(job_id, sources):
            if await self._cancel_requested(job_id):
                raise Cancelled
            progress["documents_total"] += 1
            if progress["documents_total"] > self.settings.ingestion.max_documents:
                errors.append({"document": document.key, "error": "over the limit of documents per job"})
                progress["documents_failed"] += 1
                continue
            try:
                if await asyncio.to_thread(disk_bytes, directory) >= self.settings.vectors.max_disk_bytes:
                    raise DocumentError(
                        f"the vector database is at its disk limit ({self.settings.vectors.max_disk_bytes} bytes)"
                    )
                stored = await self._one(chroma, collection, model, document, size, overlap)
            except DocumentError as exc:
                errors.append({"document": document.key, "error": str(exc)})
                progress["documents_failed"] += 1
            else:
                if stored is None:
                    progress["documents_unchanged"] += 1
                else:
                    progress["chunks"] += stored
                progress["documents_done"] += 1
                progress["bytes"] += len(document.data)
            await self._progress(job_id, progress, errors)
        return progress

    async def _documents(self, job_id: uuid.UUID, sources: list[dict[str, Any]]) -> AsyncIterator[reading.Document]:
        limit = self.settings.ingestion.max_document_bytes
        for source in sources:
            kind = source["type"]
            if kind == "server_files":
                async with self.parts.db.session_scope() as session:
                    server = await session.get(Server, uuid.UUID(source["server_id"]))
                if server is None:
                    yield reading.Document(f"server:{source['server_id']}", error="the server no longer exists")
                    continue
                iterator = reading.server_files(data_dir(self.settings.home, server), source, limit)
            elif kind == "upload":
                iterator = reading.uploads(reading.upload_dir(self.settings.home, job_id), limit)
            elif kind == "git":
                iterator = reading.git(source, self.settings, limit)
            else:
                iterator = reading.url(source, self.settings)
            async for document in iterator:
                yield document

    async def _one(
        self,
        chroma: ChromaClient,
        collection: Collection,
        model: Embedder,
        document: reading.Document,
        size: int,
        overlap: int,
    ) -> int | None:
        """Store one document; the number of chunks stored, or None when it is unchanged since last time."""
        if document.error:
            raise DocumentError(document.error)
        try:
            extracted = await asyncio.to_thread(extract, document.key, document.data, document.content_type)
        except DocumentError:
            raise
        except Exception as exc:  # a parser's own failure on this document is this document's error
            raise DocumentError(f"it cannot be parsed: {type(exc).__name__}: {exc}") from exc
        content_hash = hashlib.sha256(extracted.text.encode()).hexdigest()[:32]
        existing = await chroma.get(collection, where={"source": document.key}, limit=1)
        if existing.get("ids") and (existing["metadatas"][0] or {}).get("hash") == content_hash:
            return None
        pieces = chunks(extracted.text, size, overlap)
        vectors = await asyncio.to_thread(model.embed, [piece.text for piece in pieces])
        if existing.get("ids"):
            await chroma.delete_where(collection, {"source": document.key})  # a changed document: replace it whole
        base = hashlib.sha256(document.key.encode()).hexdigest()[:16]
        metadata = {
            "source": document.key,
            "title": extracted.title[:300],
            "hash": content_hash,
            "kind": extracted.kind,
        }
        for start in range(0, len(pieces), UPSERT_BATCH):
            batch = range(start, min(start + UPSERT_BATCH, len(pieces)))
            await chroma.upsert(
                collection,
                ids=[f"{base}:{i}" for i in batch],
                embeddings=[vectors[i] for i in batch],
                documents=[pieces[i].text for i in batch],
                metadatas=[metadata | {"chunk": i, "overlap": pieces[i].overlap} for i in batch],
            )
        return len(pieces)

    async def _cancel_requested(self, job_id: uuid.UUID) -> bool:
        async with self.parts.db.session_scope() as session:
            row = await session.get(IngestionJob, job_id)
            return row is None or row.cancel_requested

    async def _progress(self, job_id: uuid.UUID, progress: dict[str, int], errors: list[dict[str, str]]) -> None:
        async with self.parts.db.session_scope() as session:
            row = await session.get(IngestionJob, job_id)
            if row is not None:
                row.progress, row.errors = dict(progress), list(errors)

    async def _note(self, job_id: uuid.UUID, error: str) -> None:
        async with self.parts.db.session_scope() as session:
            row = await session.get(IngestionJob, job_id)
            if row is not None:
                row.error = error[:2000]

    async def _finish(self, job_id: uuid.UUID, status: IngestionStatus, error: str | None) -> None:
        async with self.parts.db.session_scope() as session:
            row = await session.get(IngestionJob, job_id)
            if row is not None:
                row.status, row.error, row.finished_at = status, error, utcnow()
        if status is not IngestionStatus.FAILED:
            shutil.rmtree(reading.upload_dir(self.settings.home, job_id).parent, ignore_errors=True)


def _outcome(progress: dict[str, int]) -> IngestionStatus:
    if progress["documents_failed"] and progress["documents_done"]:
        return IngestionStatus.PARTIAL
    if progress["documents_failed"] or not progress["documents_total"]:
        return IngestionStatus.FAILED
    return IngestionStatus.SUCCEEDED
