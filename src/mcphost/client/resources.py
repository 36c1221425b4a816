"""The API beyond servers: catalog, personal access tokens, organisations, users, jobs and the event stream.

Module-level functions over ``MCPHostClient.request``; like the client's methods they return the API's JSON
unchanged and raise ``ApiError`` or ``Unreachable``.

    async with MCPHostClient(url, token) as api:
        entries = await resources.search_catalog(api, "time")
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mcphost.client._client import pick_named
from mcphost.client._errors import ApiError

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

__all__ = [
    "add_member",
    "all_jobs",
    "all_users",
    "cancel_job",
    "create_org",
    "create_token",
    "delete_org",
    "delete_user",
    "find_catalog_entry",
    "get_catalog_entry",
    "get_job",
    "import_catalog_entry",
    "list_jobs",
    "list_members",
    "list_orgs",
    "list_tokens",
    "list_users",
    "remove_member",
    "resolve_member",
    "resolve_org",
    "resolve_user",
    "retry_job",
    "revoke_token",
    "search_catalog",
    "stream_events",
    "update_member",
    "update_user",
]


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# -- catalog -------------------------------------------------------------------------------------------


async def search_catalog(client: MCPHostClient, query: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
    """The newest version of each catalog entry whose name, title or description holds ``query``."""
    return list(await client.request("GET", "/api/catalog", params={"q": query, "limit": limit}))


async def get_catalog_entry(client: MCPHostClient, name: str, version: str | None = None) -> dict[str, Any]:
    """One entry by its server.json name (e.g. ``io.github.modelcontextprotocol/time``)."""
    path = f"/api/catalog/{quote(name, safe='/')}"
    return dict(await client.request("GET", path, params={"version": version}))


async def find_catalog_entry(client: MCPHostClient, ref: str, version: str | None = None) -> dict[str, Any]:
    """One entry by its server.json name, or by its short name (the part after the last ``/``, e.g. ``memory``)
    or title when exactly one entry has it. ApiError 404 when none has, 409 when several have."""
    try:
        return await get_catalog_entry(client, ref, version)
    except ApiError as exc:
        if exc.status != 404 or "/" in ref:  # a full name that is not there (or not in that version)
            raise
    wanted = ref.strip().lower()
    matches = [
        entry
        for entry in await search_catalog(client, ref, limit=500)
        if wanted in (str(entry["name"]).rsplit("/", 1)[-1].lower(), str(entry.get("title") or "").lower())
    ]
    if len(matches) == 1:
        return await get_catalog_entry(client, matches[0]["name"], version)
    if len(matches) > 1:
        names = ", ".join(sorted(entry["name"] for entry in matches))
        raise ApiError(409, "ambiguous", f"Several catalog entries are called {ref!r} ({names}); give the full name.")
    raise ApiError(404, "not_found", f"No catalog entry is called {ref!r}.")


async def import_catalog_entry(client: MCPHostClient, document: dict[str, Any]) -> dict[str, Any]:
    """Add a server.json document to the catalog (administrators)."""
    return dict(await client.request("POST", "/api/catalog", json=document))


# -- personal access tokens ----------------------------------------------------------------------------


async def create_token(
    client: MCPHostClient,
    name: str,
    scopes: list[str],
    *,
    expires_in_days: int | None = None,
    never_expires: bool = False,
) -> dict[str, Any]:
    """A new personal access token; the secret ``token`` is only in this answer. Without ``expires_in_days`` it
    lives the instance's default; ``never_expires`` asks for one without expiry (where the instance allows it)."""
    body: dict[str, Any] = {"name": name, "scopes": scopes}
    if expires_in_days is not None:
        body["expires_in_days"] = expires_in_days
    elif never_expires:
        body["expires_in_days"] = None
    return dict(await client.request("POST", "/api/tokens", json=body))


async def list_tokens(client: MCPHostClient, *, include_revoked: bool = False) -> list[dict[str, Any]]:
    return list(await client.request("GET", "/api/tokens", params={"include_revoked": include_revoked or None}))


async def revoke_token(client: MCPHostClient, token_id: str) -> None:
    await client.request("DELETE", f"/api/tokens/{token_id}")


# -- organisations -------------------------------------------------------------------------------------


async def create_org(client: MCPHostClient, name: str) -> dict[str, Any]:
    """A new organisation, of which the caller becomes the owner."""
    return dict(await client.request("POST", "/api/orgs", json={"name": name}))


async def list_orgs(client: MCPHostClient) -> list[dict[str, Any]]:
    """The caller's organisations (administrators: all)."""
    return list(await client.request("GET", "/api/orgs"))


async def resolve_org(client: MCPHostClient, ref: str) -> dict[str, Any]:
    """The organisation named by ``ref``: its id, or else its slug (or its name, when only one has it)."""
    if is_uuid(ref):
        return dict(await client.request("GET", f"/api/orgs/{ref}"))
    return pick_named(await list_orgs(client), ref, "organisation")


async def delete_org(client: MCPHostClient, org_id: str, *, delete_servers: bool = False) -> None:
    """Delete an organisation; one that has servers only with ``delete_servers`` (else 409 org_has_servers)."""
    await client.request("DELETE", f"/api/orgs/{org_id}", params={"delete_servers": delete_servers or None})


async def list_members(client: MCPHostClient, org_id: str) -> dict[str, Any]:
    """``{"members", "invitations"}`` of an organisation."""
    return dict(await client.request("GET", f"/api/orgs/{org_id}/members"))


async def resolve_member(client: MCPHostClient, org_id: str, ref: str) -> dict[str, Any]:
    """The member of the organisation named by ``ref``: their user id or email."""
    members = (await list_members(client, org_id))["members"]
    for member in members:
        if member["user_id"] == ref or member["email"].lower() == ref.lower():
            return dict(member)
    raise ApiError(404, "not_found", f"No member {ref!r} in this organisation.")


async def add_member(client: MCPHostClient, org_id: str, email: str, role: str = "member") -> dict[str, Any]:
    """Add the account with ``email``, or invite the email: ``{"status": "added"|"invited", ...}``."""
    return dict(await client.request("POST", f"/api/orgs/{org_id}/members", json={"email": email, "role": role}))


async def update_member(client: MCPHostClient, org_id: str, user_id: str, role: str) -> dict[str, Any]:
    return dict(await client.request("PATCH", f"/api/orgs/{org_id}/members/{user_id}", json={"role": role}))


async def remove_member(client: MCPHostClient, org_id: str, user_id: str) -> None:
    await client.request("DELETE", f"/api/orgs/{org_id}/members/{user_id}")


# -- users (administrators) ----------------------------------------------------------------------------


async def delete_user(client: MCPHostClient, user_id: str, *, delete_servers: bool = False) -> None:
    """Delete an account (administrators); one that owns servers only with ``delete_servers``."""
    await client.request("DELETE", f"/api/users/{user_id}", params={"delete_servers": delete_servers or None})


async def list_users(
    client: MCPHostClient, *, limit: int = 50, cursor: str | None = None, query: str | None = None
) -> dict[str, Any]:
    """One page of users: ``{"items", "next_cursor"}``; ``query`` is part of an email."""
    params = {"limit": limit, "cursor": cursor, "q": query}
    return dict(await client.request("GET", "/api/users", params=params))


async def all_users(client: MCPHostClient, *, query: str | None = None) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await list_users(client, limit=200, cursor=cursor, query=query)
        users.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return users


async def resolve_user(client: MCPHostClient, ref: str) -> dict[str, Any]:
    """The user named by ``ref``: their id or email."""
    if is_uuid(ref):
        return dict(await client.request("GET", f"/api/users/{ref}"))
    for user in await all_users(client, query=ref):
        if user["email"].lower() == ref.lower():
            return user
    raise ApiError(404, "not_found", f"No user with the id or email {ref!r}.")


async def update_user(client: MCPHostClient, user_id: str, **changes: Any) -> dict[str, Any]:
    """Change ``role``, ``server_quota`` and/or ``is_active`` of a user."""
    return dict(await client.request("PATCH", f"/api/users/{user_id}", json=changes))


# -- jobs (administrators) -----------------------------------------------------------------------------


async def list_jobs(
    client: MCPHostClient,
    *,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """One page of jobs, newest first: ``{"items", "next_cursor"}``."""
    params = {"status": status, "kind": kind, "limit": limit, "cursor": cursor}
    return dict(await client.request("GET", "/api/jobs", params=params))


async def all_jobs(
    client: MCPHostClient, *, status: str | None = None, kind: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Up to ``limit`` of the newest jobs, following the pages."""
    jobs: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(jobs) < limit:
        page = await list_jobs(client, status=status, kind=kind, limit=min(limit - len(jobs), 200), cursor=cursor)
        jobs.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return jobs


async def get_job(client: MCPHostClient, job_id: str) -> dict[str, Any]:
    return dict(await client.request("GET", f"/api/jobs/{job_id}"))


async def retry_job(client: MCPHostClient, job_id: str) -> dict[str, Any]:
    """Queue a dead or cancelled job again."""
    return dict(await client.request("POST", f"/api/jobs/{job_id}/retry"))


async def cancel_job(client: MCPHostClient, job_id: str) -> dict[str, Any]:
    """Cancel a queued job."""
    return dict(await client.request("POST", f"/api/jobs/{job_id}/cancel"))


# -- events --------------------------------------------------------------------------------------------


async def stream_events(
    client: MCPHostClient, *, last_event_id: str | None = None
) -> AsyncGenerator[dict[str, Any], None]:
    """The live events the caller may see, as ``{"id", "kind", "data", "user_id", "org_id", "ts"}``, until the
    server ends the stream. Keep-alive comments and the stream's opening ``ready`` message are skipped."""
    async with aclosing(client.sse("/api/events/stream", last_event_id=last_event_id)) as messages:
        async for message in messages:
            if message.event == "ready" or not message.data:
                continue
            try:
                event = json.loads(message.data)
            except ValueError:
                continue
            if isinstance(event, dict):
                yield event
