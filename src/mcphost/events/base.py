"""Events, subscriptions and the local fan-out every bus backend delivers through."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson


def new_event_id() -> str:
    """Unique and roughly time-ordered: milliseconds in hex, then randomness."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(6)}"


@dataclass(frozen=True)
class Event:
    """Something that happened. Its audience is a user, an organisation's members, or (neither) admins only."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    user_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None
    id: str = field(default_factory=new_event_id)
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.id,
                "kind": self.kind,
                "data": self.data,
                "user_id": str(self.user_id) if self.user_id else None,
                "org_id": str(self.org_id) if self.org_id else None,
                "ts": self.ts.isoformat(),
            }
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Event:
        doc = orjson.loads(raw)
        return cls(
            kind=doc["kind"],
            data=doc.get("data") or {},
            user_id=uuid.UUID(doc["user_id"]) if doc.get("user_id") else None,
            org_id=uuid.UUID(doc["org_id"]) if doc.get("org_id") else None,
            id=doc["id"],
            ts=datetime.fromisoformat(doc["ts"]),
        )


class Subscription:
    """A bounded queue of events for one consumer. A consumer that falls too far behind is marked ``lagged``
    and its stream ends after the events it already has; it resumes from the replay buffer by event id."""

    def __init__(self, fanout: LocalFanout, maxsize: int) -> None:
        self._fanout = fanout
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize)
        self.lagged = False
        self.closed = False

    def offer(self, event: Event) -> None:
        if self.closed or self.lagged:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.lagged = True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._fanout.remove(self)
            # The sentinel wakes a waiting consumer; when the queue is full it already has items to drain.
            try:
                self._queue.put_nowait(None)
            except asyncio.QueueFull:
                pass

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event; ``None`` when the timeout passes or the subscription has ended."""
        if (self.closed or self.lagged) and self._queue.empty():
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    @property
    def ended(self) -> bool:
        return (self.closed or self.lagged) and self._queue.empty()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while not self.ended:
            event = await self.get()
            if event is not None:
                yield event

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.close()


class LocalFanout:
    """Delivers events to this process's subscriptions and keeps a replay buffer of recent ones."""

    def __init__(self, replay_size: int, queue_size: int) -> None:
        self._subscribers: set[Subscription] = set()
        self._replay: deque[Event] = deque(maxlen=replay_size) if replay_size else deque(maxlen=0)
        self._queue_size = queue_size

    def deliver(self, events: Iterable[Event]) -> None:
        for event in events:
            self._replay.append(event)
            for subscriber in list(self._subscribers):
                subscriber.offer(event)

    def subscribe(self, last_event_id: str | None = None) -> Subscription:
        subscription = Subscription(self, self._queue_size)
        if last_event_id:
            for event in self._events_after(last_event_id):
                subscription.offer(event)
        self._subscribers.add(subscription)
        return subscription

    def _events_after(self, last_event_id: str) -> list[Event]:
        buffered = list(self._replay)
        for index, event in enumerate(buffered):
            if event.id == last_event_id:
                return buffered[index + 1 :]
        return []

    def remove(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def close_all(self) -> None:
        for subscriber in list(self._subscribers):
            subscriber.close()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


class EventBus(ABC):
    """A backend publishes events; every process's subscribers receive them through a ``LocalFanout``."""

    type: str

    def __init__(self, replay_size: int = 1000, queue_size: int = 1000) -> None:
        self.fanout = LocalFanout(replay_size, queue_size)

    async def start(self) -> None:
        """Connect to the backend (no-op for the memory bus)."""

    async def stop(self) -> None:
        """Disconnect and end every subscription so open streams finish."""
        self.fanout.close_all()

    @abstractmethod
    async def publish(self, events: Sequence[Event]) -> None:
        """Deliver events to every subscriber of every process sharing this bus."""

    def subscribe(self, last_event_id: str | None = None) -> Subscription:
        return self.fanout.subscribe(last_event_id)
