"""Keyset pagination over (created_at, id), newest first, with opaque cursors."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from mcphost.errors import ValidationFailed

T = TypeVar("T")
MAX_LIMIT = 200


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = orjson.dumps([created_at.isoformat(), str(row_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = orjson.loads(raw)
        return datetime.fromisoformat(created), uuid.UUID(row_id)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise ValidationFailed(
            "The cursor is not valid; pass the next_cursor of a previous page unchanged.",
            code="invalid_cursor",
            details=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from exc


async def paginate(
    session: AsyncSession,
    statement: sa.Select[T],
    *,
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    limit: int,
    cursor: str | None,
) -> tuple[list[T], str | None]:
    """One page of ``statement``'s rows, newest first, and the cursor of the next page."""
    if cursor:
        after_created, after_id = decode_cursor(cursor)
        statement = statement.where(
            sa.or_(created_at < after_created, sa.and_(created_at == after_created, row_id < after_id))
        )
    statement = statement.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)
    rows: list[Any] = list((await session.scalars(statement)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, created_at.key), getattr(last, row_id.key))
    return rows, next_cursor
