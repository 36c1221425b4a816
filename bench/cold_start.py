"""Cold start of a hosted server: from POST /api/servers to running, which includes installing (unless cached),
starting in the sandbox, the MCP handshake and the first tools/list (capability sync).

Three cases per package, medians of repeats:
  cached        a second server of a package version whose environment exists (no install)
  fresh env     a new environment, with the installer's download cache warm (uv/npm caches)
  fresh install a new environment and an empty download cache (everything downloaded from the registry)

Usage: .venv/bin/python bench/cold_start.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _platform import median, platform_client, settings_for, wait_running

PACKAGES = {
    "pypi mcp-server-time 2026.10.19": {
        "registry_type": "pypi",
        "identifier": "mcp-server-time",
        "version": "2026.10.19",
    },
    "npm server-memory 2026.8.31": {
        "registry_type": "npm",
        "identifier": "@modelcontextprotocol/server-memory",
        "version": "2026.8.31",
    },
}


async def deploy_and_wait(client, source: dict, name: str) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    created = await client.post("/api/servers", json={"name": name, "source": {"type": "package", **source}})
    created.raise_for_status()
    await wait_running(client, [created.json()["id"]])
    return time.perf_counter() - started


async def one_round(source: dict, *, empty_download_cache: bool) -> tuple[float, float]:
    """(first server in a new home, second server of the same package version)."""
    with tempfile.TemporaryDirectory() as scratch:
        if empty_download_cache:
            os.environ["UV_CACHE_DIR"] = str(Path(scratch) / "uv-cache")
            os.environ["npm_config_cache"] = str(Path(scratch) / "npm-cache")
        try:
            async with platform_client(settings_for(Path(scratch) / "home")) as client:
                first = await deploy_and_wait(client, source, "first")
                second = await deploy_and_wait(client, source, "second")
        finally:
            os.environ.pop("UV_CACHE_DIR", None)
            os.environ.pop("npm_config_cache", None)
    return first, second


async def main(repeats: int) -> None:
    print(f"cold start, create -> running (handshake and tools/list done), median of {repeats}")
    print(f"{'package':34} {'cached':>10} {'fresh env':>10} {'fresh install':>14}")
    for label, source in PACKAGES.items():
        await one_round(source, empty_download_cache=False)  # warm the download caches once
        warm = [await one_round(source, empty_download_cache=False) for _ in range(repeats)]
        cold = [await one_round(source, empty_download_cache=True) for _ in range(repeats)]
        cached = median([second for _, second in warm])
        fresh_env = median([first for first, _ in warm])
        fresh_install = median([first for first, _ in cold])
        print(f"{label:34} {cached:9.2f}s {fresh_env:9.2f}s {fresh_install:13.2f}s", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    asyncio.run(main(parser.parse_args().repeats))
