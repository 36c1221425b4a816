"""Reading and purging a server's invocation records (written by ``observability.traces``).

Pages go newest first by id, with an opaque cursor holding the last id seen. Purging keeps records younger
than the retention and, per server, the newest ``max_per_server``: one index probe finds the id to keep
from, then one range delete, which is cheap on SQLite and PostgreSQL alike."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.errors import ValidationFailed
from mcphost.models import InvocationRecord, ServerAccessKey, User
from mcphost.settings import TraceSettings

_MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class InvocationFilter:
    method: str | None = None
    tool: str | None = None
    status: str | None = None
    session_id: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"before": last_id})).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        before = orjson.loads(raw)["before"]
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        before = None
    if not isinstance(before, int) or isinstance(before, bool) or not 0 < before <= _MAX_ID:
        raise ValidationFailed(
            "The cursor is not valid; pass the next_cursor of a previous page unchanged.",
            code="invalid_cursor",
            details=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        )
    return before


async def page(
    session: AsyncSession, server_id: uuid.UUID, where: InvocationFilter, *, limit: int, cursor: str | None
) -> tuple[list[InvocationRecord], str | None]:
    """One page of a server's records, newest first, and the cursor of the next page."""
    statement = sa.select(InvocationRecord).where(InvocationRecord.server_id == server_id)
    if cursor:
        statement = statement.where(InvocationRecord.id < decode_cursor(cursor))
    if where.method is not None:
        statement = statement.where(InvocationRecord.method == where.method)
    if where.tool is not None:
        statement = statement.where(InvocationRecord.method == "tools/call", InvocationRecord.name == where.tool)
    if where.status is not None:
        statement = statement.where(InvocationRecord.status == where.status)
    if where.session_id is not None:
        statement = statement.where(InvocationRecord.session_id == where.session_id)
    statement = statement.order_by(InvocationRecord.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(statement)).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].id)


async def get(session: AsyncSession, server_id: uuid.UUID, invocation_id: int) -> InvocationRecord | None:
    return await session.scalar(
        sa.select(InvocationRecord).where(InvocationRecord.id == invocation_id, InvocationRecord.server_id == server_id)
    )


async def caller(session: AsyncSession, record: InvocationRecord) -> tuple[str | None, str | None]:
    """Who made the request: the user's email and the access key's name, when known (one query)."""
    if record.user_id is None and record.key_id is None:
        return None, None
    row = (
        await session.execute(
            sa.select(
                sa.select(User.email).where(User.id == record.user_id).scalar_subquery(),
                sa.select(ServerAccessKey.name).where(ServerAccessKey.id == record.key_id).scalar_subquery(),
            )
        )
    ).one()
    return row[0], row[1]


async def purge(session: AsyncSession, settings: TraceSettings, *, older_than: datetime, after_id: int = 0) -> int:
    """Delete records older than ``older_than``, then those beyond each server's budget. Only servers with
    records newer than ``after_id`` can have grown past it since an earlier purge, so only they are checked."""
    aged = await session.execute(sa.delete(InvocationRecord).where(InvocationRecord.ts < older_than))
    removed: int = aged.rowcount  # type: ignore[attr-defined]
    grown = await session.scalars(
        sa.select(InvocationRecord.server_id).where(InvocationRecord.id > after_id).distinct()
    )
    for server_id in grown.all():
        keep_from = await session.scalar(
            sa.select(InvocationRecord.id)
            .where(InvocationRecord.server_id == server_id)
            .order_by(InvocationRecord.id.desc())
            .offset(settings.max_per_server - 1)
            .limit(1)
        )
        if keep_from is not None:
            trimmed = await session.execute(
                sa.delete(InvocationRecord).where(
                    InvocationRecord.server_id == server_id, InvocationRecord.id < keep_from
                )
            )
            removed += trimmed.rowcount  # type: ignore[attr-defined]
    return removed


async def newest_id(session: AsyncSession) -> int:
    return int(await session.scalar(sa.select(sa.func.max(InvocationRecord.id))) or 0)
