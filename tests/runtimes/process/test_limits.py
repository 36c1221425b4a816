"""Memory and CPU limits: enforced through cgroups where they work, else rlimits; reported truthfully."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from mcphost.runtimes.base import Artifact, Limits
from mcphost.runtimes.process import ProcessRuntime
from mcphost.runtimes.process.limits import Limiter, detect_cgroups
from tests.runtimes.process.helpers import collect_logs, launch, runtime_settings

GREEDY = "data = bytearray(400 * 1024 * 1024)\nprint('survived', flush=True)\n"
BUSY = (
    "import sys, time\n"
    "end = time.monotonic() + 1.5\n"
    "while time.monotonic() < end:\n"
    "    pass\n"
    "print(f'cpu {time.process_time():.2f}', file=sys.stderr)\n"
)
NODE = Artifact(argv=("/usr/bin/node", "server.js"), details={"engine": "node"})


async def test_memory_limit_stops_a_greedy_server(runtime: ProcessRuntime, data_dir: Path) -> None:
    unlimited = await launch(runtime, data_dir, [sys.executable, "-c", GREEDY])
    assert await asyncio.wait_for(unlimited.wait(), 30) == 0  # the allocation itself works

    limited = await launch(runtime, data_dir, [sys.executable, "-c", GREEDY], limits=Limits(memory_mib=100))
    code = await asyncio.wait_for(limited.wait(), 30)
    assert code != 0
    assert "survived" not in await collect_logs(limited)
    if runtime.limiter.cgroups is not None and "memory" in runtime.limiter.cgroups.controllers:
        assert code == -9 and limited.oom_kills >= 1  # the kernel's OOM killer, inside the server's cgroup
    else:
        assert code == 1  # MemoryError under RLIMIT_AS


async def test_rlimit_fallback_without_cgroups(home: Path, data_dir: Path) -> None:
    runtime = ProcessRuntime(runtime_settings(home, sandbox="off"), cgroups=None)
    try:
        assert runtime.enforced_for() == frozenset({"memory"})
        limited = await launch(runtime, data_dir, [sys.executable, "-c", GREEDY], limits=Limits(memory_mib=200))
        assert await asyncio.wait_for(limited.wait(), 30) == 1
        assert any("MemoryError" in line for line in await collect_logs(limited))
        assert runtime.warnings_for(Limits(memory_mib=200, cpu=1)) == [
            "runs without a sandbox: sandboxing is turned off (runtime.sandbox = off)",
            "CPU limit is not enforced by the process runtime on this machine (no usable cgroups)",
            "the process limit (256) is not enforced by the process runtime on this machine (no pids cgroup, and "
            "servers have no uid of their own)",
        ]
        # Node reserves far more address space than it uses: no RLIMIT_AS for it, and it is said.
        assert "memory" not in runtime.enforced_for(NODE)
        assert any(
            w.startswith("memory limit is not enforced") for w in runtime.warnings_for(Limits(memory_mib=200), NODE)
        )
    finally:
        await runtime.close()


async def test_cpu_limit(runtime: ProcessRuntime, data_dir: Path) -> None:
    if "cpu" not in runtime.enforced_for():
        assert "CPU limit is not enforced" in " ".join(runtime.warnings_for(Limits(cpu=0.2)))
        return
    instance = await launch(runtime, data_dir, [sys.executable, "-c", BUSY], limits=Limits(cpu=0.2))
    assert await asyncio.wait_for(instance.wait(), 30) == 0
    used = float(instance.last_log_lines(1)[0].split()[1])
    assert used < 0.75, f"{used} s of CPU in 1.5 s with a limit of 0.2 CPUs"


async def test_gpu_is_reported_as_unsupported(runtime: ProcessRuntime) -> None:
    assert "GPU is not supported by the process runtime" in runtime.warnings_for(Limits(gpu=1))


async def test_groups_are_removed_after_exit(runtime: ProcessRuntime, data_dir: Path) -> None:
    instance = await launch(runtime, data_dir, limits=Limits(memory_mib=256, cpu=1))
    if instance.group is None:
        assert runtime.limiter.cgroups is None
        await instance.stop(1)
        return
    assert all(directory.is_dir() for directory in instance.group.dirs)
    assert instance.pid in instance.group.pids()
    await instance.stop(1)
    assert not any(directory.exists() for directory in instance.group.dirs)


def _fake_hierarchy(tmp_path: Path, mountinfo: str, own: str) -> tuple[Path, Path]:
    (tmp_path / "mountinfo").write_text(mountinfo)
    (tmp_path / "cgroup").write_text(own)
    return tmp_path / "mountinfo", tmp_path / "cgroup"


def test_cgroup_v2_limits_are_written(tmp_path: Path) -> None:
    """A pure cgroup v2 host (Debian 12): groups under /sys/fs/cgroup/mcphost with memory.max, cpu.max, pids.max."""
    root = tmp_path / "cgroup2"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("memory pids\n")
    mountinfo, own = _fake_hierarchy(
        tmp_path,
        f"30 23 0:26 / {root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
        "0::/system.slice/mcphost.service\n",
    )
    cgroups = detect_cgroups(mountinfo, own)
    assert cgroups is not None and cgroups.version == 2 and cgroups.controllers == {"memory", "cpu", "pids"}
    assert (root / "cgroup.subtree_control").read_text() == "+cpu"  # what was missing at the root
    assert (root / "mcphost" / "cgroup.subtree_control").read_text() == "+memory +cpu +pids"
    limiter = Limiter(cgroups, max_pids=300)
    group = limiter.apply("my server", Limits(memory_mib=256, cpu=0.5), address_space_ok=True).group
    assert group is not None and len(group.dirs) == 1 and group.dirs[0].parent == root / "mcphost"
    assert group.dirs[0].name.startswith(f"my-server@{os.getpid()}.")
    assert (group.dirs[0] / "memory.max").read_text() == str(256 * 1024 * 1024)
    assert (group.dirs[0] / "cpu.max").read_text() == "50000 100000"
    assert (group.dirs[0] / "pids.max").read_text() == "300"
    assert limiter.enforced(address_space_ok=False) == {"memory", "cpu", "pids"}


def test_cgroup_v1_groups_nest_under_the_own_group(tmp_path: Path) -> None:
    memory, cpu = tmp_path / "memory", tmp_path / "cpu"
    for mount in (memory, cpu):
        (mount / "docker" / "abc").mkdir(parents=True)
    mountinfo, own = _fake_hierarchy(
        tmp_path,
        f"35 31 0:32 /docker/abc {memory} rw - cgroup cgroup rw,memory\n"
        f"32 31 0:29 / {cpu} rw - cgroup cgroup rw,cpu,cpuacct\n",
        "4:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc\n0::/\n",
    )
    cgroups = detect_cgroups(mountinfo, own)
    assert cgroups is not None and cgroups.version == 1
    assert cgroups.parents == {"memory": memory / "mcphost", "cpu": cpu / "docker" / "abc" / "mcphost"}
    group = cgroups.create("s", Limits(memory_mib=64, cpu=2))
    memory_dir = next(d for d in group.dirs if d.is_relative_to(memory))
    cpu_dir = next(d for d in group.dirs if d.is_relative_to(cpu))
    assert (memory_dir / "memory.limit_in_bytes").read_text() == str(64 * 1024 * 1024)
    assert (cpu_dir / "cpu.cfs_quota_us").read_text() == "200000"


def test_no_cgroups_when_nothing_is_mounted(tmp_path: Path) -> None:
    mountinfo, own = _fake_hierarchy(tmp_path, "22 1 0:21 / / rw - ext4 /dev/vda rw\n", "0::/\n")
    assert detect_cgroups(mountinfo, own) is None
    assert Limiter(None).enforced(address_space_ok=False) == frozenset()


@pytest.mark.parametrize("memory", [None, 128])
def test_limiter_without_cgroups_uses_rlimits_for_memory_only(memory: int | None) -> None:
    applied = Limiter(None).apply("s", Limits(memory_mib=memory, cpu=1), address_space_ok=True)
    assert applied.group is None
    assert applied.address_space == (memory * 1024 * 1024 if memory else None)
