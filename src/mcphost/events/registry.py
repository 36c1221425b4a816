"""Choosing the bus backend from settings."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from mcphost.events.base import EventBus
from mcphost.events.memory import MemoryEventBus
from mcphost.settings import Settings


def create_bus(settings: Settings, engine: AsyncEngine) -> EventBus:
    replay, queue = settings.events.replay_buffer, settings.events.subscriber_queue
    if settings.event_backend == "postgres":
        if engine.dialect.name != "postgresql":
            raise ValueError("the postgres event bus needs a PostgreSQL database (MCPHOST_DATABASE_URL)")
        from mcphost.events.postgres import PostgresEventBus

        return PostgresEventBus(engine, replay, queue, check_seconds=settings.events.listener_check_seconds)
    return MemoryEventBus(replay, queue)
