"""``subscriptions/listen`` (2026-07-28): a long-lived event stream of the notifications a client opted in to —
list changes and updates of the resources it names — taken from the upstream session the gateway holds. The first
event acknowledges what will be sent (what the server declared it can notify about); each later one carries the
subscription's id (the request's id) in ``_meta``."""

from __future__ import annotations

from typing import Any, Final

from mcphost.mcp.event_stream import EventStream
from mcphost.mcp.jsonrpc import Message

SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"
#: Filter key → (the notification it selects, the capability and flag the server must declare).
LIST_CHANGES: Final = {
    "toolsListChanged": ("notifications/tools/list_changed", "tools"),
    "promptsListChanged": ("notifications/prompts/list_changed", "prompts"),
    "resourcesListChanged": ("notifications/resources/list_changed", "resources"),
}


def agreed_filter(requested: Any, capabilities: dict[str, Any]) -> dict[str, Any]:
    """The part of the requested filter the server can honour."""
    requested = requested if type(requested) is dict else {}
    agreed: dict[str, Any] = {}
    for key, (_, capability) in LIST_CHANGES.items():
        declared = capabilities.get(capability)
        if requested.get(key) is True and type(declared) is dict and declared.get("listChanged"):
            agreed[key] = True
    uris = requested.get("resourceSubscriptions")
    resources = capabilities.get("resources")
    if type(uris) is list and type(resources) is dict and resources.get("subscribe"):
        agreed["resourceSubscriptions"] = [uri for uri in uris if type(uri) is str]
    return agreed


class ListenStream(EventStream):
    """The stream of one ``subscriptions/listen``: only what the filter selects, tagged with the subscription id."""

    __slots__ = ("methods", "subscription_id", "subscriptions")

    def __init__(self, subscription_id: Any, agreed: dict[str, Any], limit: int) -> None:
        super().__init__(1, limit)
        self.subscription_id = subscription_id
        self.methods = {LIST_CHANGES[key][0] for key in LIST_CHANGES if agreed.get(key)}
        self.subscriptions = set(agreed.get("resourceSubscriptions", ()))

    def push(self, message: Message) -> None:
        method = message.get("method")
        if method == "notifications/resources/updated":
            params = message.get("params")
            if type(params) is not dict or params.get("uri") not in self.subscriptions:
                return
        elif method not in self.methods:
            return
        params = dict(message.get("params") or {})
        params["_meta"] = {**(params.get("_meta") or {}), SUBSCRIPTION_ID: self.subscription_id}
        super().push({"jsonrpc": "2.0", "method": method, "params": params})

    def acknowledge(self, agreed: dict[str, Any]) -> None:
        params = {"notifications": agreed, "_meta": {SUBSCRIPTION_ID: self.subscription_id}}
        super().push({"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged", "params": params})


class Listener:
    """What the upstream's relay broadcasts to, for the duration of one listen stream."""

    stateful = False
    closed = False

    def __init__(self, stream: ListenStream) -> None:
        self.general = stream
        self.subscriptions = stream.subscriptions
        self.inflight: dict[Any, Any] = {}

    def open_stream(self) -> EventStream:  # never used: nothing is relayed for a listener
        return self.general
