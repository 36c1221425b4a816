"""Events shared by every replica on one PostgreSQL database through LISTEN/NOTIFY.

Each process holds one listening connection and delivers what arrives (its own events included) to its local
subscribers. NOTIFY payloads are limited to 8000 bytes: a larger event is sent with its data replaced by a
``{"truncated": true}`` marker, so events should carry identifiers, not documents.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from mcphost.events.base import Event, EventBus

log = logging.getLogger(__name__)

CHANNEL = "mcphost_events"
MAX_PAYLOAD_BYTES = 7900


class PostgresEventBus(EventBus):
    type = "postgres"

    def __init__(self, engine: AsyncEngine, replay_size: int = 1000, queue_size: int = 1000) -> None:
        super().__init__(replay_size, queue_size)
        self._engine = engine
        url = make_url(engine.url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._listener: asyncpg.Connection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        self._supervisor = asyncio.create_task(self._listen_forever(), name="events-listener")
        await asyncio.wait_for(self._connected.wait(), timeout=30)

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        await self._close_listener()
        await super().stop()

    async def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        async with self._engine.connect() as connection:
            for event in events:
                await connection.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": _payload(event)},
                )
            await connection.commit()

    async def _listen_forever(self) -> None:
        delay = 0.5
        while not self._stopping:
            try:
                lost = asyncio.Event()
                self._listener = await asyncpg.connect(self._dsn)
                self._listener.add_termination_listener(lambda _conn: lost.set())
                await self._listener.add_listener(CHANNEL, self._on_notify)
                self._connected.set()
                delay = 0.5
                await lost.wait()
                log.warning("event listener connection lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("event listener cannot connect: %s; retrying in %.1fs", exc, delay)
            await self._close_listener()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = Event.from_json(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed event notification")
            return
        self.fanout.deliver([event])

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            try:
                await listener.close(timeout=5)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                listener.terminate()


def _payload(event: Event) -> str:
    raw = event.to_json()
    if len(raw) > MAX_PAYLOAD_BYTES:
        log.warning("event %s of kind %s too large for NOTIFY; data truncated", event.id, event.kind)
        raw = Event(
            kind=event.kind,
            data={"truncated": True},
            user_id=event.user_id,
            org_id=event.org_id,
            id=event.id,
            ts=event.ts,
        ).to_json()
    return raw.decode()
