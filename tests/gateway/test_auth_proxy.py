"""The auth proxy the conformance tests put in front of the gateway: it adds the Authorization header and relays
everything else unchanged, streams SSE event by event, keeps connections alive and passes hang-ups on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn

from tests.gateway.auth_proxy import AuthProxy

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class EchoApp:
    """`/echo` answers with what it received; `/events` streams an SSE event, then a second one on `release`."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.disconnected = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        if scope["path"] == "/events":
            await self.events(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen = {
            "method": scope["method"],
            "path": scope["path"],
            "query": scope["query_string"].decode(),
            "headers": [[name.decode(), value.decode()] for name, value in scope["headers"]],
            "body": body.decode(),
            "client_port": scope["client"][1],
        }
        headers = [(b"content-type", b"application/json"), (b"x-upstream", b"yes"), (b"set-cookie", b"a=1")]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(seen).encode()})

    async def events(self, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"id: 1\ndata: first\n\n", "more_body": True})
        await self.release.wait()
        await send({"type": "http.response.body", "body": b"id: 2\ndata: second\n\n", "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass
        self.disconnected.set()


@asynccontextmanager
async def serving(app: EchoApp) -> AsyncIterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def proxied() -> AsyncIterator[tuple[EchoApp, str]]:
    app = EchoApp()
    async with serving(app) as target, AuthProxy(f"{target}/mcp", headers={"Authorization": "Bearer k"}) as proxy:
        assert proxy.url.endswith("/mcp") and proxy.url != f"{target}/mcp"
        yield app, proxy.url.removesuffix("/mcp")


async def test_the_key_is_added_and_the_rest_passes_through() -> None:
    async with proxied() as (_, base), httpx.AsyncClient() as client:
        response = await client.post(
            f"{base}/echo?x=1&y=%20",
            content=b'{"jsonrpc": "2.0"}',
            headers={
                "Host": "evil.example.com",
                "Origin": "http://evil.example.com",
                "Mcp-Session-Id": "s1",
                "authorization": "Bearer wrong",
            },
        )

    assert response.status_code == 201
    assert response.headers["x-upstream"] == "yes"
    assert response.headers["set-cookie"] == "a=1"
    seen = response.json()
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == (
        "POST",
        "/echo",
        "x=1&y=%20",
        '{"jsonrpc": "2.0"}',
    )
    headers = seen["headers"]
    assert ["host", "evil.example.com"] in headers
    assert ["origin", "http://evil.example.com"] in headers
    assert ["mcp-session-id", "s1"] in headers
    assert [value for name, value in headers if name == "authorization"] == ["Bearer k"]


async def test_a_chunked_request_body_is_relayed() -> None:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one ", b"two ", b"three"):
            yield part

    async with proxied() as (_, base), httpx.AsyncClient() as client:
        response = await client.post(f"{base}/echo", content=parts())

    assert response.json()["body"] == "one two three"


async def test_a_keep_alive_connection_keeps_its_upstream_connection() -> None:
    async with proxied() as (_, base), httpx.AsyncClient() as client:
        first = (await client.get(f"{base}/echo")).json()
        second = (await client.get(f"{base}/echo")).json()

    assert first["client_port"] == second["client_port"]


async def test_sse_streams_event_by_event_and_a_hang_up_reaches_the_upstream() -> None:
    async with proxied() as (app, base), httpx.AsyncClient() as client, asyncio.timeout(10):
        async with client.stream("GET", f"{base}/events", headers={"Accept": "text/event-stream"}) as response:
            assert response.headers["content-type"] == "text/event-stream"
            lines = response.aiter_lines()
            # The app holds the second event back until the first one has arrived here: nothing is buffered.
            assert [await anext(lines) for _ in range(3)] == ["id: 1", "data: first", ""]
            app.release.set()
            assert [await anext(lines) for _ in range(3)] == ["id: 2", "data: second", ""]
        await app.disconnected.wait()


async def test_an_unreachable_target_is_a_bad_gateway() -> None:
    app = EchoApp()
    async with serving(app) as target:
        pass  # stopped: nothing listens there any more
    async with AuthProxy(target, headers={"Authorization": "Bearer k"}) as proxy, httpx.AsyncClient() as client:
        response = await client.get(f"{proxy.url}/echo")

    assert response.status_code == 502
