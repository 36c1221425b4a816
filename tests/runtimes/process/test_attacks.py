"""What a hostile hosted server tried (issue 11: items 9-12), each tried again through a real sandboxed server:
reaching the host's loopback services and MCP Host's port, running as root, reading MCP Host's files through a
command's arguments, exhausting the host's processes."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import pytest

from mcphost.runtimes.base import Limits, PrepareFailed, StartFailed
from mcphost.runtimes.process import ProcessRuntime
from mcphost.runtimes.process.network import local_addresses, resolv_conf_for
from mcphost.settings import load_secret_key
from tests.runtimes.process.helpers import ECHO_SERVER, Mcp, collect_logs, launch, living, no_progress, runtime_settings

POSTGRES = ("127.0.0.1", 5432)  # the host's PostgreSQL, which trusts local connections (the attack's target)

FORK_BOMB = """
import os, sys, time
children, refused = [], None
for _ in range(1000):
    try:
        pid = os.fork()
    except OSError as exc:
        refused = exc.strerror
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    children.append(pid)
print(f"forked {len(children)} refused {refused}", file=sys.stderr, flush=True)
time.sleep(60)
"""


@pytest.fixture
async def host_service() -> AsyncIterator[int]:
    """A service of the host listening on every address, as MCP Host's own port does with --host 0.0.0.0."""
    server = await asyncio.start_server(lambda r, w: w.close(), "0.0.0.0", 0)  # noqa: S104 (the point of the test)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def _host_addresses() -> list[str]:
    return sorted(address for address in local_addresses() if ":" not in address)


@pytest.mark.parametrize("helper", ["pasta", "slirp4netns"])
async def test_the_default_network_reaches_out_but_not_the_host(
    helper: Literal["pasta", "slirp4netns"], home: Path, data_dir: Path, host_service: int
) -> None:
    runtime = ProcessRuntime(runtime_settings(home, sandbox="required", network_helper=helper, stop_grace_seconds=1))
    try:
        assert runtime.network_helper is not None and runtime.network_helper.name == helper
        mcp = Mcp(await launch(runtime, data_dir))
        reached = await mcp.call("try_connect", {"host": "pypi.org", "port": 443})
        assert reached == "ok: connected", reached  # outbound access works
        targets = [POSTGRES, ("127.0.0.1", host_service), ("localhost", host_service)]
        targets += [(address, host_service) for address in _host_addresses()]  # the host's own interfaces
        for host, port in targets:
            result = await mcp.call("try_connect", {"host": host, "port": port})
            assert result.startswith("denied"), (helper, host, port, result)
        assert runtime.warnings_for(Limits()) == []
    finally:
        await runtime.close()


async def test_an_administrator_may_open_chosen_loopback_ports(home: Path, data_dir: Path, host_service: int) -> None:
    runtime = ProcessRuntime(runtime_settings(home, sandbox="required", host_loopback_ports=[host_service]))
    try:
        mcp = Mcp(await launch(runtime, data_dir))
        assert await mcp.call("try_connect", {"host": "127.0.0.1", "port": host_service}) == "ok: connected"
        assert (await mcp.call("try_connect", {"host": "127.0.0.1", "port": POSTGRES[1]})).startswith("denied")
    finally:
        await runtime.close()


async def test_network_none_is_loopback_only(sandboxed: ProcessRuntime, data_dir: Path, host_service: int) -> None:
    mcp = Mcp(await launch(sandboxed, data_dir, limits=Limits(network="none")))
    for host, port in [POSTGRES, ("127.0.0.1", host_service), ("pypi.org", 443)]:
        assert (await mcp.call("try_connect", {"host": host, "port": port})).startswith("denied"), (host, port)


async def test_without_a_network_helper_required_refuses_and_auto_warns(
    home: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mcphost.runtimes.process.runtime.find_helper", lambda wanted: None)  # neither is installed
    required = ProcessRuntime(runtime_settings(home, sandbox="required"))
    with pytest.raises(StartFailed, match=r"no network helper is installed .*apt-get install passt"):
        await launch(required, data_dir)
    assert any("cannot run with network access" in w for w in required.warnings_for(Limits()))
    await launch(required, data_dir, limits=Limits(network="none"))  # needs no helper
    await required.close()

    auto = ProcessRuntime(runtime_settings(home, sandbox="auto"))
    try:
        assert any(w.startswith("shares the host's network") for w in auto.warnings_for(Limits()))
        assert not any("network" in w for w in auto.warnings_for(Limits(network="none")))
        mcp = Mcp(await launch(auto, data_dir))
        assert (await mcp.call("try_connect", {"host": "pypi.org", "port": 443})) == "ok: connected"
    finally:
        await auto.close()


async def test_the_network_helper_ends_with_its_server(sandboxed: ProcessRuntime, data_dir: Path) -> None:
    instance = await launch(sandboxed, data_dir)
    assert instance.network is not None
    helper = instance.network.process.pid
    assert living([helper]) == [helper]
    await instance.stop(1)
    assert living([helper]) == []


async def test_the_network_helper_dies_with_mcp_host(tmp_path: Path) -> None:
    """MCP Host killed with SIGKILL: neither the server nor its helper (pasta, as root) may stay behind."""
    script = (
        "import asyncio, json, sys\n"
        "from pathlib import Path\n"
        "from tests.runtimes.process.helpers import launch, runtime_settings\n"
        "from mcphost.runtimes.process import ProcessRuntime\n"
        "async def main():\n"
        "    runtime = ProcessRuntime(runtime_settings(Path(sys.argv[1]), sandbox='required'))\n"
        "    instance = await launch(runtime, Path(sys.argv[1]) / 'servers' / 'x' / 'data')\n"
        "    print(json.dumps([instance.pid, instance.network.process.pid]), flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    root = Path(__file__).resolve().parents[3]
    platform = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, str(tmp_path / "home"), stdout=asyncio.subprocess.PIPE, cwd=root
    )
    try:
        assert platform.stdout is not None
        pids = json.loads(await asyncio.wait_for(platform.stdout.readline(), 60))
        assert living(pids) == pids
    finally:
        platform.kill()
        await platform.wait()
    for _ in range(100):
        if not living(pids):
            break
        await asyncio.sleep(0.05)
    assert living(pids) == []


async def test_the_server_is_not_root(sandboxed: ProcessRuntime, home: Path, data_dir: Path, tmp_path: Path) -> None:
    mcp = Mcp(await launch(sandboxed, data_dir))
    report = json.loads(await mcp.call("whoami"))
    assert report["uid"] != 0
    identity = await launch(sandboxed, data_dir, ["/usr/bin/sh", "-c", "id >&2; cat /proc/self/uid_map >&2"])
    assert await asyncio.wait_for(identity.wait(), 20) == 0
    said = await collect_logs(identity)
    if os.geteuid() == 0:
        uid = report["uid"]
        assert sandboxed.users is not None and uid in sandboxed.users  # a host uid of its own, from the range
        assert said[0].startswith(f"uid={uid} gid={uid} ") and said[1].split() == [str(uid), str(uid), "1"]
        assert data_dir.stat().st_uid == uid and (data_dir.stat().st_mode & 0o777) == 0o700
        other = await launch(sandboxed, tmp_path / "home" / "servers" / "other" / "data")  # another server
        other_uid = json.loads(await Mcp(other).call("whoami"))["uid"]
        assert other_uid != uid and other_uid in sandboxed.users
    else:
        assert said[0].startswith(f"uid={os.getuid()}(")
    # No further user namespace, where it could become root again
    nested = await launch(sandboxed, data_dir, ["/usr/bin/unshare", "--user", "--map-root-user", "id"])
    assert await asyncio.wait_for(nested.wait(), 20) != 0


async def test_paths_of_the_home_are_never_mounted(sandboxed: ProcessRuntime, home: Path, data_dir: Path) -> None:
    load_secret_key(sandboxed.settings)  # HOME/secret.key
    other = home / "servers" / "other" / "data"
    other.mkdir(parents=True)
    (other / "token").write_text("another server's file")
    database = Path(sandboxed.settings.effective_database_url.split(":///", 1)[1])
    Path(f"{database}-wal").write_text("SQLite WAL pretend")
    for argument in (home / "secret.key", other, Path(f"{database}-wal"), home):
        command = [sys.executable, str(ECHO_SERVER), str(argument)]
        with pytest.raises(PrepareFailed, match=r"argument .* MCP Host's own data"):
            await sandboxed.prepare({"type": "command", "command": command}, no_progress)
    # An artifact made before this rule (stored by an older MCP Host) is refused at start.
    artifact = await sandboxed.prepare({"type": "command", "command": [sys.executable, str(ECHO_SERVER)]}, no_progress)
    stale = type(artifact)(argv=artifact.argv, mounts=(*artifact.mounts, home / "secret.key"))
    with pytest.raises(StartFailed, match=r"secret\.key would show MCP Host's own data"):
        await launch(sandboxed, data_dir, artifact=stale)
    mcp = Mcp(await launch(sandboxed, data_dir, artifact=artifact))
    for path in (home / "secret.key", other / "token", f"{database}-wal"):
        assert (await mcp.call("try_read", {"path": str(path)})).startswith("denied: FileNotFoundError"), path


@pytest.mark.parametrize("limit", ["pids cgroup", "RLIMIT_NPROC"])
async def test_a_fork_bomb_hits_the_process_limit(limit: str, home: Path, data_dir: Path) -> None:
    settings = runtime_settings(home, sandbox="required", max_pids=64, stop_grace_seconds=1)
    runtime = ProcessRuntime(settings, cgroups="auto" if limit == "pids cgroup" else None)
    try:
        if limit == "pids cgroup":
            assert runtime.limiter.cgroups is not None and "pids" in runtime.limiter.cgroups.controllers
        else:
            assert os.geteuid() == 0, "RLIMIT_NPROC is per uid: it needs a uid per server (MCP Host as root)"
        assert "pids" in runtime.enforced_for()
        instance = await launch(runtime, data_dir, [sys.executable, "-c", FORK_BOMB])
        said = await asyncio.wait_for(anext(instance.log_lines()), 30)
        forked = int(said.split()[1])
        assert forked < 64 and "refused Resource temporarily unavailable" in said, said
        probe = await asyncio.create_subprocess_exec("true")  # the host can still start processes
        assert await probe.wait() == 0
        tree = [instance.pid, *(await asyncio.to_thread(_tree, instance.pid))]
        assert len(tree) >= forked
        assert await instance.stop(1) in (-15, -9)
        assert living(tree) == []
        if instance.group is not None:
            assert not any(directory.exists() for directory in instance.group.dirs)
    finally:
        await runtime.close()


def _tree(pid: int) -> list[int]:
    from mcphost.runtimes.process.process_tree import descendants

    return list(descendants(pid))


async def test_the_process_limit_is_reported_when_it_cannot_hold(home: Path) -> None:
    runtime = ProcessRuntime(runtime_settings(home, sandbox="off"), cgroups=None)
    assert "pids" not in runtime.enforced_for()
    assert any(w.startswith("the process limit (256) is not enforced") for w in runtime.warnings_for(Limits()))


def test_the_host_addresses_are_found() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("8.8.8.8", 53))  # nothing is sent: this only picks the outbound address
        outbound = probe.getsockname()[0]
    addresses = local_addresses()
    assert outbound in addresses
    assert not any(address.startswith("127.") or address == "::1" for address in addresses)


async def test_a_resolver_on_the_hosts_loopback_is_reached_through_the_helper(
    home: Path, data_dir: Path, tmp_path: Path
) -> None:
    """systemd-resolved's 127.0.0.53 is unreachable from the server's network: the server's resolv.conf names
    pasta's DNS forwarder instead, which passes the queries on to the host's resolver."""
    fake = tmp_path / "resolv.conf"
    fake.write_text("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.internal\n")
    runtime = ProcessRuntime(runtime_settings(home, sandbox="required"))
    try:
        assert runtime.network_helper is not None and runtime.network_helper.name == "pasta"
        conf = resolv_conf_for(runtime.network_helper, fake)
        assert conf == "nameserver 169.254.1.1\noptions edns0 trust-ad\nsearch example.internal\n"
        runtime._resolv_conf = conf  # as on a host whose resolver listens on its loopback
        mcp = Mcp(await launch(runtime, data_dir))
        assert (await mcp.call("try_read", {"path": "/etc/resolv.conf"})) == f"ok: {conf}"
        assert await mcp.call("try_connect", {"host": "pypi.org", "port": 443}) == "ok: connected"
    finally:
        await runtime.close()
