"""Administrators' job endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from mcphost.api.deps import AdminPrincipal, SessionDep
from mcphost.api.schemas import AUTHENTICATED_ERRORS, Page, error_responses
from mcphost.db.pagination import MAX_LIMIT
from mcphost.jobs import service
from mcphost.jobs.schemas import JobOut
from mcphost.models import JobStatus

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=AUTHENTICATED_ERRORS)


@router.get("", summary="Jobs, newest first (administrators)")
async def list_jobs(
    _admin: AdminPrincipal,
    session: SessionDep,
    status: JobStatus | None = None,
    kind: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[JobOut]:
    jobs, next_cursor = await service.list_jobs(session, status=status, kind=kind, limit=limit, cursor=cursor)
    return Page[JobOut](items=[JobOut.model_validate(job) for job in jobs], next_cursor=next_cursor)


@router.get("/{job_id}", summary="One job (administrators)")
async def get_job(job_id: uuid.UUID, _admin: AdminPrincipal, session: SessionDep) -> JobOut:
    return JobOut.model_validate(await service.get_job(session, job_id))


@router.post("/{job_id}/retry", responses=error_responses(409), summary="Queue a dead or cancelled job again")
async def retry_job(job_id: uuid.UUID, _admin: AdminPrincipal, session: SessionDep) -> JobOut:
    return JobOut.model_validate(await service.retry_job(session, job_id))


@router.post("/{job_id}/cancel", responses=error_responses(409), summary="Cancel a queued job")
async def cancel_job(job_id: uuid.UUID, _admin: AdminPrincipal, session: SessionDep) -> JobOut:
    return JobOut.model_validate(await service.cancel_job(session, job_id))
