"""Endpoints of ingestion jobs: create (JSON, or multipart with a ``spec`` JSON field and ``files``), list, get,
cancel, delete."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep, WritePrincipal
from mcphost.api.schemas import AUTHENTICATED_ERRORS, error_responses
from mcphost.errors import ValidationFailed
from mcphost.ingestion import service
from mcphost.ingestion.schemas import IngestionCreate, IngestionOut

# A job in a state that does not allow the change (cancelling a finished one), or its database not running: 409.
router = APIRouter(
    prefix="/api/ingestion-jobs", tags=["ingestion"], responses=AUTHENTICATED_ERRORS | error_responses(409)
)

CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": IngestionCreate.model_json_schema(ref_template="#/components/schemas/{model}")
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "string", "description": "The IngestionCreate JSON document."},
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    },
                    "required": ["spec"],
                }
            },
        },
    }
}


async def _parse(request: Request) -> tuple[IngestionCreate, list[UploadFile]]:
    """The job's definition and its uploaded files, from a JSON body or a multipart form."""
    files: list[UploadFile] = []
    try:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            try:
                form = await request.form(max_files=service.MAX_UPLOADS, max_fields=10)
            except StarletteHTTPException as exc:  # a malformed multipart body: a request to fix, as for bad JSON
                raise ValidationFailed(f"The multipart form could not be read: {exc.detail}") from exc
            spec: Any = form.get("spec")
            if not isinstance(spec, str):
                raise ValidationFailed("The multipart form needs a 'spec' field holding the job's JSON definition.")
            body = json.loads(spec)
            files = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
        else:
            body = await request.json()
        return IngestionCreate.model_validate(body), files
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"The body is not valid JSON: {exc.msg}.") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
        raise ValidationFailed(f"Invalid ingestion job: {problems}", details=json.loads(exc.json())) from exc


@router.post("", status_code=status.HTTP_201_CREATED, summary="Start an ingestion job", openapi_extra=CREATE_BODY)
async def create_job(
    request: Request, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> IngestionOut:
    data, files = await _parse(request)
    row = await service.create(session, platform, principal, data, files)
    return IngestionOut.model_validate(row)


@router.get("", summary="Ingestion jobs of the vector databases you can see, newest first")
async def list_jobs(
    principal: ReadPrincipal, session: SessionDep, vector_db_id: uuid.UUID | None = None
) -> list[IngestionOut]:
    return [IngestionOut.model_validate(row) for row in await service.list_visible(session, principal, vector_db_id)]


@router.get("/{job_id}", summary="An ingestion job with its progress and per-document errors")
async def get_job(job_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> IngestionOut:
    return IngestionOut.model_validate(await service.get_visible(session, principal, job_id))


@router.post("/{job_id}/cancel", summary="Cancel a queued or running ingestion job")
async def cancel_job(job_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> IngestionOut:
    return IngestionOut.model_validate(await service.cancel(session, principal, job_id))


@router.delete("/{job_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a finished ingestion job")
async def delete_job(job_id: uuid.UUID, principal: WritePrincipal, session: SessionDep, platform: PlatformDep) -> None:
    await service.delete(session, platform, principal, job_id)
