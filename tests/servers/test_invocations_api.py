"""A server's invocation records through the API: newest first, filtered, paged, and only for those who may
see the server."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from tests.servers.hosting import deploy
from tests.support.accounts import Account, assert_error, sign_up
from tests.support.traces import invocation, record


async def _list(client: httpx.AsyncClient, who: Account, server: dict[str, Any], **query: Any) -> httpx.Response:
    return await client.get(f"/api/servers/{server['id']}/invocations", params=query, headers=who.headers)


async def test_records_are_listed_newest_first_with_their_answers(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    server = await deploy(client, user)
    started = time.time()
    await record(
        app,
        invocation(server, method="initialize", name=None, params={"protocolVersion": "2025-11-25"}, request_id=0),
        invocation(server, request_id="abc", started_at=started, duration=0.0125, user_id=user.id),
        invocation(
            server,
            method="tools/call",
            name="add",
            result=None,
            error={"code": -32602, "message": "Unknown tool: add", "data": {"tool": "add"}},
            request_id=2,
        ),
    )

    response = await _list(client, user, server)

    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    failed, echoed, initialized = page["items"]
    assert [initialized["method"], echoed["method"], failed["method"]] == ["initialize", "tools/call", "tools/call"]
    assert initialized["id"] < echoed["id"] < failed["id"]
    assert echoed | {"id": None, "ts": None} == {
        "id": None,
        "server_id": server["id"],
        "ts": None,
        "method": "tools/call",
        "name": "echo",
        "status": "ok",
        "error_code": None,
        "error_message": None,
        "session_id": "session-1",
        "user_id": str(user.id),
        "key_id": None,
        "request_id": "abc",
        "duration_ms": 12.5,
        "request_bytes": 80,
        "response_bytes": 60,
    }
    assert abs(datetime.fromisoformat(echoed["ts"]).timestamp() - started) < 0.01
    assert (failed["status"], failed["error_code"], failed["error_message"]) == ("error", -32602, "Unknown tool: add")

    detail = await client.get(f"/api/servers/{server['id']}/invocations/{failed['id']}", headers=user.headers)
    assert detail.status_code == 200, detail.text
    assert detail.json() == failed | {
        "params": {"name": "echo", "arguments": {"text": "hi"}},
        "result": {"code": -32602, "message": "Unknown tool: add", "data": {"tool": "add"}},
    }


async def test_a_tool_result_with_is_error_counts_as_an_error(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    server = await deploy(client, user)
    failing = {"content": [{"type": "text", "text": "disk full"}], "isError": True}
    await record(app, invocation(server), invocation(server, name="write", result=failing), invocation(server))

    errors = (await _list(client, user, server, status="error")).json()["items"]
    oks = (await _list(client, user, server, status="ok")).json()["items"]

    assert [(row["name"], row["status"], row["error_code"]) for row in errors] == [("write", "error", None)]
    assert [row["status"] for row in oks] == ["ok", "ok"]


async def test_filters_by_method_tool_and_session(app: FastAPI, client: httpx.AsyncClient, user: Account) -> None:
    server = await deploy(client, user)
    await record(
        app,
        invocation(server, method="tools/list", name=None, session_id="a"),
        invocation(server, name="echo", session_id="a"),
        invocation(server, name="time", session_id="b"),
        invocation(server, method="prompts/get", name="echo", session_id="b"),
    )

    def shown(response: httpx.Response) -> list[tuple[str, str | None, str | None]]:
        assert response.status_code == 200, response.text
        return [(row["method"], row["name"], row["session_id"]) for row in response.json()["items"]]

    assert shown(await _list(client, user, server, method="tools/call")) == [
        ("tools/call", "time", "b"),
        ("tools/call", "echo", "a"),
    ]
    # `tool` is about tools: the prompt with the same name is not one.
    assert shown(await _list(client, user, server, tool="echo")) == [("tools/call", "echo", "a")]
    assert shown(await _list(client, user, server, session="b")) == [
        ("prompts/get", "echo", "b"),
        ("tools/call", "time", "b"),
    ]
    assert shown(await _list(client, user, server, session="a", method="tools/list")) == [("tools/list", None, "a")]
    assert shown(await _list(client, user, server, tool="nothing")) == []


async def test_pages_walk_every_record_once_newest_first(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    server = await deploy(client, user)
    other = await deploy(client, user, name="other")
    await record(app, *(invocation(server, request_id=n) for n in range(7)), invocation(other, request_id=99))

    seen: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await _list(client, user, server, **query)).json()
        pages += 1
        seen += [row["request_id"] for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == [str(n) for n in reversed(range(7))]
    filtered = (await _list(client, user, server, limit=2, session="session-1")).json()
    assert [row["request_id"] for row in filtered["items"]] == ["6", "5"] and filtered["next_cursor"]


async def test_bad_queries_are_refused_clearly(app: FastAPI, client: httpx.AsyncClient, user: Account) -> None:
    server = await deploy(client, user)
    await record(app, invocation(server))

    error = assert_error(await _list(client, user, server, cursor="not-a-cursor"), 422, "invalid_cursor")
    assert "cursor" in str(error["message"])
    # A well-formed cursor holding an id no database column can hold.
    assert_error(await _list(client, user, server, cursor="eyJiZWZvcmUiOjk5OTk5OTk5OTk5OTk5OTk5OTk5fQ"), 422)
    assert_error(await _list(client, user, server, status="failed"), 422, "validation_error")
    assert_error(await _list(client, user, server, limit=0), 422, "validation_error")
    assert_error(await _list(client, user, server, limit=201), 422, "validation_error")
    assert_error(await client.get(f"/api/servers/{server['id']}/invocations/{2**63}", headers=user.headers), 422)
    assert (await _list(client, user, server, limit=200)).status_code == 200


async def test_other_users_get_404_and_records_stay_with_their_server(
    app: FastAPI, client: httpx.AsyncClient, admin: Account, user: Account
) -> None:
    server = await deploy(client, user)
    mine = await deploy(client, user, name="mine")
    await record(app, invocation(server), invocation(mine))
    record_id = (await _list(client, user, server)).json()["items"][0]["id"]
    stranger = await sign_up(client, "stranger@example.com")

    assert_error(await _list(client, stranger, server), 404, "not_found")
    assert_error(
        await client.get(f"/api/servers/{server['id']}/invocations/{record_id}", headers=stranger.headers),
        404,
        "not_found",
    )
    # The record exists, but not under another server, even one the caller may see.
    assert_error(
        await client.get(f"/api/servers/{mine['id']}/invocations/{record_id}", headers=user.headers),
        404,
        "not_found",
    )
    assert_error(
        await client.get(f"/api/servers/{server['id']}/invocations/{record_id + 1000}", headers=user.headers), 404
    )
    # Administrators see every server.
    assert (await _list(client, admin, server)).json()["items"][0]["id"] == record_id
