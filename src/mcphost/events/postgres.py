"""Events shared by every replica on one PostgreSQL database through LISTEN/NOTIFY.

Each process holds one listening connection and delivers what arrives (its own events included) to its local
subscribers. The connection is checked with a query every ``check_seconds``: a peer that vanished silently
(a NAT or load balancer dropping an idle connection, a failed-over server) sends no close, and without the
check the process would stop receiving events for good. Events sent while the listener reconnects are lost to
it (NOTIFY keeps nothing for absent listeners); clients should refresh their view when their stream restarts.

NOTIFY payloads are limited to 8000 bytes: a larger event is sent with its data replaced by a
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
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from mcphost.events.base import Event, EventBus

log = logging.getLogger(__name__)

CHANNEL = "mcphost_events"
MAX_PAYLOAD_BYTES = 7900
CHECK_SECONDS = 30.0
# What losing the database looks like, from asyncpg (TimeoutError is an OSError).
_CONNECTION_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class PostgresEventBus(EventBus):
    type = "postgres"

    def __init__(
        self,
        engine: AsyncEngine,
        replay_size: int = 1000,
        queue_size: int = 1000,
        *,
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        super().__init__(replay_size, queue_size)
        self._engine = engine
        url = make_url(engine.url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._check_seconds = check_seconds
        self._listener: asyncpg.Connection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        self._supervisor = asyncio.create_task(self._listen_forever(), name="events-listener")
        try:
            await asyncio.wait_for(self._connected.wait(), timeout=30)
        except TimeoutError:
            await self.stop()  # no listener left retrying behind a failed start
            raise RuntimeError("the event bus cannot LISTEN on the database (see the warnings above)") from None

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        await self._close_listener(graceful=True)
        await super().stop()

    async def publish(self, events: Sequence[Event]) -> None:
        """NOTIFY every replica. This runs after the events' transaction committed, so a failure must not fail
        the request that did the work: it is logged, and this process's subscribers still get the events."""
        if not events:
            return
        try:
            async with self._engine.connect() as connection:
                for event in events:
                    await connection.execute(
                        text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": CHANNEL, "payload": _payload(event)},
                    )
                await connection.commit()
        except (SQLAlchemyError, *_CONNECTION_ERRORS) as exc:
            log.error("cannot notify other replicas of %d events (%s); delivered here only", len(events), exc)
            self.fanout.deliver(events)

    async def _listen_forever(self) -> None:
        delay = 0.5
        while not self._stopping:
            try:
                lost = asyncio.Event()
                self._listener = await asyncpg.connect(self._dsn, timeout=max(self._check_seconds, 10.0))
                self._listener.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await self._listener.add_listener(CHANNEL, self._on_notify)
                self._connected.set()
                delay = 0.5
                await self._until_lost(self._listener, lost)
                log.warning("event listener connection lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except _CONNECTION_ERRORS as exc:
                log.warning("event listener cannot connect: %s; retrying in %.1fs", exc, delay)
            await self._close_listener(graceful=False)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _until_lost(self, listener: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Returns once the connection is closed, or stops answering a query within ``check_seconds``."""
        while True:
            try:
                async with asyncio.timeout(self._check_seconds):
                    await lost.wait()
                return
            except TimeoutError:
                pass
            try:
                await listener.fetchval("SELECT 1", timeout=self._check_seconds)
            except _CONNECTION_ERRORS as exc:
                log.warning("event listener connection stopped answering: %s", exc)
                return

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = Event.from_json(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed event notification")
            return
        self.fanout.deliver([event])

    async def _close_listener(self, *, graceful: bool) -> None:
        # A lost connection is dropped at once: a polite close would wait for a peer that may never answer.
        listener, self._listener = self._listener, None
        if listener is None or listener.is_closed():
            return
        if not graceful:
            listener.terminate()
            return
        try:
            await listener.close(timeout=5)
        except _CONNECTION_ERRORS:
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
