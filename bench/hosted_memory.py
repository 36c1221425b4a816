"""Memory of hosting many servers: the platform's own RSS per hosted server, and the servers' RSS, with 50 and
200 small stdio servers (the standard-library fixture server) running under the sandbox.

The platform is this process (API, node agent, job worker); each hosted server is a bubblewrap launcher plus
the server. Medians of repeats.

Usage: .venv/bin/python bench/hosted_memory.py [--counts 50 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _platform import median, platform_client, settings_for, wait_running

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "echo_server.py"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(
                next(line for line in (entry / "status").read_text().splitlines() if line.startswith("PPid:")).split()[
                    1
                ]
            )
        except (OSError, StopIteration):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


async def one_round(count: int) -> tuple[float, float, float]:
    """(platform KiB per server, server processes KiB per server, seconds until all ran)."""
    with tempfile.TemporaryDirectory() as scratch:
        async with platform_client(settings_for(Path(scratch) / "home")) as client:
            gc.collect()
            before = rss_kib(os.getpid())
            started = time.perf_counter()
            ids = []
            for number in range(count):
                created = await client.post(
                    "/api/servers",
                    json={
                        "name": f"s{number}",
                        "source": {"type": "command", "command": [sys.executable, str(FIXTURE)]},
                    },
                )
                created.raise_for_status()
                ids.append(created.json()["id"])
            await wait_running(client, ids)
            took = time.perf_counter() - started
            await asyncio.sleep(2)  # let logs flush and buffers settle
            gc.collect()
            platform = rss_kib(os.getpid()) - before
            servers = sum(rss_kib(pid) for pid in descendants(os.getpid()))
    return platform / count, servers / count, took


async def main(counts: list[int], repeats: int) -> None:
    print(f"memory per hosted server (fixture stdio server, sandboxed), median of {repeats}")
    print(f"{'servers':>8} {'platform KiB/server':>20} {'server procs KiB/server':>24} {'all running after':>18}")
    for count in counts:
        rounds = [await one_round(count) for _ in range(repeats)]
        platform = median([r[0] for r in rounds])
        servers = median([r[1] for r in rounds])
        took = median([r[2] for r in rounds])
        print(f"{count:>8} {platform:>20.0f} {servers:>24.0f} {took:>17.1f}s", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.counts, arguments.repeats))
