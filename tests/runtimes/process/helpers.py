"""Helpers for runtime tests: launching command sources and talking MCP over an instance's stdio."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from mcphost.runtimes.base import Artifact, Limits
from mcphost.runtimes.base import LaunchSpec as Spec
from mcphost.runtimes.process import ProcessRuntime
from mcphost.runtimes.process.instance import ProcessInstance
from mcphost.runtimes.process.process_tree import descendants
from mcphost.settings import RuntimeSettings, Settings

ECHO_SERVER = Path(__file__).resolve().parents[2] / "fixtures" / "echo_server.py"
TIMEOUT = 20.0


def runtime_settings(home: Path, **runtime: Any) -> Settings:
    return Settings(home=home, runtime=RuntimeSettings(**runtime))


async def no_progress(line: str) -> None:
    return None


class Lines:
    """Collects progress lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, line: str) -> None:
        self.lines.append(line)

    def any(self, text: str) -> bool:
        return any(text in line for line in self.lines)


async def launch(
    runtime: ProcessRuntime,
    data_dir: Path,
    command: list[str] | None = None,
    *,
    env: dict[str, str] | None = None,
    limits: Limits | None = None,
    transport: str = "stdio",
    url: str | None = None,
    artifact: Artifact | None = None,
) -> ProcessInstance:
    """Prepare a command source (the echo server by default) and start it."""
    if artifact is None:
        source: dict[str, Any] = {"type": "command", "command": command or [sys.executable, str(ECHO_SERVER)]}
        source.update({"transport": transport, "url": url} if transport != "stdio" else {})
        artifact = await runtime.prepare(source, no_progress)
    spec = Spec(
        server_id=uuid.uuid4(),
        slug="test-server",
        instance_key=f"test-{uuid.uuid4().hex[:8]}",
        artifact=artifact,
        env=env or {},
        data_dir=data_dir,
        limits=limits or Limits(),
    )
    instance = await asyncio.wait_for(runtime.start(spec), TIMEOUT)
    assert isinstance(instance, ProcessInstance)
    return instance


class Mcp:
    """A minimal MCP client over newline-delimited JSON-RPC on an instance's stdio."""

    def __init__(self, instance: ProcessInstance) -> None:
        channel = instance.stdio
        assert channel is not None
        self.instance = instance
        self.reader, self.writer = channel
        self.last_id = 0

    async def send(self, message: dict[str, Any]) -> None:
        self.writer.write(json.dumps(message).encode() + b"\n")
        await self.writer.drain()

    async def request(self, method: str, params: dict[str, Any] | None = None, timeout: float = TIMEOUT) -> Any:
        self.last_id += 1
        await self.send({"jsonrpc": "2.0", "id": self.last_id, "method": method, "params": params or {}})
        while True:
            line = await asyncio.wait_for(self.reader.readline(), timeout)
            if not line:
                logs = "\n".join(self.instance.last_log_lines(20))
                raise EOFError(f"the server closed its output while {method} was pending; its last lines:\n{logs}")
            message = json.loads(line)
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message["result"]

    async def initialize(self, timeout: float = TIMEOUT) -> Any:
        params = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}}
        result = await self.request("initialize", params, timeout)
        await self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result

    async def call(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """A tool's text; an 'isError' result is returned as text too (tests look at what was denied)."""
        result = await self.request("tools/call", {"name": name, "arguments": arguments or {}})
        text: str = result["content"][0]["text"]
        return text


async def collect_logs(instance: ProcessInstance, timeout: float = TIMEOUT) -> list[str]:
    """Every log line until the instance's stderr ends."""

    async def read() -> list[str]:
        return [line async for line in instance.log_lines()]

    return await asyncio.wait_for(read(), timeout)


def living(pids: list[int]) -> list[int]:
    """Which of these processes still exist (zombies waiting for a reaper do not count)."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def process_tree(instance: ProcessInstance) -> list[int]:
    return [instance.pid, *descendants(instance.pid)]
