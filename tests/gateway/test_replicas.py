"""Any replica serves any server (ADR 0015), with real processes: three ``mcphost up`` (nodes a, b and c, each
hosting servers) on one PostgreSQL database with one secret key, behind a round-robin proxy on loopback. One client
session per server alternates between the replicas, request after request:

- a stdio server hosted by node a: replicas b and c forward its requests to a (signed internal calls), and the
  session, which lives on a, continues whichever replica the client reaches;
- a Streamable HTTP server hosted by node b: every replica relays to its upstream directly, and the session (opened
  on a) is continued by the others from the database.

Then node a is killed: the HTTP server's calls go on without a loss, the stdio server's get 503 naming node a (and,
once its heartbeat is old, since when it is down). Forged and replayed internal calls are refused."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mcphost.gateway.access import Grant
from mcphost.gateway.grants import encode_grant
from mcphost.models import Isolation
from mcphost.security.internal_calls import InternalCallSigner
from mcphost.security.keys import derive_key
from tests.cli import processes
from tests.cli.conftest import CHEAP_HASHING
from tests.conftest import TEST_SECRET_KEY
from tests.support import databases
from tests.support.round_robin import RoundRobinProxy
from tests.support.waiting import eventually

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NODES = ("node-a", "node-b", "node-c")
ACCEPT = "application/json, text/event-stream"
VERSION = "2025-11-25"


@dataclass
class Replica:
    node: str
    url: str
    process: processes.Running

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@dataclass
class Cluster:
    replicas: dict[str, Replica]
    token: str
    stdio: dict[str, Any]
    http: dict[str, Any]

    def api(self, node: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.replicas[node].url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30
        )


@pytest.fixture(scope="module")
def cluster(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    url = asyncio.run(databases.create_postgres_database(postgres_server, "replicas"))
    root = tmp_path_factory.mktemp("replicas")
    try:
        with ExitStack() as stack:
            replicas = {}
            for node in NODES:
                port = processes.free_port()
                env = processes.environment(
                    **CHEAP_HASHING,
                    MCPHOST_DATABASE_URL=url,
                    MCPHOST_SECRET_KEY=TEST_SECRET_KEY,
                    MCPHOST_RUNTIME__NODE_NAME=node,
                    MCPHOST_RUNTIME__HOST="true",
                    MCPHOST_RUNTIME__DEFAULT="process",
                    MCPHOST_RUNTIME__SANDBOX="off",
                    MCPHOST_NODES__HEARTBEAT_SECONDS="0.5",
                    MCPHOST_NODES__DOWN_AFTER_SECONDS="2",
                    MCPHOST_JOBS__POLL_INTERVAL="0.05",
                    MCPHOST_TRACES__FLUSH_INTERVAL_SECONDS="0.05",
                    MCPHOST_LOGGING__ACCESS_LOG="false",
                )
                home = root / node
                args = ("up", "--home", str(home), "--port", str(port))
                running = stack.enter_context(processes.start(*args, env=env, logs=root / f"{node}-logs"))
                replicas[node] = Replica(node, f"http://127.0.0.1:{port}", running)
            for replica in replicas.values():
                replica.process.wait_for(lambda r=replica: processes.answers(f"{r.url}/healthz"), "/healthz")
            token, stdio, http = asyncio.run(_servers(replicas))
            yield Cluster(replicas, token, stdio, http)
            for node in ("node-b", "node-c"):  # stop cleanly: their servers stop with them
                if replicas[node].process.process.poll() is None:
                    replicas[node].process.stop(signal.SIGTERM)
    finally:
        asyncio.run(databases.drop_postgres_database(postgres_server, url))


async def _servers(replicas: dict[str, Replica]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """An administrator; the stdio echo fixture hosted by node a, the SDK's HTTP fixture (its tools answer structured
    content: {"result": …}) hosted by node b."""
    account = {"email": "admin@example.com", "password": "a long passphrase for tests"}
    async with httpx.AsyncClient(base_url=replicas["node-a"].url, timeout=30) as http:
        assert (await http.post("/api/auth/register", json=account)).status_code == 201
        token = (await http.post("/api/auth/login", json=account)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    stdio_source = {"type": "command", "command": [sys.executable, str(FIXTURES / "echo_server.py")]}
    http_source = {
        "type": "command",
        "command": [sys.executable, str(FIXTURES / "http_server.py"), "{port}"],
        "transport": "streamable-http",
        "url": "http://127.0.0.1:{port}/mcp",
    }
    created = {}
    for node, name, source in (("node-a", "stdio", stdio_source), ("node-b", "http", http_source)):
        async with httpx.AsyncClient(base_url=replicas[node].url, headers=headers, timeout=30) as api:
            response = await api.post("/api/servers", json={"name": name, "source": source})
            assert response.status_code == 201, response.text
            created[name] = response.json()

            async def status(api: httpx.AsyncClient = api, server_id: str = created[name]["id"]) -> dict[str, Any]:
                return dict((await api.get(f"/api/servers/{server_id}")).json())

            running = await eventually(status, lambda s: s["status"] in ("running", "error"), timeout=60)
            assert running["status"] == "running", running["status_reason"]
    return token, created["stdio"], created["http"]


@pytest.fixture
async def proxy(cluster: Cluster) -> AsyncIterator[tuple[RoundRobinProxy, str]]:
    balancer = RoundRobinProxy([("127.0.0.1", replica.port) for replica in cluster.replicas.values()], down_seconds=30)
    port = await balancer.start()
    try:
        yield balancer, f"http://127.0.0.1:{port}"
    finally:
        await balancer.stop()


class Session:
    """One client session through the proxy, raw Streamable HTTP (statuses and headers visible)."""

    def __init__(self, http: httpx.AsyncClient, slug: str, key: str) -> None:
        self.http = http
        self.path = f"/mcp/{slug}"
        self.key = key
        self.session_id: str | None = None
        self.ids = iter(range(1, 10_000))

    async def post(self, message: dict[str, Any], accept: str = ACCEPT) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.key}", "accept": accept, "content-type": "application/json"}
        if self.session_id is not None:
            headers |= {"mcp-session-id": self.session_id, "mcp-protocol-version": VERSION}
        return await self.http.post(self.path, content=orjson.dumps(message), headers=headers)

    async def open(self) -> None:
        params = {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "replicas", "version": "1"}}
        response = await self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params})
        assert response.status_code == 200, response.text
        self.session_id = response.headers["mcp-session-id"]
        initialized = await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert initialized.status_code == 202, initialized.text

    async def echo(self, text: str, *, accept: str = ACCEPT) -> httpx.Response:
        params = {"name": "echo", "arguments": {"text": text}}
        message = {"jsonrpc": "2.0", "id": next(self.ids), "method": "tools/call", "params": params}
        return await self.post(message, accept=accept)

    async def stream_opens(self) -> str:
        """Open the session's GET stream; its content type once the answer's head has arrived."""
        headers = {"authorization": f"Bearer {self.key}", "accept": "text/event-stream"}
        headers |= {"mcp-session-id": self.session_id or "", "mcp-protocol-version": VERSION}
        async with self.http.stream("GET", self.path, headers=headers) as response:
            assert response.status_code == 200
            return str(response.headers["content-type"])

    async def end(self) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.key}", "mcp-session-id": self.session_id or ""}
        return await self.http.delete(self.path, headers=headers)


def echoed(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [
            line[5:].strip() for line in response.text.splitlines() if line.startswith("data:") and line[5:].strip()
        ]
        message = orjson.loads(data[-1])
    else:
        message = response.json()
    assert "result" in message, message
    return str(message["result"]["content"][0]["text"])


async def test_one_session_alternates_between_replicas_and_survives_one_of_them(
    cluster: Cluster, proxy: tuple[RoundRobinProxy, str]
) -> None:
    balancer, url = proxy
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        remote = Session(http, cluster.http["slug"], cluster.http["access_key"])
        await remote.open()  # initialize on node a (the proxy's first backend), initialized on node b
        local = Session(http, cluster.stdio["slug"], cluster.stdio["access_key"])
        await local.open()
        for turn in range(6):  # each call on the next replica: a, b, c, a, ...
            assert echoed(await remote.echo(f"http {turn}")) == f"http {turn}"
            assert echoed(await local.echo(f"stdio {turn}")) == f"stdio {turn}"
        assert set(balancer.answered) == {0, 1, 2} and min(balancer.answered.values()) >= 5, balancer.answered
        # The platform's own calls take the same routes: the playground on node c calls the stdio server on node a,
        # and a workflow whose first server node b hosts (so node b runs it) calls the stdio server on node a.
        async with cluster.api("node-c") as api:
            body = {"method": "tools/call", "params": {"name": "echo", "arguments": {"text": "played on c"}}}
            played = await api.post(f"/api/servers/{cluster.stdio['id']}/invoke", json=body)
            flow = await api.post(
                "/api/workflows",
                json={
                    "name": "across nodes",
                    "input_schema": {"type": "object", "properties": {"who": {"type": "string"}}, "required": ["who"]},
                    "steps": [
                        {
                            "id": "first",
                            "server": cluster.http["slug"],
                            "tool": "echo",
                            "arguments": {"text": "{{ input.who }}"},
                        },
                        {
                            "id": "second",
                            "server": cluster.stdio["slug"],
                            "tool": "echo",
                            "arguments": {"text": "{{ steps.first.output.result }}, via a"},
                        },
                    ],
                },
            )
            assert flow.status_code == 201, flow.text
            workflow = flow.json()
            run = (await api.post(f"/api/workflows/{workflow['id']}/run", json={"input": {"who": "Ada"}})).json()

            async def run_state() -> dict[str, Any]:
                return dict((await api.get(f"/api/workflows/{workflow['id']}/runs/{run['id']}")).json())

            done = await eventually(
                run_state, lambda r: r["status"] in ("succeeded", "failed", "cancelled"), timeout=20
            )
        assert played.status_code == 200 and played.json()["result"]["content"][0]["text"] == "played on c", played.text
        assert done["status"] == "succeeded" and done["output"] == "Ada, via a", done
        # Event streams pass through as they come (two in a row: at least one is forwarded by b or c to a).
        for turn in range(2):
            streamed = await local.echo(f"streamed {turn}", accept="text/event-stream")
            assert streamed.headers["content-type"].startswith("text/event-stream")
            assert echoed(streamed) == f"streamed {turn}"
            assert (await local.stream_opens()).startswith("text/event-stream")
        # The stdio server's calls, two in three forwarded by b or c, were traced on a for the client's key and session.
        async with cluster.api("node-c") as api:

            async def traced() -> list[dict[str, Any]]:
                page = await api.get(f"/api/servers/{cluster.stdio['id']}/invocations", params={"limit": 50})
                return [call for call in page.json()["items"] if call["session_id"] == local.session_id]

            calls = await eventually(traced, lambda found: len(found) >= 8, timeout=10)  # 6 echoes, 2 streamed
        assert len(calls) == 8 and all(call["key_id"] is not None for call in calls), calls

        cluster.replicas["node-a"].process.process.kill()  # SIGKILL: no goodbye, the heartbeat just stops
        cluster.replicas["node-a"].process.process.wait(10)
        for turn in range(6, 12):
            assert echoed(await remote.echo(f"http {turn}")) == f"http {turn}"
            refused = await local.echo(f"stdio {turn}")
            assert refused.status_code == 503, refused.text
            assert "node 'node-a'" in refused.json()["error"]["message"], refused.text
        assert balancer.failed == 0
        # Ending the HTTP server's session on one replica ends it on all of them.
        assert (await remote.end()).status_code == 204

        async def after_end() -> httpx.Response:
            return await remote.echo("after the end")

        ended = await eventually(after_end, lambda r: r.status_code == 404, timeout=5)
        assert ended.json()["error"]["data"]["reason"] == "unknown_session"

        # Once its heartbeat is older than nodes.down_after_seconds, node a is down, and the answer says since when.
        async def stdio_answer() -> httpx.Response:
            return await local.echo("later")

        down = await eventually(stdio_answer, lambda r: "is down since" in r.text, timeout=10)
        assert down.status_code == 503 and down.headers["retry-after"], down.text
    async with cluster.api("node-b") as api:
        nodes = {node["name"]: node for node in (await api.get("/api/nodes")).json()}
    assert {nodes[name]["state"] for name in ("node-b", "node-c")} == {"up"}
    assert nodes["node-a"]["state"] == "down" and nodes["node-a"]["down_since"]
    assert nodes["node-a"]["servers"] == 1 and nodes["node-b"]["servers"] == 1
    assert time.monotonic() - started < 45


async def test_forged_and_replayed_internal_calls_are_refused(cluster: Cluster) -> None:
    node_b = cluster.replicas["node-b"].url
    server = cluster.http
    grant = Grant(uuid.UUID(server["id"]), server["slug"], Isolation.SHARED, "user:x", None, None, node="node-b")
    path = f"/mcp/{server['slug']}"
    body = orjson.dumps({"method": "tools/call", "params": {"name": "echo", "arguments": {"text": "x"}}, "timeout": 5})
    good = InternalCallSigner(
        derive_key(TEST_SECRET_KEY.encode(), "mcphost/internal-call/v1"), "node-x", max_age_seconds=30
    )
    forged = InternalCallSigner(
        derive_key(b"another installation's secret key!!", "mcphost/internal-call/v1"), "node-x", max_age_seconds=30
    )
    stale = InternalCallSigner(
        derive_key(TEST_SECRET_KEY.encode(), "mcphost/internal-call/v1"),
        "node-x",
        max_age_seconds=30,
        clock=lambda: time.time() - 120,
    )
    async with httpx.AsyncClient(base_url=node_b, timeout=30) as http:

        async def send(headers: list[tuple[bytes, bytes]], content: bytes = body) -> httpx.Response:
            return await http.post(path, content=content, headers=[(b"content-type", b"application/json"), *headers])

        signed = good.sign("invoke", "POST", path, encode_grant(grant), body)
        accepted = await send(signed)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["answer"]["result"]["content"][0]["text"] == "x"

        replayed = await send(signed)
        other_key = await send(forged.sign("invoke", "POST", path, encode_grant(grant), body))
        too_old = await send(stale.sign("invoke", "POST", path, encode_grant(grant), body))
        altered = await send(
            good.sign("invoke", "POST", path, encode_grant(grant), body), content=body.replace(b'"x"', b'"y"')
        )
        no_signature = await send([(b"x-mcphost-internal-signature", b"0" * 64)])
    for response, why in (
        (replayed, "replayed"),
        (other_key, "signature does not match"),
        (too_old, "away from this node's clock"),
        (altered, "signature does not match"),
        (no_signature, "lacks some of its signed headers"),
    ):
        assert response.status_code == 401, response.text
        assert why in response.json()["error"]["message"]


async def test_a_replica_relays_to_an_http_upstream_without_the_node_hosting_it(cluster: Cluster) -> None:
    hosting = cluster.replicas["node-b"].process.process
    async with httpx.AsyncClient(base_url=cluster.replicas["node-c"].url, timeout=10) as http:
        session = Session(http, cluster.http["slug"], cluster.http["access_key"])
        await session.open()
        hosting.send_signal(signal.SIGSTOP)  # node b answers nothing while it is stopped; its server still runs
        try:
            answer = await session.echo("without b")
        finally:
            hosting.send_signal(signal.SIGCONT)

    assert echoed(answer) == "without b"
