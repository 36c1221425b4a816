"""Events, subscriptions and the local fan-out every bus backend delivers through."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

_ID_TIME_DIGITS = 12
_ID_LENGTH = _ID_TIME_DIGITS + 12


def new_event_id() -> str:
    """Unique and roughly time-ordered: milliseconds in hex, then randomness."""
    return f"{time.time_ns() // 1_000_000:0{_ID_TIME_DIGITS}x}{secrets.token_hex(6)}"


@dataclass(frozen=True)
class Event:
    """Something that happened. Its audience is a user, an organisation's members, or (neither) admins."""

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
        self._maxsize = maxsize
        self._events: deque[Event] = deque()
        # Set whenever there is something new for the consumer: an event, or the end of the subscription.
        self._wakeup = asyncio.Event()
        self.lagged = False
        self.closed = False

    def offer(self, event: Event) -> None:
        if self.closed or self.lagged:
            return
        if len(self._events) >= self._maxsize:
            # Dropping it would silently lose events; the consumer instead ends and resumes by id. It no
            # longer needs deliveries, so the fan-out forgets it at once.
            self.lagged = True
            self._fanout.remove(self)
        else:
            self._events.append(event)
        self._wakeup.set()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._fanout.remove(self)
            self._wakeup.set()

    async def get(self, timeout: float | None = None) -> Event | None:  # noqa: ASYNC109 (a wait, not a deadline)
        """The next event, at once if one is queued; ``None`` when the timeout passes or the subscription
        has ended."""
        try:
            async with asyncio.timeout(timeout):
                while not self._events:
                    if self.closed or self.lagged:
                        return None
                    self._wakeup.clear()
                    await self._wakeup.wait()
        except TimeoutError:
            return None
        return self._events.popleft()

    @property
    def ended(self) -> bool:
        return (self.closed or self.lagged) and not self._events

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while (event := await self.get()) is not None:
            yield event

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.close()


class LocalFanout:
    """Delivers events to this process's subscriptions and keeps a replay buffer of recent ones."""

    def __init__(self, replay_size: int, queue_size: int) -> None:
        self._subscribers: set[Subscription] = set()
        self._replay: deque[Event] = deque(maxlen=replay_size)
        self._queue_size = queue_size
        self._listeners: list[Callable[[Event], None]] = []

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` synchronously with every event: for caches that must not serve stale answers. It
        sees this process's events as soon as their transaction commits, and other replicas' when they arrive."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Event], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def notify_listeners(self, events: Iterable[Event]) -> None:
        for event in events:
            for listener in self._listeners:
                listener(event)

    def deliver(self, events: Iterable[Event]) -> None:
        events = list(events)
        self.notify_listeners(events)
        for event in events:
            self._replay.append(event)
            for subscriber in list(self._subscribers):
                subscriber.offer(event)

    def subscribe(self, last_event_id: str | None = None) -> Subscription:
        subscription = Subscription(self, self._queue_size)
        self._subscribers.add(subscription)
        if last_event_id:
            for event in self._events_after(last_event_id):
                subscription.offer(event)
        return subscription

    def _events_after(self, last_event_id: str) -> list[Event]:
        buffered = list(self._replay)
        for index, event in enumerate(buffered):
            if event.id == last_event_id:
                return buffered[index + 1 :]
        # Not buffered: evicted since (so every buffered event is newer), or sent before a restart or by a
        # replica whose clock differs. Resume from its time: a duplicate beats a silently lost event.
        since = _id_millis(last_event_id)
        if since is None:
            return []
        return [event for event in buffered if (_id_millis(event.id) or 0) >= since]

    def remove(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def close_all(self) -> None:
        for subscriber in list(self._subscribers):
            subscriber.close()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


def _id_millis(event_id: str) -> int | None:
    """The creation time (Unix milliseconds) encoded at the start of an id made by ``new_event_id``."""
    if len(event_id) != _ID_LENGTH:
        return None
    try:
        return int(event_id[:_ID_TIME_DIGITS], 16)
    except ValueError:
        return None


class EventBus(ABC):
    """A backend publishes events; every process's subscribers receive them through a ``LocalFanout``."""

    type: str

    def __init__(self, replay_size: int = 1000, queue_size: int = 1000) -> None:
        self.fanout = LocalFanout(replay_size, queue_size)

    async def start(self) -> None:  # noqa: B027 (optional hook: the memory bus has nothing to connect)
        """Connect to the backend (no-op for the memory bus)."""

    async def stop(self) -> None:
        """Disconnect and end every subscription so open streams finish."""
        self.fanout.close_all()

    @abstractmethod
    async def publish(self, events: Sequence[Event]) -> None:
        """Deliver events to every subscriber of every process sharing this bus."""

    def subscribe(self, last_event_id: str | None = None) -> Subscription:
        return self.fanout.subscribe(last_event_id)
