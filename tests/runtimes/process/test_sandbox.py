"""The bubblewrap sandbox: what a server may write, read and reach, and what happens without bubblewrap."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcphost.runtimes.base import Limits, StartFailed
from mcphost.runtimes.process import ProcessRuntime
from mcphost.settings import load_secret_key
from tests.runtimes.process.helpers import Mcp, launch, runtime_settings

MISSING_BWRAP = "/nonexistent/bin/bwrap"
PROJECT_FILE = Path(__file__).resolve().parents[3] / "pyproject.toml"


def exists(path: str | Path) -> bool:
    return Path(path).exists()


async def test_writes_only_inside_data(sandboxed: ProcessRuntime, home: Path, data_dir: Path, tmp_path: Path) -> None:
    mcp = Mcp(await launch(sandboxed, data_dir))
    assert (await mcp.call("try_write", {"path": "/data/notes.txt"})).startswith("ok")
    assert (data_dir / "notes.txt").read_text() == "written by the fixture"
    assert (await mcp.call("try_write", {"path": "notes-relative.txt"})).startswith("ok")  # cwd is /data
    assert exists(data_dir / "notes-relative.txt")
    for outside in ("/usr/evil", "/etc/evil", "/evil", str(home / "evil"), str(tmp_path / "evil"), "/root/evil"):
        assert (await mcp.call("try_write", {"path": outside})).startswith("denied"), outside
        assert not exists(outside)
    # /tmp is private: writable, but not the host's /tmp
    private = f"/tmp/mcphost-sandbox-test-{uuid.uuid4().hex}"  # noqa: S108 (inside the sandbox)
    assert (await mcp.call("try_write", {"path": private})).startswith("ok")
    assert not exists(private)


async def test_cannot_see_the_platform(sandboxed: ProcessRuntime, home: Path, data_dir: Path) -> None:
    load_secret_key(sandboxed.settings)  # generates HOME/secret.key
    (home / "mcphost.db").write_text("SQLite format 3 pretend")
    other_server = home / "servers" / "other" / "data"
    other_server.mkdir(parents=True)
    (other_server / "token").write_text("another server's file")
    mcp = Mcp(await launch(sandboxed, data_dir))
    for hidden in (home / "secret.key", home / "mcphost.db", other_server / "token", PROJECT_FILE, "/var/log"):
        result = await mcp.call("try_read", {"path": str(hidden)})
        assert result.startswith("denied: FileNotFoundError"), (hidden, result)
    for private in ("/etc/shadow", "/etc/gshadow"):  # readable by root's uid, hence masked
        result = await mcp.call("try_read", {"path": private})
        assert result.startswith("denied: PermissionError") or result == "ok: ", result
    assert (await mcp.call("try_read", {"path": "/etc/os-release"})).startswith("ok: ")  # the system is readable
    report = json.loads(await mcp.call("whoami"))
    assert report["cwd"] == "/data"


@pytest.fixture
async def listener() -> AsyncIterator[int]:
    """A local TCP service, as a database or metadata endpoint a server must not reach."""
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_network_none_blocks_connections(sandboxed: ProcessRuntime, data_dir: Path, listener: int) -> None:
    closed = Mcp(await launch(sandboxed, data_dir, limits=Limits(network="none")))
    result = await closed.call("try_connect", {"host": "127.0.0.1", "port": listener})
    assert result.startswith("denied"), result
    assert (await closed.call("try_connect", {"host": "1.1.1.1", "port": 443})).startswith("denied")

    open_ = Mcp(await launch(sandboxed, data_dir))  # a network of its own: outbound only, not the host's loopback
    assert await open_.call("try_connect", {"host": "pypi.org", "port": 443}) == "ok: connected"
    assert (await open_.call("try_connect", {"host": "127.0.0.1", "port": listener})).startswith("denied")
    assert {"network_none", "network_isolated"} <= sandboxed.enforced_for()


async def test_dns_and_tls_work_in_the_sandbox(sandboxed: ProcessRuntime, data_dir: Path) -> None:
    probe = (
        "import socket, ssl, sys\n"
        "socket.getaddrinfo('pypi.org', 443)\n"
        "with socket.create_connection(('pypi.org', 443), timeout=10) as raw:\n"
        "    with ssl.create_default_context().wrap_socket(raw, server_hostname='pypi.org') as tls:\n"
        "        print('tls', tls.version(), file=sys.stderr)\n"
    )
    instance = await launch(sandboxed, data_dir, [sys.executable, "-c", probe])
    assert await asyncio.wait_for(instance.wait(), 30) == 0, instance.last_log_lines()
    assert instance.last_log_lines(1)[0].startswith("tls TLSv1")


async def test_required_sandbox_without_bubblewrap_refuses(home: Path, data_dir: Path) -> None:
    runtime = ProcessRuntime(runtime_settings(home, sandbox="required"), bwrap=MISSING_BWRAP)
    assert not runtime.sandboxed
    with pytest.raises(StartFailed, match=r"sandbox is required .* bubblewrap is not installed"):
        await launch(runtime, data_dir)
    assert runtime.warnings == ["cannot run: a sandbox is required but bubblewrap is not installed"]


async def test_auto_without_bubblewrap_runs_with_a_warning(home: Path, data_dir: Path) -> None:
    runtime = ProcessRuntime(runtime_settings(home, sandbox="auto"), bwrap=MISSING_BWRAP)
    try:
        assert not runtime.sandboxed
        assert "runs without a sandbox: bubblewrap is not installed" in runtime.warnings_for(Limits())
        assert "network: none is not enforced" in " ".join(runtime.warnings_for(Limits(network="none")))
        report = json.loads(await Mcp(await launch(runtime, data_dir)).call("whoami"))
        assert report["cwd"] == str(data_dir)
    finally:
        await runtime.close()


async def test_auto_uses_bubblewrap_when_installed(home: Path) -> None:
    runtime = ProcessRuntime(runtime_settings(home, sandbox="auto"))
    assert runtime.sandboxed, "bubblewrap must be installed (apt-get install bubblewrap)"
    assert runtime.warnings_for(Limits()) == []


async def test_off_never_sandboxes(home: Path, data_dir: Path) -> None:
    runtime = ProcessRuntime(runtime_settings(home, sandbox="off"))
    try:
        assert not runtime.sandboxed
        assert runtime.warnings == ["runs without a sandbox: sandboxing is turned off (runtime.sandbox = off)"]
        report = json.loads(await Mcp(await launch(runtime, data_dir)).call("whoami"))
        assert report["cwd"] == str(data_dir)
    finally:
        await runtime.close()


async def test_concurrent_first_starts_are_all_sandboxed(sandboxed: ProcessRuntime, data_dir: Path) -> None:
    instances = await asyncio.gather(*(launch(sandboxed, data_dir) for _ in range(5)))
    reports = [json.loads(await Mcp(instance).call("whoami")) for instance in instances]
    assert {report["cwd"] for report in reports} == {"/data"}
