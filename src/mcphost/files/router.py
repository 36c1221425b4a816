"""Endpoints of a server's files: ``GET`` lists a directory or downloads a file, ``PUT`` uploads the raw body to a
file, ``POST`` a multipart ``file`` field into a directory, ``DELETE`` removes. Bodies stream to disk; the request
size middleware leaves these paths to the limits here (files.max_file_bytes, files.quota_bytes)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from mcphost.accounts.principal import Principal
from mcphost.api.deps import PlatformDep, ReadPrincipal, SessionDep, WritePrincipal
from mcphost.api.schemas import AUTHENTICATED_ERRORS, error_responses
from mcphost.errors import BadRequest, ValidationFailed
from mcphost.files import service
from mcphost.files.multipart import MultipartFile
from mcphost.files.paths import parse_name, parse_path
from mcphost.files.schemas import FileDeleted, FileListing, FileStored, file_out
from mcphost.platform import Platform

router = APIRouter(prefix="/api/servers", tags=["files"], responses=AUTHENTICATED_ERRORS)
#: The paths whose bodies these endpoints stream and limit themselves (see RequestLimitsMiddleware).
STREAMED_PATHS = re.compile(r"^/api/servers/[^/]+/files(/|$)")
#: An upload that replaced a file answers 200 (a new one 201).
REPLACED: dict[int | str, dict[str, Any]] = {
    200: {"model": FileStored, "description": "An existing file was replaced."}
}
#: A file's bytes, or (for a directory) its listing.
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "model": FileListing,
        "description": "The file's bytes (its own content type), or a directory's listing (JSON).",
        # Any type: a file is sent with the content type its name suggests (text/plain, image/png…).
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise ValidationFailed("Content-Length must be a number of bytes.", code="invalid_upload")
    return int(value)


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise BadRequest("The upload was interrupted; nothing was stored.", code="upload_interrupted") from None


def _disposition(name: str) -> str:
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", name) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def _read(
    request: Request, server_id: uuid.UUID, path: str, principal: Principal, session: AsyncSession, platform: Platform
) -> Response:
    found = await service.read(session, platform.settings, principal, server_id, path)
    if isinstance(found, service.Listing):
        listing = FileListing(
            path=found.path,
            entries=[file_out(entry) for entry in found.entries],
            total=found.total,
            truncated=found.total > len(found.entries),
            used_bytes=found.used_bytes,
            quota_bytes=found.quota_bytes,
        )
        return Response(listing.model_dump_json(), media_type="application/json")
    entry = found.entry
    headers = {
        "Content-Disposition": _disposition(entry.name),
        "Content-Length": str(entry.size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, no-store",
    }
    if entry.sha256:
        headers["ETag"] = f'"{entry.sha256}"'
    return StreamingResponse(found.chunks(), media_type=entry.content_type, headers=headers)


@router.get(
    "/{server_id}/files",
    response_model=FileListing,
    summary="List the server's files (/data)",
    responses=error_responses(409),
)
async def list_root(
    request: Request, server_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, platform: PlatformDep
) -> Response:
    return await _read(request, server_id, "", principal, session, platform)


@router.get(
    "/{server_id}/files/{path:path}",
    response_model=None,
    responses=DOWNLOAD | error_responses(409, 422),
    summary="Download a file, or list a directory (JSON, like GET /files)",
)
async def read(
    request: Request,
    server_id: uuid.UUID,
    path: str,
    principal: ReadPrincipal,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    return await _read(request, server_id, path, principal, session, platform)


@router.put(
    "/{server_id}/files/{path:path}",
    status_code=status.HTTP_201_CREATED,
    responses=REPLACED | error_responses(409, 413, 422),
    summary="Upload the raw request body to a file (parents made; replaced atomically)",
)
async def put_file(
    request: Request,
    response: Response,
    server_id: uuid.UUID,
    path: str,
    principal: WritePrincipal,
    session: SessionDep,
    platform: PlatformDep,
    overwrite: Annotated[bool, Query(description="Replace an existing file (false: 409 instead).")] = True,
) -> FileStored:
    entry, created = await service.upload(
        session,
        platform.settings,
        principal,
        server_id,
        path,
        _body(request),
        declared_length=_declared_length(request),
        overwrite=overwrite,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return FileStored(**file_out(entry).model_dump(), created=created)


async def _post(
    request: Request,
    response: Response,
    server_id: uuid.UUID,
    directory: str,
    overwrite: bool,
    principal: Principal,
    session: AsyncSession,
    platform: Platform,
) -> FileStored:
    base = parse_path(directory, allow_root=True)
    upload = MultipartFile(request.headers.get("content-type", ""), _body(request))
    name = parse_name(await upload.filename())
    entry, created = await service.upload(
        session,
        platform.settings,
        principal,
        server_id,
        "/".join((*base, name)),
        upload.chunks(),
        overwrite=overwrite,
        parts=(*base, name),
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return FileStored(**file_out(entry).model_dump(), created=created)


@router.post(
    "/{server_id}/files",
    status_code=status.HTTP_201_CREATED,
    responses=REPLACED | error_responses(409, 413, 422),
    summary="Upload a multipart 'file' field into /data, under its filename",
)
async def post_root(
    request: Request,
    response: Response,
    server_id: uuid.UUID,
    principal: WritePrincipal,
    session: SessionDep,
    platform: PlatformDep,
    overwrite: bool = True,
) -> FileStored:
    return await _post(request, response, server_id, "", overwrite, principal, session, platform)


@router.post(
    "/{server_id}/files/{path:path}",
    status_code=status.HTTP_201_CREATED,
    responses=REPLACED | error_responses(409, 413, 422),
    summary="Upload a multipart 'file' field into a directory (made if missing), under its filename",
)
async def post_file(
    request: Request,
    response: Response,
    server_id: uuid.UUID,
    path: str,
    principal: WritePrincipal,
    session: SessionDep,
    platform: PlatformDep,
    overwrite: bool = True,
) -> FileStored:
    return await _post(request, response, server_id, path, overwrite, principal, session, platform)


@router.delete(
    "/{server_id}/files/{path:path}",
    responses=error_responses(409, 422),
    summary="Delete a file, a link, or a directory (recursive=true: with its contents)",
)
async def delete_file(
    server_id: uuid.UUID,
    path: str,
    principal: WritePrincipal,
    session: SessionDep,
    platform: PlatformDep,
    recursive: bool = False,
) -> FileDeleted:
    kind = await service.delete(session, platform.settings, principal, server_id, path, recursive=recursive)
    return FileDeleted(path=path.removesuffix("/"), type=kind)
