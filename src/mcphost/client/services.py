"""A server's attached services (PostgreSQL, Redis, S3) through the API; module-level functions over an
``MCPHostClient``, like ``resources``. Values of the variables are never returned, only their names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

__all__ = ["attach", "detach", "list_services", "rotate"]


async def list_services(client: MCPHostClient, server_id: str) -> list[dict[str, Any]]:
    return list(await client.request("GET", f"/api/servers/{server_id}/services"))


async def attach(client: MCPHostClient, server_id: str, kind: str) -> dict[str, Any]:
    """Provision ``kind`` (postgres, redis, s3) for the server; it restarts with the new variables."""
    return dict(await client.request("POST", f"/api/servers/{server_id}/services", json={"kind": kind}))


async def rotate(client: MCPHostClient, server_id: str, kind: str) -> dict[str, Any]:
    body = {"rotate_credentials": True}
    return dict(await client.request("PATCH", f"/api/servers/{server_id}/services/{kind}", json=body))


async def detach(client: MCPHostClient, server_id: str, kind: str, confirm: str) -> dict[str, Any]:
    """Drop the service and its data: ``confirm`` is the server's slug."""
    path = f"/api/servers/{server_id}/services/{kind}"
    return dict(await client.request("DELETE", path, params={"confirm": confirm}))
