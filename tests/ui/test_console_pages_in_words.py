"""What the console's server pages say, rendered in-process on a real database: an address whose id is not an
id is the 404 page (as for an address that matches no page), lifecycle events read as words (an install
names its package instead of showing a Python dict), and the runtime's node is called a node."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from mcphost.servers.status import record_usage
from tests.support.accounts import PASSWORD, Account, sign_up
from tests.ui.session_http import csrf_token_of

PACKAGE = {"type": "package", "registry_type": "pypi", "identifier": "fake-server"}
NOT_AN_ID = "does-not-exist"


async def _signed_in_server(client: httpx.AsyncClient) -> tuple[Account, str, str]:
    """An administrator signed in by cookie (as a browser is) with a server that is not started; the account,
    the server's id and the CSRF token of the console's pages."""
    admin = await sign_up(client, "admin@example.com")
    login = await client.post("/api/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert "mcphost_session" in login.cookies
    created = await client.post(
        "/api/servers", json={"name": "words", "source": PACKAGE, "start": False}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    page = await client.get("/dashboard", headers={"Accept": "text/html"})
    return admin, str(created.json()["id"]), csrf_token_of(page.text)


def _is_not_found_page(response: httpx.Response) -> None:
    assert response.status_code == 404, f"{response.request.url}: {response.status_code} {response.text[:300]}"
    assert "This page does not exist" in response.text, response.text[:500]
    assert "UUID" not in response.text and "valid" not in response.text


async def test_an_id_that_is_not_an_id_is_the_not_found_page(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin, server, csrf = await _signed_in_server(client)
    org = await client.post("/api/orgs", json={"name": "Org"}, headers=admin.headers)
    assert org.status_code == 201, org.text
    html = {"Accept": "text/html"}
    pages = [
        f"/servers/{NOT_AN_ID}",
        f"/servers/{NOT_AN_ID}/tools",
        f"/servers/{NOT_AN_ID}/logs",
        f"/servers/{NOT_AN_ID}/logs/download",
        f"/servers/{NOT_AN_ID}/metrics",
        f"/servers/{NOT_AN_ID}/metrics/events",
        f"/servers/{NOT_AN_ID}/invocations",
        f"/servers/{NOT_AN_ID}/keys",
        f"/servers/{NOT_AN_ID}/settings",
        f"/servers/{NOT_AN_ID}/deployed",
        f"/servers/{NOT_AN_ID}/history",
        f"/servers/{server}/invocations/{NOT_AN_ID}",
        f"/orgs/{NOT_AN_ID}",
    ]
    for path in pages:
        _is_not_found_page(await client.get(path, headers=html))
    forms = [
        f"/servers/{NOT_AN_ID}/start",
        f"/servers/{NOT_AN_ID}/stop",
        f"/servers/{NOT_AN_ID}/restart",
        f"/servers/{NOT_AN_ID}/delete",
        f"/servers/{NOT_AN_ID}/tools/call",
        f"/servers/{NOT_AN_ID}/settings",
        f"/servers/{server}/keys/{NOT_AN_ID}/revoke",
        f"/orgs/{org.json()['id']}/members/{NOT_AN_ID}/remove",
        f"/profile/tokens/{NOT_AN_ID}/revoke",
        f"/admin/users/{NOT_AN_ID}/disable",
        f"/admin/jobs/{NOT_AN_ID}/retry",
    ]
    for path in forms:
        _is_not_found_page(await client.post(path, headers=html | {"X-CSRF-Token": csrf}))
    # A real id that names nothing was already the 404 page; it stays so.
    _is_not_found_page(await client.get(f"/servers/{uuid.uuid4()}", headers=html))
    # The API keeps its JSON validation error for a malformed id.
    assert (await client.get(f"/api/servers/{NOT_AN_ID}")).status_code == 422


# What the package runtime reports of an install (runtimes/process/packages.py), as the node agent records it: every
# value made a string. Recorded here directly: the fake runtime these tests host servers on installs nothing.
INSTALL_DETAILS = {
    "registry_type": "pypi",
    "identifier": "mcp-server-time",
    "version": "2025.9.25",
    "env": "/var/lib/mcphost/envs/pypi/mcp-server-time/2025.9.25",
    "program": "mcp-server-time",
    "bin_dir": "/var/lib/mcphost/envs/pypi/mcp-server-time/2025.9.25/bin",
    "cached": "False",
    "engine": "python",
}


async def test_lifecycle_events_read_as_words(app: FastAPI, client: httpx.AsyncClient) -> None:
    _admin, server, _csrf = await _signed_in_server(client)
    db = app.state.platform.db
    await record_usage(db, uuid.UUID(server), "install", {"details": INSTALL_DETAILS})
    await record_usage(db, uuid.UUID(server), "crash", {"exit_code": 3, "reason": "it exited"})
    await record_usage(db, uuid.UUID(server), "restart", {"after_seconds": 2.0, "attempt": 1})
    html = {"Accept": "text/html"}

    for path in (f"/servers/{server}", f"/servers/{server}/history", f"/servers/{server}/metrics"):
        page = (await client.get(path, headers=html)).text
        assert "pypi package mcp-server-time 2025.9.25 installed" in page, path
        assert "exit code 3 · it exited" in page and "after 2 s · attempt 1" in page, path
        assert "from a package" in page, path  # the create event
        assert "{&#39;" not in page and "{'" not in page and "registry_type" not in page, path
        assert "/var/lib/mcphost" not in page, path  # the install's paths are the platform's business


async def test_the_runtime_fact_names_the_node_as_a_node(app: FastAPI, client: httpx.AsyncClient) -> None:
    _admin, server, _csrf = await _signed_in_server(client)
    node = app.state.platform.settings.runtime.node_name

    page = (await client.get(f"/servers/{server}", headers={"Accept": "text/html"})).text

    runtime = page.split("<dt>Runtime</dt>", 1)[1].split("</dd>", 1)[0]
    assert f'fake, on node <span class="mono">{node}</span>' in runtime
    assert f"fake on {node}" not in runtime
