"""An organisation with people in each role and a running server of it (fake runtime)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.servers.hosting import deploy, status_of
from tests.support.accounts import Account, sign_up


async def team(client: httpx.AsyncClient) -> dict[str, Account]:
    """An owner and, in their organisation, an admin, a member and a viewer; the org id in ``people["org"]``."""
    people = {role: await sign_up(client, f"{role}@example.com") for role in ("owner", "admin", "member", "viewer")}
    org = (await client.post("/api/orgs", json={"name": "Team"}, headers=people["owner"].headers)).json()
    for role in ("admin", "member", "viewer"):
        added = await client.post(
            f"/api/orgs/{org['id']}/members",
            json={"email": people[role].email, "role": role},
            headers=people["owner"].headers,
        )
        assert added.status_code == 201, added.text
    return people | {"org": org["id"]}  # type: ignore[dict-item]


async def org_server(client: httpx.AsyncClient, people: dict[str, Any]) -> dict[str, Any]:
    server = await deploy(client, people["owner"], org_id=people["org"])
    await status_of(client, people["owner"], server["id"], "running")
    return server
