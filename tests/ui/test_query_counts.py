"""No console page makes a database query per row: the number of SQL statements a page runs is the same with one
row as with several (servers, keys, members, tokens, users). Counted in-process on the app's own engine."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from tests.support.accounts import PASSWORD, Account, sign_up

PACKAGE = {"type": "package", "registry_type": "pypi", "identifier": "fake-server"}


class StatementCounter:
    def __init__(self, app: FastAPI) -> None:
        self.engine = app.state.platform.db.engine.sync_engine
        self.count = 0

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


async def _add_rows(client: httpx.AsyncClient, admin: Account, org_id: str, first: int, last: int) -> str:
    """Servers with a second key, org members and personal tokens numbered first..last; returns a server id."""
    server_id = ""
    for number in range(first, last + 1):
        created = await client.post(
            "/api/servers",
            json={"name": f"server {number}", "source": PACKAGE, "start": False},
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
        server_id = server_id or created.json()["id"]
        key = await client.post(f"/api/servers/{server_id}/keys", json={"name": f"k{number}"}, headers=admin.headers)
        assert key.status_code == 201, key.text
        member = await sign_up(client, f"member{number}@example.com")
        added = await client.post(
            f"/api/orgs/{org_id}/members", json={"email": member.email, "role": "member"}, headers=admin.headers
        )
        assert added.status_code == 201, added.text
        invited = await client.post(
            f"/api/orgs/{org_id}/members", json={"email": f"invitee{number}@example.com"}, headers=admin.headers
        )
        assert invited.status_code == 201, invited.text
        token = await client.post("/api/tokens", json={"name": f"t{number}", "scopes": ["read"]}, headers=admin.headers)
        assert token.status_code == 201, token.text
    return server_id


async def _as_admin(client: httpx.AsyncClient) -> None:
    """The browser session of the administrator (signing members up replaced the cookie)."""
    login = await client.post("/api/auth/login", json={"email": "admin@example.com", "password": PASSWORD})
    assert "mcphost_session" in login.cookies


async def _statements(app: FastAPI, client: httpx.AsyncClient, path: str) -> int:
    with StatementCounter(app) as counter:
        page = await client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 200, f"{path}: {page.status_code} {page.text[:300]}"
    return counter.count


async def test_pages_run_as_many_queries_for_many_rows_as_for_one(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await sign_up(client, "admin@example.com")  # the first account: an administrator
    org = await client.post("/api/orgs", json={"name": "Counted"}, headers=admin.headers)
    org_id = org.json()["id"]
    server_id = await _add_rows(client, admin, org_id, 1, 1)
    await _as_admin(client)
    pages = [
        "/dashboard",
        "/orgs",
        f"/orgs/{org_id}",
        "/profile",
        "/admin",
        f"/servers/{server_id}",
        f"/servers/{server_id}/keys",
        f"/servers/{server_id}/invocations",
        f"/servers/{server_id}/metrics",
    ]
    with_one = {path: await _statements(app, client, path) for path in pages}
    await _add_rows(client, admin, org_id, 2, 4)
    await _as_admin(client)
    with_four = {path: await _statements(app, client, path) for path in pages}
    assert with_four == with_one
