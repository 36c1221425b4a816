"""Launching instances on a runtime (Docker's, Kubernetes') and talking MCP to them with the platform's own client."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from mcphost.mcp.http import HttpConnection
from mcphost.mcp.session import McpSession
from mcphost.mcp.stdio import StdioConnection
from mcphost.runtimes.base import Artifact, Instance, LaunchSpec, Limits, Runtime
from mcphost.runtimes.docker import DockerRuntime
from mcphost.runtimes.docker.instance import DockerInstance

TIMEOUT = 30.0


async def no_progress(line: str) -> None:
    return None


async def start_instance(
    runtime: Runtime,
    data_dir: Path,
    source: dict[str, Any] | None = None,
    *,
    artifact: Artifact | None = None,
    env: dict[str, str] | None = None,
    limits: Limits | None = None,
    instance_key: str = "shared",
    server_id: uuid.UUID | None = None,
    timeout: float = TIMEOUT,
) -> Instance:
    """Prepare ``source`` (unless an ``artifact`` is given) and start an instance of it on any runtime."""
    if artifact is None:
        artifact = await runtime.prepare(source or {}, no_progress)
    spec = LaunchSpec(
        server_id=server_id or uuid.uuid4(),
        slug="test-server",
        instance_key=instance_key,
        artifact=artifact,
        env=env or {},
        data_dir=data_dir,
        limits=limits or Limits(),
    )
    return await asyncio.wait_for(runtime.start(spec), timeout)


async def launch(
    runtime: DockerRuntime, data_dir: Path, source: dict[str, Any] | None = None, **options: Any
) -> DockerInstance:
    instance = await start_instance(runtime, data_dir, source, **options)
    assert isinstance(instance, DockerInstance)
    return instance


class Client:
    """An MCP session with an instance over its channel (attach socket, or URL with the instance's headers)."""

    def __init__(self, instance: Instance) -> None:
        if instance.transport == "streamable-http":
            assert instance.url is not None
            self.connection: StdioConnection | HttpConnection = HttpConnection(instance.url, headers=instance.headers)
        else:
            assert instance.stdio is not None
            self.connection = StdioConnection(*instance.stdio, name="test").start()
        self.session = McpSession(self.connection, timeout=TIMEOUT)

    async def __aenter__(self) -> Client:
        await self.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()

    async def initialize(self) -> dict[str, Any]:
        for _ in range(100):  # an HTTP server takes a moment to listen
            try:
                return (await self.session.initialize(capabilities={})).to_dict()
            except Exception:
                if isinstance(self.connection, StdioConnection):
                    raise
                await asyncio.sleep(0.1)
        return (await self.session.initialize(capabilities={})).to_dict()

    async def call(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        result = await self.session.call_tool(name, arguments or {})
        return str(result["content"][0]["text"])

    async def whoami(self) -> dict[str, Any]:
        return dict(json.loads(await self.call("whoami")))
