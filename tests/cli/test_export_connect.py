"""``mcphost config export`` and ``mcphost connect`` as a user runs them, against a running ``mcphost up`` whose
server ``srv`` runs on the fake runtime (tool ``echo``)."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import stat
import subprocess

import httpx
import pytest

from mcp import Client, StdioServerParameters
from tests.cli import processes
from tests.cli.live import EMAIL, PASSWORD, Instance, ok, one_line_error


def logged_in(instance: Instance) -> dict[str, str]:
    env = instance.env()
    ok("login", "--url", instance.url, "--email", EMAIL, "--password", PASSWORD, env=env)
    return env


def test_config_export_prints_each_client_configuration(instance: Instance) -> None:
    env = logged_in(instance)
    slug = instance.server["slug"]
    endpoint = f"{instance.url}/mcp/{slug}"

    cursor = processes.run("config", "export", slug, "--client", "cursor", env=env)
    assert cursor.returncode == 0, cursor.stderr
    entry = json.loads(cursor.stdout)["mcpServers"][slug]
    assert entry["url"] == endpoint
    key = entry["headers"]["Authorization"].removeprefix("Bearer ")
    assert key.startswith("mcph_sk_") and "Created the access key" in cursor.stderr
    # The created key works on the endpoint.
    with instance.api() as api:
        keys = api.get(f"/api/servers/{instance.server['id']}/keys").json()
    assert "mcphost config export (cursor)" in {k["name"] for k in keys}

    desktop = json.loads(ok("config", "export", slug, "--client", "claude-desktop", "--key", "mcph_sk_given", env=env))
    server = desktop["mcpServers"][slug]
    assert endpoint in server["args"] and server["env"]["AUTH_HEADER"] == "Bearer mcph_sk_given"

    vscode = json.loads(ok("config", "export", slug, "--client", "vscode", "--key", "mcph_sk_given", env=env))
    assert vscode["servers"][slug]["url"] == endpoint and vscode["inputs"][0]["id"] == "mcphost-key"

    command = shlex.split(ok("config", "export", slug, "-c", "claude-code", "--key", "mcph_sk_given", env=env))
    assert command[:3] == ["claude", "mcp", "add"] and endpoint in command
    assert "Authorization: Bearer mcph_sk_given" in command

    refused = processes.run("config", "export", slug, "-c", "claude-code", "--key", "k", "--write", env=env)
    assert refused.returncode == 2 and refused.stdout.startswith("claude mcp add")
    assert "run the command above" in refused.stderr


def test_config_export_write_merges_and_keeps_other_entries(instance: Instance) -> None:
    env = logged_in(instance)
    slug = instance.server["slug"]
    config = instance.user_home / ".cursor" / "mcp.json"
    config.parent.mkdir()
    other = {"mcpServers": {"other": {"command": "other-server"}}, "theme": "dark"}
    config.write_text(json.dumps(other))
    config.chmod(0o640)

    written = ok("config", "export", slug, "--client", "cursor", "--write", "--key", "mcph_sk_given", env=env)
    assert str(config) in written
    merged = json.loads(config.read_text())
    assert merged["mcpServers"]["other"] == {"command": "other-server"} and merged["theme"] == "dark"
    assert merged["mcpServers"][slug]["headers"]["Authorization"] == "Bearer mcph_sk_given"
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    backups = list(config.parent.glob("mcp.json.*.bak"))
    assert len(backups) == 1 and json.loads(backups[0].read_text()) == other
    assert [p.name for p in config.parent.iterdir() if p.name.endswith(".tmp")] == []

    # Once more: the entry is replaced, not duplicated; VS Code's inputs are merged by id.
    ok("config", "export", slug, "--client", "cursor", "--write", "--key", "mcph_sk_other", env=env)
    merged = json.loads(config.read_text())
    assert set(merged["mcpServers"]) == {"other", slug}
    assert merged["mcpServers"][slug]["headers"]["Authorization"] == "Bearer mcph_sk_other"

    vscode = instance.user_home / "project" / ".vscode" / "mcp.json"
    vscode.parent.mkdir(parents=True)
    vscode.write_text(json.dumps({"servers": {}, "inputs": [{"id": "mine", "type": "promptString"}]}))
    ok("config", "export", slug, "-c", "vscode", "--write", "--path", str(vscode), "--key", "k", env=env)
    ok("config", "export", slug, "-c", "vscode", "--write", "--path", str(vscode), "--key", "k", env=env)
    assert [i["id"] for i in json.loads(vscode.read_text())["inputs"]] == ["mine", "mcphost-key"]

    # A new file, in a directory that does not exist yet (Claude Desktop on Linux).
    ok("config", "export", slug, "-c", "claude-desktop", "--write", "--key", "k", env=env)
    desktop = instance.user_home / ".config" / "Claude" / "claude_desktop_config.json"
    assert slug in json.loads(desktop.read_text())["mcpServers"]


def test_config_export_refuses_a_file_that_is_not_json(instance: Instance) -> None:
    env = logged_in(instance)
    config = instance.user_home / ".cursor" / "mcp.json"
    config.parent.mkdir()
    config.write_text('{"mcpServers": {"other": {},}  // not JSON')
    before = config.read_bytes()

    slug = instance.server["slug"]
    refused = processes.run("config", "export", slug, "-c", "cursor", "--write", "--key", "k", env=env)
    assert "not valid JSON" in one_line_error(refused)
    assert config.read_bytes() == before
    assert sorted(p.name for p in config.parent.iterdir()) == ["mcp.json"]


async def list_and_call(args: list[str], env: dict[str, str]) -> None:
    params = StdioServerParameters(command=processes.executable("mcphost"), args=args, env=env)
    async with Client(params, mode="legacy") as client:
        tools = await client.list_tools()
        assert "echo" in {tool.name for tool in tools.tools}
        result = await client.call_tool("echo", {"text": "through the bridge"})
        assert not result.is_error
        assert "through the bridge" in json.dumps(result.model_dump(mode="json"))


async def test_connect_relays_an_sdk_stdio_client(instance: Instance) -> None:
    env = logged_in(instance)
    slug = instance.server["slug"]

    await list_and_call(["connect", slug], env)
    kept = instance.user_home / ".config" / "mcphost" / "keys.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    key = json.loads(kept.read_text())[instance.url][slug]["key"]
    assert key.startswith("mcph_sk_")

    # The kept key is used the next time: no new key, and no need of the login.
    ok("logout", env=env)
    await list_and_call(["connect", slug], instance.env(MCPHOST_URL=instance.url))
    with instance.api() as api:
        keys = api.get(f"/api/servers/{instance.server['id']}/keys").json()
    assert [k["name"] for k in keys].count("mcphost connect") == 1

    # A key from the environment, on a machine that never logged in.
    fresh = instance.env(MCPHOST_URL=instance.url, MCPHOST_KEY=instance.server["access_key"])
    await list_and_call(["connect", slug], fresh)


def test_connect_without_a_key_or_login_fails_in_one_line(instance: Instance) -> None:
    env = instance.env(MCPHOST_URL=instance.url)
    assert "mcphost login" in one_line_error(processes.run("connect", instance.server["slug"], env=env))
    assert not os.path.exists(instance.user_home / ".config" / "mcphost" / "keys.json")


def test_connect_speaks_newline_delimited_json_rpc(instance: Instance) -> None:
    env = instance.env(MCPHOST_URL=instance.url, MCPHOST_KEY=instance.server["access_key"])
    lines = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "a"}}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "b"}}},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    result = subprocess.run(
        [processes.executable("mcphost"), "connect", instance.server["slug"]],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=processes.COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]  # nothing but JSON lines
    by_id = {answer.get("id"): answer for answer in answers if "id" in answer}
    assert by_id[1]["result"]["protocolVersion"] == "2025-06-18"
    assert "echo" in {tool["name"] for tool in by_id[2]["result"]["tools"]}
    assert "a" in json.dumps(by_id[3]["result"]) and "b" in json.dumps(by_id[4]["result"])
    assert by_id[None]["error"]["code"] == -32700
    assert "Traceback" not in result.stderr


# -- the relay itself, against a scripted endpoint ------------------------------------------------------------


class ScriptedEndpoint:
    """An endpoint that answers initialize with a session, ``slow`` late, ``sse`` with a stream of three
    messages, and holds a GET stream that drops once before sending a server request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.gets = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "DELETE":
            return httpx.Response(200)
        if request.method == "GET":
            self.gets += 1
            if self.gets == 1:
                return httpx.Response(503)
            if self.gets == 2:
                ping = {"jsonrpc": "2.0", "id": "s1", "method": "ping"}
                body = f"id: 7\nevent: message\ndata: {json.dumps(ping)}\n\n".encode()
                return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
            await asyncio.sleep(30)
            return httpx.Response(204)
        message = json.loads(request.content)
        if "method" not in message or message["method"].startswith("notifications/"):
            return httpx.Response(202)
        ident = message["id"]
        if message["method"] == "initialize":
            result = {"protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {"name": "s", "version": "1"}}
            answer = {"jsonrpc": "2.0", "id": ident, "result": result}
            return httpx.Response(200, json=answer, headers={"mcp-session-id": "session-1"})
        if message["method"] == "slow":
            await asyncio.sleep(0.5)
        if message["method"] == "sse":
            events = [
                {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}},
                {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 2}},
                {"jsonrpc": "2.0", "id": ident, "result": {"done": True}},
            ]
            body = "".join(f"id: {n}\ndata: {json.dumps(e)}\n\n" for n, e in enumerate(events)).encode()
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
        if message["method"] == "missing":
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "No such server."}})
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": ident, "result": {"method": message["method"]}})


async def test_bridge_relays_streams_in_order_without_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcphost.client import bridge as bridge_module
    from mcphost.client.bridge import Bridge

    endpoint = ScriptedEndpoint()
    written: list[bytes] = []
    lines: asyncio.Queue[bytes] = asyncio.Queue()
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "slow"},
        {"jsonrpc": "2.0", "id": 3, "method": "fast"},
        {"jsonrpc": "2.0", "id": 4, "method": "sse"},
        {"jsonrpc": "2.0", "id": 5, "method": "missing"},
    ]
    for message in messages:
        lines.put_nowait(json.dumps(message).encode() + b"\n")

    async def read_line() -> bytes:
        return await lines.get()

    monkeypatch.setattr(bridge_module, "RETRY_SECONDS", (0.05,))
    relay = Bridge(
        "http://host/mcp/srv",
        "mcph_sk_test",
        read_line=read_line,
        write_line=written.append,
        log=lambda _: None,
        transport=httpx.MockTransport(endpoint),
    )
    running = asyncio.create_task(relay.run())
    deadline = asyncio.get_running_loop().time() + 5
    while not any(b'"s1"' in line for line in written) or not any(b'"id":2' in line for line in written):
        assert asyncio.get_running_loop().time() < deadline, written
        await asyncio.sleep(0.02)
    lines.put_nowait(json.dumps({"jsonrpc": "2.0", "id": "s1", "result": {}}).encode())
    lines.put_nowait(b"")  # end of input
    await asyncio.wait_for(running, 5)

    out = [json.loads(line) for line in written]
    ids = [m.get("id") for m in out if "id" in m]
    assert ids.index(3) < ids.index(2)  # the fast request did not wait for the slow one
    sse = [m for m in out if m.get("method") == "notifications/progress" or m.get("id") == 4]
    assert [m.get("params", {}).get("progress") for m in sse] == [1, 2, None]
    missing = next(m for m in out if m.get("id") == 5)
    assert "No such server." in missing["error"]["message"]

    posts = [r for r in endpoint.requests if r.method == "POST"]
    assert all(r.headers["authorization"] == "Bearer mcph_sk_test" for r in endpoint.requests)
    assert "mcp-session-id" not in posts[0].headers
    assert all(r.headers["mcp-session-id"] == "session-1" for r in posts[1:])
    assert all(r.headers["mcp-protocol-version"] == "2025-06-18" for r in posts[1:])
    assert json.loads(posts[-1].content) == {"jsonrpc": "2.0", "id": "s1", "result": {}}  # the client's answer
    gets = [r for r in endpoint.requests if r.method == "GET"]
    assert len(gets) >= 3 and gets[0].headers["accept"] == "text/event-stream"
    assert gets[2].headers["last-event-id"] == "7"  # resumed after the drop
    assert endpoint.requests[-1].method == "DELETE"
    assert endpoint.requests[-1].headers["mcp-session-id"] == "session-1"
