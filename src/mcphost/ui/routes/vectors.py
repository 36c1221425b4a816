"""The Vector databases pages: the list with usage and a create form (``/vectors``), and one database with its
collections, a search box, an upload form that starts an ingestion job, its jobs with live progress (htmx polls the
jobs part while one runs; the status part while the database is not running, which reloads the page when it
changes), publishing as an MCP server, and deletion (``/vectors/{id}``). The pages call the API's
own services."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.errors import AppError
from mcphost.ingestion import service as ingestion
from mcphost.ingestion.schemas import IngestionCreate
from mcphost.ui.forms import validated
from mcphost.ui.routing import ConsoleRoute, ConsoleUser, redirect
from mcphost.ui.templating import render
from mcphost.vectors import service
from mcphost.vectors.schemas import CollectionCreate, PublishIn, VectorDbCreate

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
FormText = Annotated[str, Form(max_length=4000)]


@router.get("/vectors")
async def vectors_page(
    request: Request, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    rows = await service.list_visible(session, principal)
    databases = [{"row": row, "usage": await service.usage(platform, row)} for row in rows]
    return render(request, "vectors/index.html", {"section": "vectors", "databases": databases})


@router.post("/vectors")
async def create_db(
    request: Request, principal: ConsoleUser, session: SessionDep, platform: PlatformDep, name: FormText = ""
) -> Response:
    data = validated(VectorDbCreate, {"name": "Name"}, name=name)
    row = await service.create(session, platform, principal, data.name, None)
    return redirect(request, f"/vectors/{row.id}")


@router.get("/vectors/{db_id}")
async def db_page(
    request: Request, db_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    row = await service.get_visible(session, principal, db_id)
    if request.query_params.get("part") == "status":
        if row.status.value != request.query_params.get("shown"):  # running now, or failed: the page changes
            return Response(headers={"HX-Refresh": "true"})
        return render(request, "vectors/status.html", {"db": row})
    jobs = await ingestion.list_visible(session, principal, row.id, limit=20)
    context: dict[str, Any] = {"section": "vectors", "db": row, "jobs": jobs}
    if request.query_params.get("part") == "jobs":
        return render(request, "vectors/jobs.html", context)
    collections: list[dict[str, object]] = []
    problem = None
    try:
        collections = await service.list_collections(platform, row)
    except AppError as exc:
        problem = exc.message
    hits: list[dict[str, object]] = []
    query, searched = request.query_params.get("q", "").strip(), request.query_params.get("collection", "")
    if query and searched and problem is None:
        try:
            hits = await service.query(platform, row, searched, query[:4000], 5)
        except AppError as exc:
            problem = exc.message
    context |= {
        "usage": await service.usage(platform, row),
        "collections": collections,
        "problem": problem,
        "query": query,
        "searched": searched,
        "hits": hits,
    }
    return render(request, "vectors/db.html", context)


@router.post("/vectors/{db_id}/collections")
async def create_collection(
    request: Request,
    db_id: uuid.UUID,
    principal: ConsoleUser,
    session: SessionDep,
    platform: PlatformDep,
    name: FormText = "",
) -> Response:
    row = await service.get_modifiable(session, principal, db_id)
    data = validated(CollectionCreate, {"name": "Collection name"}, name=name)
    await service.create_collection(platform, row, data.name)
    return redirect(request, f"/vectors/{db_id}")


@router.post("/vectors/{db_id}/ingest")
async def ingest(
    request: Request, db_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    form = await request.form(max_files=ingestion.MAX_UPLOADS)
    files = [item for item in form.getlist("files") if isinstance(item, UploadFile) and item.filename]
    data = validated(
        IngestionCreate,
        {"collection": "Collection", "sources": "Files"},
        vector_db_id=db_id,
        collection=str(form.get("collection") or ""),
        sources=[{"type": "upload"}] if files else [],
    )
    await ingestion.create(session, platform, principal, data, files)
    return redirect(request, f"/vectors/{db_id}")


@router.post("/vectors/{db_id}/publish")
async def publish(
    request: Request,
    db_id: uuid.UUID,
    principal: ConsoleUser,
    session: SessionDep,
    platform: PlatformDep,
    collection: FormText = "",
) -> Response:
    row = await service.get_modifiable(session, principal, db_id)
    data = validated(PublishIn, {"collection": "Collection"}, collection=collection)
    server, _key = await service.publish(session, platform, principal, row, data.collection, None)
    return redirect(request, f"/servers/{server.id}")


@router.post("/vectors/{db_id}/delete")
async def delete_db(request: Request, db_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    await service.delete(session, principal, db_id)
    return redirect(request, "/vectors")


@router.post("/vectors/jobs/{job_id}/cancel")
async def cancel_job(request: Request, job_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    job = await ingestion.cancel(session, principal, job_id)
    return redirect(request, f"/vectors/{job.vector_db_id}")
