"""Liveness, readiness, Prometheus metrics and version: the endpoints operators and orchestrators poll."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mcphost import __version__
from mcphost.api.deps import PlatformDep
from mcphost.db import migrate
from mcphost.errors import Unauthorized

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/healthz", summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok", version=__version__)


@router.get(
    "/readyz",
    summary="The database is reachable and its schema is current",
    responses={503: {"model": Readiness, "description": "Not ready"}},
)
async def readyz(platform: PlatformDep) -> Readiness:
    checks: dict[str, str] = {}
    try:
        async with platform.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current = await migrate.current_revision(platform.db.engine)
        head = migrate.head_revision()
        checks["migrations"] = "ok" if current == head else f"at {current}, expected {head}"
    except (SQLAlchemyError, OSError) as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values()) and "migrations" in checks
    if not ready:
        return JSONResponse(Readiness(status="unavailable", checks=checks).model_dump(), status_code=503)  # type: ignore[return-value]
    return Readiness(status="ok", checks=checks)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
    summary="Prometheus metrics",
)
async def metrics(request: Request, platform: PlatformDep) -> Response:
    token = platform.settings.server.metrics_token
    if token is not None:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token.get_secret_value()}".encode()):
            raise Unauthorized("Metrics need 'Authorization: Bearer <metrics token>'.")
    return Response(platform.metrics.render(), media_type=platform.metrics.content_type)
