"""Schemas shared by every endpoint: the error body, the documented error responses, cursor pages."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable error code, e.g. 'not_found', 'quota_exceeded'.")
    message: str = Field(description="What went wrong and what to do about it.")
    details: Any = Field(None, description="Structured context, e.g. the invalid fields of a request.")


class ErrorResponse(BaseModel):
    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Bad request",
        401: "Missing, invalid or expired credentials",
        403: "Not allowed (role, scope or quota)",
        404: "Not found, or not visible to the caller",
        409: "Conflicts with the current state",
        413: "Request body too large",
        422: "Invalid request",
        429: "Too many requests",
        503: "Not ready",
    }
    return {status: {"model": ErrorResponse, "description": descriptions[status]} for status in statuses}


AUTHENTICATED_ERRORS = error_responses(401, 403, 404, 413, 422)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null at the end.")
