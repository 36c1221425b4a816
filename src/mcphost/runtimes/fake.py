"""A runtime without processes, for testing the layers above runtimes (lifecycle, gateway, API).

Each instance is an in-process MCP server speaking newline-delimited JSON-RPC over a socket pair, so callers
use exactly the channel a real stdio server gives them. Its behaviour follows the launch environment:
  FAKE_FAIL_AT_START=1       logs an error and exits with 3 at once
  FAKE_EXIT_AFTER_CALLS=N    exits with 7 after N tools/call requests
  FAKE_IGNORE_PINGS=1        stops answering ping (a hung server)
  FAKE_EXIT_AFTER_SECONDS=S  exits with 1 S seconds after it was initialized
Calling the tool ``grow`` adds a tool and sends ``notifications/tools/list_changed``; the tool ``hang`` is never
answered. Preparing the package
identifier ``missing-package`` fails, as a registry would.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import orjson

from mcphost.runtimes.base import Artifact, Instance, LaunchSpec, PrepareFailed, Progress, Runtime, Transport

_ids = itertools.count(1)
TOOLS = [
    {
        "name": "echo",
        "description": "Returns its text.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
    },
    {"name": "crash", "description": "Exits.", "inputSchema": {"type": "object"}},
]


class FakeInstance(Instance):
    def __init__(self, spec: LaunchSpec) -> None:
        self.id = f"fake-{next(_ids)}"
        self.transport: Transport = "stdio"
        self.spec = spec
        self._exit: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._logs: asyncio.Queue[str | None] = asyncio.Queue()
        self._calls = 0
        self._tools = list(TOOLS)
        self._client: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._server_task: asyncio.Task[None] | None = None

    async def _open(self) -> None:
        ours, theirs = socket.socketpair()
        self._client = await asyncio.open_connection(sock=ours)
        reader, writer = await asyncio.open_connection(sock=theirs)
        self._server_task = asyncio.create_task(self._serve(reader, writer))

    @property
    def stdio(self) -> tuple[Any, Any] | None:
        return self._client

    async def log_lines(self) -> AsyncIterator[str]:
        while (line := await self._logs.get()) is not None:
            yield line

    async def wait(self) -> int:
        return await asyncio.shield(self._exit)

    @property
    def exit_code(self) -> int | None:
        return self._exit.result() if self._exit.done() else None

    async def stop(self, grace: float) -> int:
        self._finish(-15)
        return await self.wait()

    def _finish(self, code: int) -> None:
        if self._exit.done():
            return
        self._exit.set_result(code)
        self._logs.put_nowait(None)
        if self._server_task is not None:
            self._server_task.cancel()
        if self._client is not None:
            self._client[1].close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        env = self.spec.env
        if env.get("FAKE_FAIL_AT_START"):
            self._logs.put_nowait("fake: missing configuration; refusing to start")
            self._finish(3)
            return
        self._logs.put_nowait("fake: ready")
        try:
            while line := await reader.readline():
                message = orjson.loads(line)
                if "id" not in message:
                    continue
                reply = self._answer(message, env)
                if reply is None:
                    continue
                writer.write(orjson.dumps(reply) + b"\n")
                if message.get("method") == "tools/call" and (message.get("params") or {}).get("name") == "grow":
                    changed = {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}
                    writer.write(orjson.dumps(changed) + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._finish(0)

    def _answer(self, message: dict[str, Any], env: dict[str, str]) -> dict[str, Any] | None:
        method, params = message["method"], message.get("params") or {}
        result: dict[str, Any]
        if method == "initialize":
            if "FAKE_EXIT_AFTER_SECONDS" in env:
                asyncio.get_running_loop().call_later(float(env["FAKE_EXIT_AFTER_SECONDS"]), self._finish, 1)
            result = {
                "protocolVersion": params.get("protocolVersion", "2025-11-25"),
                "capabilities": {"tools": {"listChanged": True}},
                "serverInfo": {"name": "fake", "version": "1.0"},
            }
        elif method == "ping":
            if env.get("FAKE_IGNORE_PINGS"):
                return None
            result = {}
        elif method == "tools/list":
            result = {"tools": self._tools}
        elif method == "tools/call":
            self._calls += 1
            limit = env.get("FAKE_EXIT_AFTER_CALLS")
            if params.get("name") == "grow":
                number = len(self._tools)
                self._tools.append({"name": f"grown_{number}", "inputSchema": {"type": "object"}})
            if params.get("name") == "hang":
                return None
            if params.get("name") == "crash" or (limit and self._calls > int(limit)):
                self._logs.put_nowait("fake: exiting")
                self._finish(7)
                return None
            text = str((params.get("arguments") or {}).get("text", ""))
            result = {"content": [{"type": "text", "text": text}], "isError": False}
        else:
            return {"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32601, "message": "Method not found"}}
        return {"jsonrpc": "2.0", "id": message["id"], "result": result}


class FakeRuntime(Runtime):
    type: ClassVar[str] = "fake"
    source_types: ClassVar[frozenset[str]] = frozenset({"package", "command"})
    enforces: ClassVar[frozenset[str]] = frozenset({"cpu", "memory", "network_none"})

    def __init__(self, settings: object = None) -> None:
        self.prepared: list[dict[str, Any]] = []
        self.instances: list[FakeInstance] = []

    async def prepare(self, source: dict[str, Any], progress: Progress) -> Artifact:
        name = source.get("identifier") or " ".join(source.get("command", []))
        await progress(f"preparing {name}")
        if name == "missing-package":
            raise PrepareFailed(f"package {name} was not found in the registry")
        self.prepared.append(source)
        return Artifact(argv=("fake", str(name)), details={"name": name})

    async def start(self, spec: LaunchSpec) -> Instance:
        instance = FakeInstance(spec)
        await instance._open()
        self.instances.append(instance)
        return instance

    @property
    def running(self) -> list[FakeInstance]:
        return [instance for instance in self.instances if instance.exit_code is None]
