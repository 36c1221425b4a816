"""Schemas shared by every endpoint: the error body, the documented error responses, cursor pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints, WithJsonSchema

T = TypeVar("T")

# Characters that show nothing (soft hyphen, zero-width spaces and joiners, direction marks, fillers, BOM): trimmed
# from the ends of a name like whitespace, so that padding never counts towards its length and a name made only of
# them is empty.
_INVISIBLE = "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0"
_NAME_EDGES = re.compile(rf"^[\s{_INVISIBLE}]+|[\s{_INVISIBLE}]+$")


NAME_MAX = 100
# What a name may weigh before it is trimmed: the padding around it is forgiven, up to as much again as the name.
NAME_RAW_MAX = 2 * NAME_MAX


def _trim_name(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if len(value) > NAME_RAW_MAX:
        raise ValueError(f"a name has at most {NAME_MAX} characters")
    return _NAME_EDGES.sub("", value)


# A name shown to people: trimmed (before its length is checked), 1 to 100 characters, no control characters (they
# would corrupt terminals and logs, and NUL cannot be stored in PostgreSQL). The published schema states the limit
# on what is sent (padding included), so that what it calls too long is refused.
DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX, pattern=r"^\s*[^\x00-\x1f\x7f]+\s*$"),
    BeforeValidator(_trim_name),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": NAME_RAW_MAX,
            "pattern": r"^\s*[^\x00-\x1f\x7f]+\s*$",
            "description": f"1 to {NAME_MAX} characters once the whitespace around it is trimmed.",
        }
    ),
]


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable error code, e.g. 'not_found', 'quota_exceeded'.")
    message: str = Field(description="What went wrong and what to do about it.")
    details: Any = Field(None, description="Structured context, e.g. the invalid fields of a request.")


class ErrorResponse(BaseModel):
    error: ErrorBody


_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def _iso_only(value: Any) -> Any:
    if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("use an ISO 8601 date-time such as 2026-01-31T12:00:00Z")
    return value


# An ISO 8601 date-time (not a number of seconds); without a zone it is taken as UTC.
IsoDateTime = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    AfterValidator(lambda value: value.replace(tzinfo=UTC) if value.tzinfo is None else value),
]


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
