"""MCP Host killed with SIGKILL leaves its servers' empty cgroups behind; the next start removes them (issue 11,
item 17), and only those: never a group of a platform still running, never one with processes in it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcphost.runtimes.base import Limits
from mcphost.runtimes.process import ProcessRuntime
from mcphost.runtimes.process.limits import Cgroups, detect_cgroups
from tests.runtimes.process.helpers import launch, living, runtime_settings

MOUNTINFO = Path("/proc/self/mountinfo")

ROOT = Path(__file__).resolve().parents[3]
#: A platform that starts two servers, says where their groups are, and waits to be killed.
PLATFORM = """
import asyncio, json, sys
from pathlib import Path
from tests.runtimes.process.helpers import launch, runtime_settings
from mcphost.runtimes.process.limits import detect_cgroups
from mcphost.runtimes.process import ProcessRuntime

async def main():
    home = Path(sys.argv[1])
    cgroups = detect_cgroups(Path("/proc/self/mountinfo"), Path(sys.argv[2]))
    runtime = ProcessRuntime(runtime_settings(home, sandbox="required"), cgroups=cgroups)
    instances = [await launch(runtime, home / "servers" / name / "data") for name in ("a", "b")]
    print(json.dumps({"groups": [str(d) for i in instances for d in i.group.dirs], "pids": [i.pid for i in instances]}))
    sys.stdout.flush()
    await asyncio.sleep(60)

asyncio.run(main())
"""


@pytest.fixture
def own_group(tmp_path: Path) -> Iterator[Path]:
    """A /proc/self/cgroup as if MCP Host ran in a group of its own: its instance groups go below it (on hybrid,
    cgroup v1 hosts), where no MCP Host that another test starts in parallel looks for stale groups to remove."""
    name = f"mcphost-test-{secrets.token_hex(4)}"
    lines = []
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        lines.append(f"{number}:{controllers}:{path.rstrip('/')}/{name}" if controllers else line)
    fake = tmp_path / "cgroup"
    fake.write_text("\n".join(lines) + "\n")
    yield fake
    cgroups = detect_cgroups(MOUNTINFO, fake)
    for parent in set(cgroups.parents.values()) if cgroups is not None else ():
        for directory in (parent, parent.parent):
            if directory.name in ("mcphost", name):
                with contextlib.suppress(OSError):
                    directory.rmdir()


def _runtime(home: Path, own_group: Path, sandbox: str = "required") -> ProcessRuntime:
    return ProcessRuntime(runtime_settings(home, sandbox=sandbox), cgroups=detect_cgroups(MOUNTINFO, own_group))


async def _killed_platform(home: Path, own_group: Path) -> tuple[list[Path], list[int]]:
    platform = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PLATFORM, str(home), str(own_group), stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    try:
        assert platform.stdout is not None
        said = json.loads(await asyncio.wait_for(platform.stdout.readline(), 60))
    finally:
        platform.kill()  # SIGKILL: it cannot clean anything up
        await platform.wait()
    return [Path(group) for group in said["groups"]], said["pids"]


async def test_empty_groups_of_a_killed_platform_are_removed_at_start(
    tmp_path: Path, data_dir: Path, own_group: Path
) -> None:
    groups, pids = await _killed_platform(tmp_path / "killed", own_group)
    for _ in range(200):  # its servers die with it (the sandbox's parent-death signal)
        if not living(pids) and not any(_members(group) for group in groups):
            break
        await asyncio.sleep(0.05)
    assert living(pids) == [] and not any(_members(group) for group in groups)
    assert groups and all(group.is_dir() for group in groups), "the killed platform left its groups behind"

    # A platform still running keeps its groups.
    running = _runtime(tmp_path / "running", own_group)
    instance = await launch(running, data_dir)
    assert instance.group is not None
    try:
        restarted = _runtime(tmp_path / "restarted", own_group)
        assert restarted.limiter.cgroups is not None
        assert not any(group.exists() for group in groups)
        assert all(directory.is_dir() for directory in instance.group.dirs)
        assert instance.pid in instance.group.pids()
    finally:
        await running.close()


def _members(group: Path) -> list[str]:
    return (group / "cgroup.procs").read_text().split()


def test_only_empty_groups_of_gone_creators_are_removed(tmp_path: Path, own_group: Path) -> None:
    """The rule on the real hierarchy, group by group."""
    runtime = _runtime(tmp_path / "home", own_group, sandbox="off")
    cgroups = runtime.limiter.cgroups
    assert isinstance(cgroups, Cgroups), "cgroups must be usable here (CI runs as root)"
    parent = next(iter(cgroups.parents.values()))
    gone = parent / "server@999999999.1.0123abcd"  # its creator's pid does not exist
    reused = parent / f"server@{os.getpid()}.1.0123abcd"  # a live pid, but not the process that made it
    unrelated = parent / "someone-elses"
    for directory in (gone, reused, unrelated):
        directory.mkdir()
    live = cgroups.create("live", Limits())  # made by this process, which still runs
    try:
        removed = cgroups.remove_stale()
        assert {gone, reused} <= set(removed) and not gone.exists() and not reused.exists()
        assert all(directory.is_dir() for directory in live.dirs) and unrelated.is_dir()
    finally:
        live.remove()
        for directory in (gone, reused, unrelated):
            if directory.exists():
                directory.rmdir()
