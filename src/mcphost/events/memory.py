"""The embedded default: events reach the subscribers of this process only."""

from __future__ import annotations

from collections.abc import Sequence

from mcphost.events.base import Event, EventBus


class MemoryEventBus(EventBus):
    type = "memory"

    async def publish(self, events: Sequence[Event]) -> None:
        self.fanout.deliver(events)
