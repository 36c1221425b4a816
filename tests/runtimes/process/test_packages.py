"""Package sources: real installs from PyPI (uv) and npm into cached, shared environments. CI has network."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcphost.runtimes.base import Artifact, PrepareFailed
from mcphost.runtimes.process import ProcessRuntime
from tests.runtimes.process.helpers import Lines, Mcp, launch, no_progress, runtime_settings

TIME_SERVER = {"type": "package", "registry_type": "pypi", "identifier": "mcp-server-time", "version": "2026.10.19"}
MEMORY_SERVER = {
    "type": "package",
    "registry_type": "npm",
    "identifier": "@modelcontextprotocol/server-memory",
    "version": "2026.8.31",
}


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One home for the module: the first test installs, the others find the environments cached."""
    return tmp_path_factory.mktemp("packages") / "home"


@pytest.fixture
async def runtime(shared_home: Path) -> AsyncIterator[ProcessRuntime]:
    process_runtime = ProcessRuntime(runtime_settings(shared_home, sandbox="required", stop_grace_seconds=1))
    try:
        yield process_runtime
    finally:
        await process_runtime.close()


async def prepare_twice(runtime: ProcessRuntime, source: dict[str, str]) -> tuple[Artifact, Artifact, Lines]:
    first, second = Lines(), Lines()
    installed = await runtime.prepare(source, first)
    assert first.any(f"installing {source['identifier']} {source['version']} from ")
    assert installed.details["cached"] is False
    # A second server of the same version: another runtime object, as after a restart.
    again = ProcessRuntime(runtime.settings)
    started = time.monotonic()
    cached = await again.prepare(source, second)
    assert time.monotonic() - started < 1.0
    assert not second.any("installing"), second.lines
    assert second.any("using the cached environment")
    assert cached.details["cached"] is True
    assert cached.details["env"] == installed.details["env"] and cached.argv == installed.argv
    return installed, cached, first


async def test_pypi_package_installs_once_and_runs(runtime: ProcessRuntime, tmp_path: Path) -> None:
    installed, _, progress = await prepare_twice(runtime, TIME_SERVER)
    env = Path(installed.details["env"])
    assert env == runtime.settings.home / "envs" / "pypi" / env.parent.parent.name / "mcp-server-time" / "2026.10.19"
    assert installed.details["version"] == "2026.10.19" and installed.details["program"] == "mcp-server-time"
    assert progress.any("mcp-server-time==2026.10.19")  # uv's own output is passed on
    assert not list(env.parent.glob(".*tmp-*")), "no half-built environment is left"

    mcp = Mcp(await launch(runtime, tmp_path / "data", artifact=installed))
    result = await mcp.initialize(timeout=30)
    assert result["serverInfo"]["name"] == "mcp-time"
    tools = await mcp.request("tools/list")
    assert "get_current_time" in {tool["name"] for tool in tools["tools"]}


async def test_npm_package_installs_once_and_runs(runtime: ProcessRuntime, tmp_path: Path) -> None:
    installed, _, _ = await prepare_twice(runtime, MEMORY_SERVER)
    env = Path(installed.details["env"])
    assert env == runtime.settings.home / "envs" / "npm" / "@modelcontextprotocol+server-memory" / "2026.8.31"
    assert installed.argv[0].endswith("node") and installed.details["program"] == "index.js"
    assert "memory" not in runtime.enforced_for(installed) or runtime.limiter.cgroups is not None

    mcp = Mcp(await launch(runtime, tmp_path / "data", artifact=installed))
    result = await mcp.initialize(timeout=30)
    assert result["serverInfo"]["name"] == "memory-server"
    tools = await mcp.request("tools/list")
    assert "create_entities" in {tool["name"] for tool in tools["tools"]}


async def test_concurrent_prepares_install_once(tmp_path: Path) -> None:
    """Two runtimes (as two processes would) and two tasks each prepare the same package at once."""
    settings = runtime_settings(tmp_path / "home")
    runtimes = [ProcessRuntime(settings), ProcessRuntime(settings)]
    progress = [Lines() for _ in range(4)]
    artifacts = await asyncio.gather(*(runtimes[i % 2].prepare(TIME_SERVER, progress[i]) for i in range(4)))
    assert sum(lines.any("installing mcp-server-time") for lines in progress) == 1
    assert len({artifact.details["env"] for artifact in artifacts}) == 1


async def test_newest_version_when_none_is_given(runtime: ProcessRuntime) -> None:
    source = {key: value for key, value in TIME_SERVER.items() if key != "version"}
    progress = Lines()
    artifact = await runtime.prepare(source, progress)
    assert progress.any("looking up the newest version of mcp-server-time on PyPI")
    version = artifact.details["version"]
    assert Path(artifact.details["env"]).name == version
    again = await runtime.prepare(source, no_progress)
    assert again.details["cached"] is True and again.details["version"] == version


@pytest.mark.parametrize(
    ("registry", "name", "expected"),
    [
        ("pypi", "mcphost-no-such-package-zz9", "mcphost-no-such-package-zz9"),
        ("npm", "@mcphost-tests/no-such-package-zz9", "404"),
    ],
)
async def test_unknown_package_fails_readably(runtime: ProcessRuntime, registry: str, name: str, expected: str) -> None:
    source = {"type": "package", "registry_type": registry, "identifier": name, "version": "1.0.0"}
    with pytest.raises(PrepareFailed) as failure:
        await runtime.prepare(source, no_progress)
    message = str(failure.value)
    assert f"installing {name} 1.0.0 from " in message and "failed (" in message and expected in message
    assert len(message) < 3000
    assert not (runtime.settings.home / "envs" / registry / name.replace("/", "+") / "1.0.0").exists()


async def test_program_choice(runtime: ProcessRuntime) -> None:
    with pytest.raises(PrepareFailed, match=r"no program 'nope'; its programs: mcp-server-time"):
        await runtime.prepare({**TIME_SERVER, "bin": "nope"}, no_progress)
    chosen = await runtime.prepare(
        {**TIME_SERVER, "bin": "mcp-server-time", "args": ["--local-timezone", "UTC"]}, no_progress
    )
    assert chosen.argv[-3:] == (str(Path(chosen.details["env"]) / "bin" / "mcp-server-time"), "--local-timezone", "UTC")


@pytest.mark.parametrize(
    "source",
    [
        {"registry_type": "pypi", "identifier": "../../etc", "version": "1"},
        {"registry_type": "npm", "identifier": "x", "version": "1 || >2"},
        {"registry_type": "cargo", "identifier": "x"},
    ],
)
async def test_invalid_sources_are_refused(runtime: ProcessRuntime, source: dict[str, str]) -> None:
    with pytest.raises(PrepareFailed):
        await runtime.prepare({"type": "package", **source}, no_progress)


async def test_install_timeout(tmp_path: Path) -> None:
    runtime = ProcessRuntime(runtime_settings(tmp_path / "home", install_timeout_seconds=0.05))
    with pytest.raises(PrepareFailed, match=r"longer than 0.05 s \(runtime.install_timeout_seconds\)"):
        await runtime.prepare(TIME_SERVER, no_progress)
    leftovers = list((tmp_path / "home" / "envs").rglob("*tmp-*"))
    assert leftovers == []


async def test_bin_is_a_program_of_the_package_never_the_interpreter(runtime: ProcessRuntime) -> None:
    """`bin: python` with `-c` in the arguments ran any code as a "package", around the rule on commands."""
    for interpreter in ("python", "python3"):
        source = TIME_SERVER | {"bin": interpreter, "args": ["-c", "import os; os.system('id')"]}
        with pytest.raises(
            PrepareFailed, match=rf"no program '{interpreter}'; its programs: mcp-server-time .*never the interpreter"
        ):
            await runtime.prepare(source, no_progress)
    named = await runtime.prepare(TIME_SERVER | {"bin": "mcp-server-time"}, no_progress)
    assert named.details["program"] == "mcp-server-time"
