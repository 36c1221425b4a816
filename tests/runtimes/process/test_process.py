"""The process runtime with real subprocesses: the MCP channel, logs, exits, stopping, the environment."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import httpx
import pytest

from mcphost.runtimes.base import PrepareFailed, StartFailed
from mcphost.runtimes.process import ProcessRuntime
from mcphost.runtimes.process.process_tree import alive
from mcphost.runtimes.registry import Runtimes
from mcphost.settings import DockerSettings
from tests.runtimes.process.helpers import (
    ECHO_SERVER,
    Mcp,
    collect_logs,
    launch,
    living,
    no_progress,
    process_tree,
    runtime_settings,
)

# A server that starts a helper (which itself leaves its session) and then serves forever.
SPAWNING_SERVER = """
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
print("spawned", file=sys.stderr, flush=True)
time.sleep(120)
"""
STUBBORN_SERVER = """
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ignoring SIGTERM", file=sys.stderr, flush=True)
while True:
    time.sleep(1)
"""
POLITE_SERVER = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(5))
print("ready", file=sys.stderr, flush=True)
while True:
    time.sleep(1)
"""


async def test_answers_mcp_over_stdio(runtime: ProcessRuntime, data_dir: Path) -> None:
    instance = await launch(runtime, data_dir)
    mcp = Mcp(instance)
    result = await mcp.initialize()
    assert result["serverInfo"]["name"] == "echo-fixture"
    assert await mcp.call("add", {"a": 2, "b": 40}) == "42"
    assert instance.transport == "stdio" and instance.url is None
    assert await instance.stop(2) == 0  # closing stdin ends a stdio server cleanly
    assert instance.exit_code == 0


async def test_large_messages_fit_the_channel(runtime: ProcessRuntime, data_dir: Path) -> None:
    instance = await launch(runtime, data_dir)
    text = "x" * (3 * 1024 * 1024)  # far above asyncio's default 64 KiB line limit
    assert await Mcp(instance).call("echo", {"text": text}) == text


async def test_stderr_arrives_as_log_lines(runtime: ProcessRuntime, data_dir: Path) -> None:
    instance = await launch(runtime, data_dir)
    await Mcp(instance).send({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "crash"}})
    assert await asyncio.wait_for(instance.wait(), 10) == 9
    logs = await collect_logs(instance)
    assert logs == ["fixture: ready", "fixture: crashing on request"]
    assert instance.last_log_lines(1) == ["fixture: crashing on request"]


async def test_exit_codes_are_reported(runtime: ProcessRuntime, data_dir: Path) -> None:
    crashing = await launch(runtime, data_dir)
    assert crashing.exit_code is None
    await Mcp(crashing).send({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "crash"}})
    assert await asyncio.wait_for(crashing.wait(), 10) == 9
    assert crashing.exit_code == 9
    assert await crashing.stop(1) == 9  # stopping an exited instance just reports its code

    failing = await launch(runtime, data_dir, env={"FIXTURE_FAIL_AT_START": "1"})
    assert await asyncio.wait_for(failing.wait(), 10) == 3
    assert "fixture: missing configuration FIXTURE_SETTING; refusing to start" in await collect_logs(failing)


async def test_stop_leaves_no_process_behind(runtime: ProcessRuntime, data_dir: Path) -> None:
    instance = await launch(runtime, data_dir, [sys.executable, "-c", SPAWNING_SERVER])
    logs = instance.log_lines()
    assert await asyncio.wait_for(anext(logs), 10) == "spawned"
    tree = process_tree(instance)
    assert len(living(tree)) >= 3  # the server and its two helpers (plus bubblewrap when sandboxed)
    started = time.monotonic()
    assert await instance.stop(1) in (-15, -9)
    assert time.monotonic() - started < 5
    assert living(tree) == []
    assert not alive(instance.pid), "its process group is empty"


async def test_sigkill_after_grace_when_sigterm_is_ignored(runtime: ProcessRuntime, data_dir: Path) -> None:
    instance = await launch(runtime, data_dir, [sys.executable, "-c", STUBBORN_SERVER])
    assert await asyncio.wait_for(anext(instance.log_lines()), 10) == "ignoring SIGTERM"
    tree = process_tree(instance)
    started = time.monotonic()
    assert await instance.stop(1.0) == -9
    assert 1.0 <= time.monotonic() - started < 5
    assert living(tree) == []


async def test_sigterm_lets_a_server_exit_its_own_way(runtime: ProcessRuntime, data_dir: Path) -> None:
    instance = await launch(runtime, data_dir, [sys.executable, "-c", POLITE_SERVER])
    assert await asyncio.wait_for(anext(instance.log_lines()), 10) == "ready"
    started = time.monotonic()
    assert await instance.stop(3) == 5
    assert time.monotonic() - started < 2.5  # stdin closed (ignored), then SIGTERM half-way through the grace


async def test_a_chatty_server_never_blocks(home: Path, data_dir: Path) -> None:
    runtime = ProcessRuntime(runtime_settings(home, stop_grace_seconds=1), max_log_lines=1000)
    try:
        instance = await launch(runtime, data_dir, env={"FIXTURE_CHATTY": "100000"})
        # Nobody reads the logs, yet the server gets through 100 000 lines and answers.
        result = await Mcp(instance).initialize(timeout=30)
        assert result["serverInfo"]["name"] == "echo-fixture"
        await instance.stop(2)
        assert instance.dropped_log_lines >= 99_000
        logs = await collect_logs(instance)
        assert len(logs) <= 1001
        assert logs[0].startswith("[mcphost] ") and "log lines dropped" in logs[0]
        assert logs[-1] == "fixture: ready"
    finally:
        await runtime.close()


async def test_environment_is_only_its_own(
    runtime: ProcessRuntime, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "fake-platform-secret-key-0123456789-abcdefghij"
    monkeypatch.setenv("MCPHOST_SECRET_KEY", secret)
    monkeypatch.setenv("MCPHOST_DATABASE_URL", "postgresql+asyncpg://mcphost:hunter2@db/mcphost")
    monkeypatch.setenv("OTHER_SERVER_TOKEN", "another-servers-secret")
    instance = await launch(runtime, data_dir, env={"CFG_GREETING": "hello", "API_TOKEN": "this-servers-secret"})
    report = json.loads(await Mcp(instance).call("whoami"))
    env = report["env"]
    assert env["CFG_GREETING"] == "hello" and env["API_TOKEN"] == "this-servers-secret"
    assert set(env) - {"PWD"} == {"PATH", "HOME", "LANG", "TMPDIR", "PYTHONUNBUFFERED", "CFG_GREETING", "API_TOKEN"}
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin"
    raw = json.dumps(report)
    for leaked in (secret, "hunter2", "another-servers-secret", "MCPHOST_"):
        assert leaked not in raw
    expected_home = "/data" if runtime.sandboxed else str(data_dir)
    assert env["HOME"] == report["cwd"] == expected_home


async def test_streamable_http_command_gets_a_port(runtime: ProcessRuntime, data_dir: Path) -> None:
    command = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "{port}"]
    instance = await launch(runtime, data_dir, command, transport="streamable-http", url="http://127.0.0.1:{port}/")
    (data_dir / "hello.txt").write_text("served from the data directory")
    assert instance.stdio is None
    assert instance.url is not None and "{port}" not in instance.url
    response = await _get_once_listening(instance.url + "hello.txt")
    assert response.text == "served from the data directory"
    await instance.stop(1)
    assert any("GET /hello.txt" in line for line in await collect_logs(instance))


async def _get_once_listening(url: str, within: float = 60) -> httpx.Response:
    """GET the URL as soon as the server listens (a loaded machine may take long to start Python in a sandbox);
    until then, in its own network, pasta accepts and drops the connection or nothing answers."""
    deadline = asyncio.get_running_loop().time() + within
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            try:
                return await client.get(url)
            except httpx.TransportError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)


async def test_command_programs_are_resolved(sandboxed: ProcessRuntime) -> None:
    artifact = await sandboxed.prepare({"type": "command", "command": ["python3", "-V"]}, no_progress)
    assert Path(artifact.argv[0]).is_absolute() and artifact.argv[1:] == ("-V",)
    with pytest.raises(PrepareFailed, match="not found"):
        await sandboxed.prepare({"type": "command", "command": ["/nonexistent/server"]}, no_progress)
    with pytest.raises(PrepareFailed, match="absolute path"):
        await sandboxed.prepare({"type": "command", "command": ["./server.py"]}, no_progress)
    with pytest.raises(PrepareFailed, match="cannot run 'image' sources"):
        await sandboxed.prepare({"type": "image", "image": "busybox"}, no_progress)


async def test_a_command_may_not_expose_the_home(sandboxed: ProcessRuntime, home: Path) -> None:
    command = [sys.executable, str(ECHO_SERVER), str(home.parent)]  # the test's tmp_path: it exists
    with pytest.raises(PrepareFailed, match="data directory"):
        await sandboxed.prepare({"type": "command", "command": command}, no_progress)


async def test_close_stops_every_instance(home: Path, data_dir: Path) -> None:
    runtime = ProcessRuntime(runtime_settings(home, stop_grace_seconds=0.5))
    instances = [await launch(runtime, data_dir) for _ in range(3)]
    trees = [pid for instance in instances for pid in process_tree(instance)]
    await asyncio.wait_for(runtime.close(), 10)
    assert all(instance.exit_code is not None for instance in instances)
    assert living(trees) == []


async def test_missing_program_at_start(runtime: ProcessRuntime, data_dir: Path) -> None:
    artifact = await runtime.prepare({"type": "command", "command": [sys.executable, "-V"]}, no_progress)
    empty = type(artifact)(argv=())
    with pytest.raises(StartFailed, match="no program"):
        await launch(runtime, data_dir, artifact=empty)


async def test_the_registry_builds_it(home: Path) -> None:
    runtimes = Runtimes(runtime_settings(home))
    runtime = runtimes.get("process")
    assert isinstance(runtime, ProcessRuntime)
    assert runtimes.for_source("package") == "process" and runtimes.for_source("command") == "process"
    await runtimes.close()
    without_docker = Runtimes(
        runtime_settings(home).model_copy(update={"docker": DockerSettings(default_for_images=False)})
    )
    assert without_docker.for_source("image") is None
