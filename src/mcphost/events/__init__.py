"""Publish/subscribe: an in-memory bus for one process, PostgreSQL LISTEN/NOTIFY for several replicas."""

from mcphost.events.base import Event, EventBus, Subscription
from mcphost.events.registry import create_bus

__all__ = ["Event", "EventBus", "Subscription", "create_bus"]
