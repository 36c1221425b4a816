"""Renders every error, expected or not, as ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from mcphost.errors import AppError
from mcphost.observability.context import request_id

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def validation_details(errors: Any) -> list[dict[str, Any]]:
    """Where and why, without echoing the submitted values (they may be passwords)."""
    return [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type", "")}
        for error in errors
    ]


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    summary = "; ".join(f"{_location(d['loc'])}: {d['msg']}" for d in details[:5])
    return error_response(422, "validation_error", f"The request is invalid. {summary}", details)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, (ValueError, RecursionError)):
        return _undecodable_body()
    code = _STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = getattr(exc, "headers", None)
    if exc.status_code == 404 and message == "Not Found":
        message = "No such endpoint; see /api/docs for the API."
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        if allowed:  # Starlette names only the first route of the path; the path may have several
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
            message = f"{request.method} is not allowed here; use {', '.join(allowed)}."
    return error_response(exc.status_code, code, message, headers=headers)


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the request's path answers (for the ``Allow`` header of a 405), found by asking
    the routes whether they would take the same request with each method."""
    routes = [route for route in request.app.router.routes if not isinstance(route, Mount)]
    return [
        method
        for method in _METHOD_ORDER
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


def _undecodable_body() -> JSONResponse:
    """FastAPI answers an undocumented 400 to a JSON body it cannot decode at all (not UTF-8, nested too
    deep). Such a body is as malformed as a JSON syntax error, so it gets the same documented 422."""
    problem = "JSON decode error: the body is not UTF-8 JSON text a parser can read."
    details = [{"loc": ["body"], "msg": problem, "type": "json_invalid"}]
    return error_response(422, "validation_error", f"The request is invalid. body: {problem}", details)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    rid = request_id.get()
    return error_response(
        500, "internal_error", f"Something went wrong on our side (request {rid}).", {"request_id": rid}
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, _unexpected)
