"""Real stdio MCP servers as subprocesses: the fixture server, tiny ad-hoc servers written inline (``-c``), and
``mcp-server-time`` from PyPI in a virtualenv made once per test session."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from mcphost.mcp import StdioConnection
from mcphost.runtimes.process.packages import installer_env

FIXTURE_SERVER = Path(__file__).parents[1] / "fixtures" / "echo_server.py"
TIME_SERVER_PACKAGE = "mcp-server-time==2026.10.19"

# Helpers shared by the ad-hoc servers: they read requests with ``messages()`` and answer with ``send()``.
ADHOC_PRELUDE = """
import json, sys, time
def send(obj):
    sys.stdout.write(json.dumps(obj) + "\\n")
    sys.stdout.flush()
def raw(text):
    sys.stdout.write(text)
    sys.stdout.flush()
def messages():
    for line in sys.stdin:
        if line.strip():
            yield json.loads(line)
def answer(message, result):
    send({"jsonrpc": "2.0", "id": message["id"], "result": result})
def init_result(version="2025-11-25", capabilities=None, **extra):
    return {"protocolVersion": version, "capabilities": {"tools": {}} if capabilities is None else capabilities,
            "serverInfo": {"name": "adhoc", "version": "0.1"}, **extra}
"""

Server = tuple[asyncio.subprocess.Process, StdioConnection]


@asynccontextmanager
async def spawn_server(
    argv: list[str], *, env: dict[str, str] | None = None, limit: int = 2**20, name: str = "test-server"
) -> AsyncIterator[Server]:
    """Start ``argv`` with its stdio piped and connect to it; always killed and reaped at the end."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=limit,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None and process.stdin is not None
    connection = StdioConnection(process.stdout, process.stdin, name=name).start()
    try:
        yield process, connection
    finally:
        await connection.close()
        if process.returncode is None:
            process.kill()
        async with asyncio.timeout(10):
            await process.wait()


@pytest.fixture
def fixture_server() -> Callable[..., AbstractAsyncContextManager[Server]]:
    """``async with fixture_server(FIXTURE_TOOLS_PAGE_SIZE="2") as (process, connection)``."""

    def start(limit: int = 2**20, **env: str) -> AbstractAsyncContextManager[Server]:
        return spawn_server([sys.executable, str(FIXTURE_SERVER)], env=env, limit=limit, name="echo-fixture")

    return start


@pytest.fixture
def adhoc_server() -> Callable[..., AbstractAsyncContextManager[Server]]:
    """``async with adhoc_server(body) as (process, connection)``: a server whose main loop is ``body``."""

    def start(body: str, limit: int = 2**20) -> AbstractAsyncContextManager[Server]:
        return spawn_server([sys.executable, "-c", ADHOC_PRELUDE + body], limit=limit, name="adhoc")

    return start


@pytest.fixture(scope="session")
def time_server(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``mcp-server-time`` program, installed from PyPI with uv into a virtualenv kept for the session."""
    uv = Path(sys.executable).parent / "uv"
    venv = tmp_path_factory.mktemp("mcp-server-time") / "venv"
    env = installer_env()  # what the process runtime gives uv: the network and TLS settings, the system's CAs
    subprocess.run([str(uv), "venv", "--quiet", str(venv)], check=True, timeout=300, env=env)
    subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), TIME_SERVER_PACKAGE],
        check=True,
        timeout=600,
        env=env,
    )
    program = venv / "bin" / "mcp-server-time"
    assert program.exists()
    return program
