"""Requests for servers hosted by other nodes (ADR 0015), in one process: a replica that does not host a server
answers 503 naming the node and why (never registered, down since when, not answering at its address), for clients
and for the platform's own calls alike; the hosting node serves a signed forwarded request for the grant it carries,
in the same session store as its own clients'."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.db.base import utcnow
from mcphost.gateway.access import Grant
from mcphost.gateway.grants import decode_grant, encode_grant
from mcphost.gateway.withheld import Withheld
from mcphost.models import Isolation, Node
from mcphost.nodes.repository import NodeRepository
from mcphost.security.internal_calls import InternalCallSigner
from mcphost.settings import Settings
from tests.cli.processes import free_port
from tests.conftest import make_settings
from tests.gateway.mcp_http import ACCEPT, VERSION, McpHttp, hosted_with_key, sse_messages
from tests.servers.hosting import QUICK, deploy
from tests.support.accounts import create_token, sign_up
from tests.support.apps import app_client

ELSEWHERE = "node-elsewhere"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """An API-only replica (it hosts nothing) whose servers are recorded on another node."""
    return make_settings(tmp_path / "home", database_url, runtime={"host": False, "node_name": ELSEWHERE})


async def set_node(app: FastAPI, *, heartbeat_age: float, url: str = "http://127.0.0.1:9") -> None:
    async with app.state.platform.db.session_scope() as session:
        await NodeRepository(session).register(ELSEWHERE, url, "another machine")
        beat = utcnow() - timedelta(seconds=heartbeat_age)
        await session.execute(sa.update(Node).where(Node.name == ELSEWHERE).values(heartbeat_at=beat))
    await app.state.gateway.nodes.refresh()


async def test_a_server_of_a_node_that_is_not_up_answers_503_saying_which_and_why(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await sign_up(client, "admin@example.com")
    server = await deploy(client, admin)
    mcp = McpHttp(client, server["slug"], server["access_key"])
    initialize = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": VERSION}}
    invoke = {"method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}}

    unregistered = await mcp.post(initialize)
    await set_node(app, heartbeat_age=120)
    down = await mcp.post(initialize)
    down_invoke = await client.post(f"/api/servers/{server['id']}/invoke", json=invoke, headers=admin.headers)
    port = free_port()
    await set_node(app, heartbeat_age=0, url=f"http://127.0.0.1:{port}")
    silent = await mcp.post(initialize)

    for response in (unregistered, down, silent):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert response.json()["error"]["data"]["reason"] == "server_unavailable"
    assert "hosted by node 'node-elsewhere', which has not registered" in unregistered.json()["error"]["message"]
    assert re.search(r"which is down since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(last heartbeat", down.text)
    assert f"which does not answer at http://127.0.0.1:{port}" in silent.json()["error"]["message"]
    assert down_invoke.status_code == 409, down_invoke.text
    assert "node 'node-elsewhere', which is down since" in down_invoke.json()["error"]["message"]


@pytest.fixture
def hosting(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "host", database_url, **QUICK)


async def test_the_hosting_node_serves_a_signed_request_for_the_grant_it_carries(hosting: Settings) -> None:
    async with app_client(hosting) as client:
        admin = await sign_up(client, "admin@example.com")
        server, _ = await hosted_with_key(client, admin)
        token = await create_token(client, admin, "invoke")
        node = hosting.runtime.node_name
        grant = Grant(uuid.UUID(server["id"]), server["slug"], Isolation.SHARED, f"user:{admin.id}", admin.id, None)
        keys = client.app.state.platform.keys  # type: ignore[attr-defined]
        signer = InternalCallSigner(keys.internal_calls, "node-b", max_age_seconds=30)
        path = f"/mcp/{server['slug']}"

        async def forwarded(message: dict[str, object], grant: Grant, session_id: str | None = None) -> httpx.Response:
            body = orjson.dumps(message)
            headers = [(b"content-type", b"application/json"), (b"accept", ACCEPT.encode())]
            if session_id:
                headers += [(b"mcp-session-id", session_id.encode()), (b"mcp-protocol-version", VERSION.encode())]
            headers += signer.sign("relay", "POST", path, encode_grant(grant), body)
            return await client.post(path, content=body, headers=headers)

        params = {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        opened = await forwarded({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}, grant)
        session_id = opened.headers["mcp-session-id"]
        call = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "via b"}},
        }
        relayed = await forwarded(call, grant, session_id)
        # The same session, continued by the client itself with its own credential on this node.
        direct = McpHttp(client, server["slug"], token)
        direct.session_id = session_id
        continued = await direct.call("echo", text="here")
        elsewhere = Grant(grant.server_id, grant.slug, grant.isolation, grant.principal, admin.id, None, node="node-c")
        not_here = await forwarded(call, elsewhere, session_id)

    assert opened.status_code == 200, opened.text
    answers = (
        relayed.json()
        if relayed.headers["content-type"].startswith("application/json")
        else sse_messages(relayed.text)[-1]
    )
    assert answers["result"]["content"][0]["text"] == "via b"
    assert continued["result"]["content"][0]["text"] == "here"
    assert not_here.status_code == 503
    assert (
        f"Node '{node}' got a request for '{server['slug']}' from node 'node-b', but does not host it" in not_here.text
    )


def test_a_grant_travels_whole() -> None:
    withheld = Withheld(
        {
            "tool": {"secret": ("held", ""), "admin_only": ("role", "admin")},
            "resource_template": {"db://{table}": ("held", "")},
        },
        "srv",
    )
    grant = Grant(uuid.uuid4(), "srv", Isolation.PER_USER, "key:k", uuid.uuid4(), uuid.uuid4(), withheld, "node-a")

    back = decode_grant(encode_grant(grant))

    assert (back.server_id, back.slug, back.isolation, back.principal) == (
        grant.server_id,
        "srv",
        Isolation.PER_USER,
        "key:k",
    )
    assert (back.user_id, back.key_id, back.node) == (grant.user_id, grant.key_id, "node-a")
    assert back.withheld.reasons == withheld.reasons
    assert back.withheld.refusal("tools/call", {"name": "admin_only"}) is not None
    assert back.withheld.refusal("resources/read", {"uri": "db://users"}) is not None
    with pytest.raises(ValueError, match="not a grant"):
        decode_grant(b'{"slug": "srv"}')
