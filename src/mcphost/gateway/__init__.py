"""The MCP gateway: ``/mcp/{slug}`` for every hosted server (see ``app.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcphost.gateway.asgi import Receive, Scope, Send

if TYPE_CHECKING:
    from mcphost.gateway.app import Gateway

__all__ = ["McpMount"]


class McpMount:
    """ASGI middleware that hands ``/mcp/…`` straight to the gateway, before any of the API's routing and
    middleware (the hot path), and everything else to the API."""

    def __init__(self, app: object, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/mcp/"):
            await self.gateway(scope, receive, send)
        else:
            await self.app(scope, receive, send)  # type: ignore[operator]
