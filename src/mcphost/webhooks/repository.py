"""All SQL of webhook deliveries. Callers have already checked that the principal may see the server."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.models import WebhookDelivery
from mcphost.servers.invocations import decode_cursor, encode_cursor


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, delivery: WebhookDelivery, *, keep: int) -> WebhookDelivery:
        """Record a delivery and forget the server's older ones beyond the newest ``keep``."""
        self.session.add(delivery)
        await self.session.flush()
        oldest_kept = await self.session.scalar(
            sa.select(WebhookDelivery.id)
            .where(WebhookDelivery.server_id == delivery.server_id)
            .order_by(WebhookDelivery.id.desc())
            .offset(keep - 1)
            .limit(1)
        )
        if oldest_kept is not None:
            await self.session.execute(
                sa.delete(WebhookDelivery).where(
                    WebhookDelivery.server_id == delivery.server_id, WebhookDelivery.id < oldest_kept
                )
            )
        return delivery

    async def page(
        self, server_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> tuple[list[WebhookDelivery], str | None]:
        """One page of the server's deliveries, newest first, and the next page's cursor."""
        statement = sa.select(WebhookDelivery).where(WebhookDelivery.server_id == server_id)
        if cursor:
            statement = statement.where(WebhookDelivery.id < decode_cursor(cursor))
        statement = statement.order_by(WebhookDelivery.id.desc()).limit(limit + 1)
        rows = list((await self.session.scalars(statement)).all())
        if len(rows) <= limit:
            return rows, None
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].id)
