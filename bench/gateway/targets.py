"""The targets of the gateway benchmark, each started fresh around one backend and stopped afterwards.

A target yields where to send MCP requests (``url`` and ``auth``; no url for direct pipes) and the process whose
tree is the gateway (``root_pid``). Every process started here is started in its own process group and ended by
that group's id.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
from loadgen import HttpError, Session
from peers import FASTMCP, MCP_PROXY, SUPERGATEWAY, ensure

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PASSWORD = "correct horse battery staple"
BACKENDS = {
    "echo fixture (stdlib)": ROOT / "tests" / "fixtures" / "echo_server.py",
    "SDK MCPServer": HERE / "sdk_echo.py",
}


class TargetUnavailable(RuntimeError):
    """The target could not be started or does not serve MCP where it should."""


@dataclass
class Running:
    url: str | None
    auth: str | None = None
    root_pid: int | None = None


def backend_command(script: Path) -> list[str]:
    return [sys.executable, str(script)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_for_port(port: int, process: asyncio.subprocess.Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.returncode is not None:
            raise TargetUnavailable(f"exited with status {process.returncode} before listening on port {port}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise TargetUnavailable(f"nothing listens on port {port} after {timeout}s") from None
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return


@asynccontextmanager
async def started(
    argv: list[str], log: Path, env: dict[str, str] | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run ``argv`` in a new process group (output to ``log``); ends the whole group afterwards."""
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        yield process
    finally:
        _signal_group(process.pid, signal.SIGTERM)
        with suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 10)
        _signal_group(process.pid, signal.SIGKILL)  # whatever the leader left behind in its group
        await process.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


@asynccontextmanager
async def http_peer(argv: list[str], port: int, scratch: Path) -> AsyncIterator[Running]:
    log = scratch / "peer.log"
    async with started(argv, log) as process:
        try:
            await wait_for_port(port, process)
        except TargetUnavailable as exc:
            raise TargetUnavailable(f"{exc}; log: {log.read_text()[-2000:]}") from None
        yield Running(f"http://127.0.0.1:{port}/mcp", root_pid=process.pid)


@asynccontextmanager
async def direct(script: Path) -> AsyncIterator[Running]:
    yield Running(url=None)


@asynccontextmanager
async def supergateway(script: Path) -> AsyncIterator[Running]:
    program = ensure(SUPERGATEWAY).program("supergateway")
    port = free_port()
    stdio = " ".join(backend_command(script))
    argv = [str(program), "--stdio", stdio, "--outputTransport", "streamableHttp", "--stateful"]
    with tempfile.TemporaryDirectory() as scratch:
        async with http_peer([*argv, "--port", str(port), "--logLevel", "none"], port, Path(scratch)) as running:
            yield running


@asynccontextmanager
async def mcp_proxy(script: Path) -> AsyncIterator[Running]:
    program = ensure(MCP_PROXY).program("mcp-proxy")
    port = free_port()
    argv = [str(program), "--host", "127.0.0.1", "--port", str(port), "--log-level", "WARNING", "--"]
    with tempfile.TemporaryDirectory() as scratch:
        async with http_peer([*argv, *backend_command(script)], port, Path(scratch)) as running:
            yield running


@asynccontextmanager
async def fastmcp(script: Path) -> AsyncIterator[Running]:
    python = ensure(FASTMCP).program("python")
    port = free_port()
    argv = [str(python), str(HERE / "fastmcp_proxy.py"), str(port), *backend_command(script)]
    with tempfile.TemporaryDirectory() as scratch:
        async with http_peer(argv, port, Path(scratch)) as running:
            yield running


MCPHOST_ENV = {
    "MCPHOST_LOGGING__ACCESS_LOG": "false",
    "MCPHOST_LOGGING__LEVEL": "WARNING",
    # The per-credential rate limit (100/s by default) would be the bottleneck, not the gateway.
    "MCPHOST_GATEWAY__RATE_LIMIT_PER_SECOND": "1000000000",
    "MCPHOST_GATEWAY__RATE_LIMIT_BURST": "1000000000",
}


async def _mcphost_server(api: httpx.AsyncClient, script: Path) -> tuple[str, str]:
    """Register, create the command server, wait until it runs, create a key: (slug, key)."""
    account = {"email": "bench@example.com", "password": PASSWORD}
    (await api.post("/api/auth/register", json=account)).raise_for_status()
    login = await api.post("/api/auth/login", json=account)
    login.raise_for_status()
    api.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    source = {"type": "command", "command": backend_command(script)}
    created = await api.post("/api/servers", json={"name": f"bench {script.stem}", "source": source})
    created.raise_for_status()
    server_id, slug = created.json()["id"], created.json()["slug"]
    deadline = time.monotonic() + 120
    while (server := (await api.get(f"/api/servers/{server_id}")).json())["status"] != "running":
        if server["status"] == "error" or time.monotonic() > deadline:
            raise TargetUnavailable(f"the server did not start: {server['status']} {server['status_reason']}")
        await asyncio.sleep(0.1)
    key = await api.post(f"/api/servers/{server_id}/keys", json={"name": "bench"})
    key.raise_for_status()
    return slug, str(key.json()["key"])


@asynccontextmanager
async def mcphost(script: Path, *, sandbox: bool = False) -> AsyncIterator[Running]:
    """``mcphost up`` on a scratch home with the backend as a command server (tracing on, as by default)."""
    port = free_port()
    env = {**MCPHOST_ENV, "MCPHOST_RUNTIME__SANDBOX": "auto" if sandbox else "off"}
    with tempfile.TemporaryDirectory() as scratch:
        argv = [str(Path(sys.executable).parent / "mcphost"), "up", "--port", str(port), "--home", scratch]
        log = Path(scratch) / "mcphost.log"
        async with started(argv, log, env) as process, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
            try:
                await wait_for_port(port, process)
                slug, key = await _mcphost_server(api, script)
            except (TargetUnavailable, httpx.HTTPError) as exc:
                raise TargetUnavailable(f"MCP Host did not come up: {exc}; log: {log.read_text()[-2000:]}") from exc
            running = Running(f"http://127.0.0.1:{port}/mcp/{slug}", auth=f"Bearer {key}", root_pid=process.pid)
            probe = Session(f"http://127.0.0.1:{port}/mcp/{slug}", running.auth)
            try:
                await probe.open()
            except HttpError as exc:
                if exc.status == 404:
                    raise TargetUnavailable(
                        f"MCP Host answers 404 at /mcp/{slug}: this build does not serve the gateway yet"
                    ) from None
                raise TargetUnavailable(f"MCP Host refused the MCP handshake: {exc}") from None
            finally:
                await probe.close()
            yield running


TargetFactory = Callable[[Path], AbstractAsyncContextManager[Running]]
TARGETS: dict[str, TargetFactory] = {
    "direct": direct,
    "mcphost": mcphost,
    "supergateway": supergateway,
    "mcp-proxy": mcp_proxy,
    "fastmcp": fastmcp,
}
LABELS = {
    "direct": "direct stdio pipes (the limit)",
    "mcphost": "MCP Host gateway",
    "supergateway": f"supergateway {SUPERGATEWAY.version}",
    "mcp-proxy": f"mcp-proxy {MCP_PROXY.version}",
    "fastmcp": f"fastmcp {FASTMCP.version} proxy",
}
