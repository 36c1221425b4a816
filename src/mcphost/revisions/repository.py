"""All SQL of revisions. Callers have already checked that the principal may see the server."""

from __future__ import annotations

import base64
import uuid

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.errors import ValidationFailed
from mcphost.models import ServerRevision, User

_MAX_NUMBER = 2**31 - 1


def encode_cursor(last_number: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"before": last_number})).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        before = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["before"]
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        before = None
    if not isinstance(before, int) or isinstance(before, bool) or not 0 < before <= _MAX_NUMBER:
        raise ValidationFailed(
            "The cursor is not valid; pass the next_cursor of a previous page unchanged.",
            code="invalid_cursor",
            details=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        )
    return before


class RevisionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, revision: ServerRevision) -> ServerRevision:
        self.session.add(revision)
        await self.session.flush()
        return revision

    async def get(self, server_id: uuid.UUID, number: int) -> ServerRevision | None:
        return await self.session.scalar(
            sa.select(ServerRevision).where(ServerRevision.server_id == server_id, ServerRevision.number == number)
        )

    async def with_creator(self, server_id: uuid.UUID, number: int) -> tuple[ServerRevision, User | None] | None:
        row = (
            await self.session.execute(
                sa.select(ServerRevision, User)
                .outerjoin(User, User.id == ServerRevision.created_by)
                .where(ServerRevision.server_id == server_id, ServerRevision.number == number)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def page(
        self, server_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> tuple[list[tuple[ServerRevision, User | None]], str | None]:
        """One page of the server's revisions, newest first, each with its creator, and the next page's cursor."""
        statement = (
            sa.select(ServerRevision, User)
            .outerjoin(User, User.id == ServerRevision.created_by)
            .where(ServerRevision.server_id == server_id)
        )
        if cursor:
            statement = statement.where(ServerRevision.number < decode_cursor(cursor))
        result = await self.session.execute(statement.order_by(ServerRevision.number.desc()).limit(limit + 1))
        rows: list[tuple[ServerRevision, User | None]] = [(revision, user) for revision, user in result]
        if len(rows) <= limit:
            return rows, None
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1][0].number)
