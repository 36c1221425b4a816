"""Rules of ingestion jobs: who may create them (those who may change the vector database, and the servers whose
files they read), what is checked at once (sources, the URL allow-list, git schemes, uploads and their size), and
cancelling and deleting them. The work itself is ``runner``'s, in a durable job on the database's node queue.

A job is visible to whoever sees its vector database (cross-tenant reads are 404)."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from mcphost.accounts.principal import Principal
from mcphost.builds.source import GitSource
from mcphost.db.base import utcnow
from mcphost.errors import InvalidTransition, NotFound, PayloadTooLarge, ValidationFailed
from mcphost.ingestion.extract import SUPPORTED
from mcphost.ingestion.schemas import IngestionCreate
from mcphost.ingestion.sources import host_allowed, upload_dir
from mcphost.jobs import queue
from mcphost.models import IngestionJob, IngestionStatus, Job, JobStatus, VectorDatabase
from mcphost.runtimes.base import PrepareFailed
from mcphost.servers import service as servers
from mcphost.servers.lifecycle_jobs import node_queue
from mcphost.settings import Settings
from mcphost.vectors import service as vectors
from mcphost.vectors.repository import visible_to

RUN = "ingestion.run"
MAX_UPLOADS = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


class IngestionParts(Protocol):
    @property
    def settings(self) -> Settings: ...


async def create(
    session: AsyncSession,
    parts: IngestionParts,
    principal: Principal,
    data: IngestionCreate,
    files: list[UploadFile],
) -> IngestionJob:
    settings = parts.settings
    config = settings.ingestion
    vector_db = await vectors.get_modifiable(session, principal, data.vector_db_id)
    size = data.chunk_size or config.chunk_size
    overlap = data.chunk_overlap if data.chunk_overlap is not None else min(config.chunk_overlap, size // 2)
    if overlap >= size:
        raise ValidationFailed(f"chunk_overlap ({overlap}) must be smaller than chunk_size ({size}).")
    kinds = [source.type for source in data.sources]
    if files and "upload" not in kinds:
        raise ValidationFailed('Files were uploaded but no source is of type \'upload\'; add {"type": "upload"}.')
    if "upload" in kinds and not files:
        raise ValidationFailed("A source of type 'upload' needs files: send them as multipart field 'files'.")
    if len(files) > MAX_UPLOADS:
        raise ValidationFailed(f"At most {MAX_UPLOADS} files per job.")
    for source in data.sources:
        if source.type == "server_files":
            await servers.get_modifiable(session, principal, source.server_id)
        elif source.type == "url":
            host = urlsplit(source.url).hostname or ""
            if not host_allowed(host, config.url_allow_list):
                raise ValidationFailed(
                    f"{host or source.url} is not on this instance's URL allow-list (ingestion.url_allow_list: "
                    f"{', '.join(config.url_allow_list) or 'empty, so no URL sources'}).",
                    code="url_not_allowed",
                )
        elif source.type == "git":
            try:
                GitSource.parse(source.model_dump(), frozenset(settings.builds.allow_git_schemes))
            except PrepareFailed as exc:
                raise ValidationFailed(str(exc), code="invalid_git_source") from exc
    row = IngestionJob(
        id=uuid.uuid4(),
        vector_db_id=vector_db.id,
        collection=data.collection,
        owner_user_id=principal.user_id,
        sources=[source.model_dump(mode="json", exclude_none=True) for source in data.sources],
        chunk_size=size,
        chunk_overlap=overlap,
        status=IngestionStatus.QUEUED,
        progress=empty_progress(),
        errors=[],
        cancel_requested=False,
    )
    if files:
        await _store_uploads(upload_dir(settings.home, row.id), files, config.max_document_bytes)
    try:
        session.add(row)
        await session.flush()
        job = await queue.enqueue(
            session, RUN, {"ingestion_job_id": str(row.id)}, queue=node_queue(vector_db.node), max_attempts=3
        )
        row.job_id = job.id
        await session.flush()
    except BaseException:
        shutil.rmtree(upload_dir(settings.home, row.id).parent, ignore_errors=True)
        raise
    return row


def empty_progress() -> dict[str, int]:
    return {"documents_total": 0, "documents_done": 0, "documents_failed": 0, "documents_unchanged": 0,
            "chunks": 0, "bytes": 0}  # fmt: skip


async def _store_uploads(folder: Path, files: list[UploadFile], limit: int) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # noqa: ASYNC240 (one directory)
    try:
        taken: set[str] = set()
        for upload in files:
            name = _UNSAFE.sub("_", Path(upload.filename or "upload.txt").name).strip(" .") or "upload.txt"
            if Path(name).suffix.lower() not in SUPPORTED:
                raise ValidationFailed(
                    f"{upload.filename}: unsupported file type; upload plain text, Markdown, HTML or PDF files.",
                    code="unsupported_document",
                )
            stem, suffix, n = Path(name).stem, Path(name).suffix, 1
            while name in taken:
                n += 1
                name = f"{stem}-{n}{suffix}"
            taken.add(name)
            written = 0
            with open(folder / name, "wb") as out:  # noqa: ASYNC230 (local disk, written in 1 MiB parts)
                while part := await upload.read(1 << 20):
                    written += len(part)
                    if written > limit:
                        raise PayloadTooLarge(
                            f"{upload.filename} is larger than the {limit} bytes a document may have."
                        )
                    out.write(part)
    except BaseException:
        shutil.rmtree(folder.parent, ignore_errors=True)
        raise


def _visible(principal: Principal) -> sa.Select[IngestionJob]:
    return (
        sa.select(IngestionJob)
        .join(VectorDatabase, VectorDatabase.id == IngestionJob.vector_db_id)
        .where(visible_to(principal))
    )


async def get_visible(session: AsyncSession, principal: Principal, job_id: uuid.UUID) -> IngestionJob:
    row = await session.scalar(_visible(principal).where(IngestionJob.id == job_id))
    if row is None:
        raise NotFound("No ingestion job with this id.", code="ingestion_job_not_found")
    return row


async def list_visible(
    session: AsyncSession, principal: Principal, vector_db_id: uuid.UUID | None, limit: int = 100
) -> list[IngestionJob]:
    statement = _visible(principal).order_by(IngestionJob.created_at.desc()).limit(limit)
    if vector_db_id is not None:
        statement = statement.where(IngestionJob.vector_db_id == vector_db_id)
    return list(await session.scalars(statement))


async def _modifiable(session: AsyncSession, principal: Principal, job_id: uuid.UUID) -> IngestionJob:
    row = await get_visible(session, principal, job_id)
    await vectors.get_modifiable(session, principal, row.vector_db_id)
    return row


async def cancel(session: AsyncSession, principal: Principal, job_id: uuid.UUID) -> IngestionJob:
    """A queued job stops at once; a running one after the document it is on (what was stored stays)."""
    row = await _modifiable(session, principal, job_id)
    if row.status.finished:
        raise InvalidTransition(
            f"The job has finished ({row.status.value}); only queued or running jobs can be cancelled."
        )
    row.cancel_requested = True
    if row.status is IngestionStatus.QUEUED:
        row.status, row.finished_at = IngestionStatus.CANCELLED, utcnow()
        if row.job_id is not None:
            job = await session.get(Job, row.job_id)
            if job is not None and job.status is JobStatus.QUEUED:
                job.status, job.finished_at = JobStatus.CANCELLED, utcnow()
    await session.flush()
    return row


async def delete(session: AsyncSession, parts: IngestionParts, principal: Principal, job_id: uuid.UUID) -> None:
    """The job's record and its uploaded files go; the chunks it stored stay in the collection."""
    row = await _modifiable(session, principal, job_id)
    if not row.status.finished:
        raise InvalidTransition("The job is still queued or running; cancel it first.")
    await session.delete(row)
    await session.flush()
    shutil.rmtree(upload_dir(parts.settings.home, row.id).parent, ignore_errors=True)
