"""Isolation modes: one upstream for everyone, one per principal, one per client session."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp, hosted_with_key
from tests.servers.hosting import QUICK, fake
from tests.support.accounts import Account, create_token, sign_up
from tests.support.waiting import eventually


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK, gateway={"max_instances_per_server": 3})


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "owner@example.com")


async def test_shared_servers_serve_every_session_from_one_instance(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server, key = await hosted_with_key(client, owner)
    first, second = McpHttp(client, server["slug"], key), McpHttp(client, server["slug"], key)
    await first.initialize()
    await second.initialize()

    answers = [await first.call("echo", text="one"), await second.call("echo", text="two")]

    assert [a["result"]["content"][0]["text"] for a in answers] == ["one", "two"]
    assert len(fake(app).running) == 1


async def test_per_session_servers_start_one_instance_per_session_and_stop_it_with_the_session(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server, key = await hosted_with_key(client, owner, isolation="per_session")
    first, second = McpHttp(client, server["slug"], key), McpHttp(client, server["slug"], key)
    await first.initialize()
    await second.initialize()
    await first.call("echo", text="one")
    await second.call("echo", text="two")

    assert len(fake(app).running) == 3  # the main instance and one per session
    served_by = {call.spec.instance_key for call in fake(app).running}
    assert len(served_by) == 3

    await client.delete(first.path, headers=first._headers())

    await eventually(lambda: _count(app), lambda count: count == 2, what="the session's instance to stop")
    assert (await second.call("echo", text="still"))["result"]["content"][0]["text"] == "still"


async def test_per_session_instances_are_capped_by_ending_the_least_recently_used_idle_one(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server, key = await hosted_with_key(client, owner, isolation="per_session")
    sessions = [McpHttp(client, server["slug"], key) for _ in range(3)]
    for session in sessions:
        await session.initialize()

    newcomer = McpHttp(client, server["slug"], key)
    await newcomer.initialize()  # at the cap (3): the oldest idle session's instance makes room
    evicted = await sessions[0].post({"jsonrpc": "2.0", "id": 5, "method": "tools/list"})

    assert evicted.status_code == 404
    assert (await newcomer.call("echo", text="in"))["result"]["content"][0]["text"] == "in"
    await eventually(lambda: _count(app), lambda count: count == 4, what="the evicted instance to stop")


async def test_per_user_servers_give_each_principal_its_own_instance(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server, key = await hosted_with_key(client, owner, isolation="per_user")
    token = await create_token(client, owner, "invoke")
    by_key_1, by_key_2 = McpHttp(client, server["slug"], key), McpHttp(client, server["slug"], key)
    by_token = McpHttp(client, server["slug"], token)
    for session in (by_key_1, by_key_2, by_token):
        await session.initialize()
        await session.call("echo", text="hi")

    keys = sorted(instance.spec.instance_key for instance in fake(app).running)

    assert len(keys) == 3  # main, the key's, the user's
    assert keys[0] == "shared"
    assert keys[1].startswith("user-key-") and keys[2].startswith("user-user-")


async def _count(app: FastAPI) -> int:
    return len(fake(app).running)
