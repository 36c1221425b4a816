"""The same server on the process runtime and on the Docker runtime, side by side in one MCP Host.

The standard-library echo fixture (``tests/fixtures/echo_server.py``) is hosted (a) as a command server on the
process runtime (sandbox auto: bubblewrap when installed) and (b) as an image server on the Docker runtime, from a
small image built here from the local base image (``mcphost-bench/echo:1``: FROM mcphost-base/python:bookworm, the
fixture as /srv/echo_server.py; no pull, the build is cached after the first run). One ``mcphost up`` on a scratch
home hosts both (rate limits lifted, a node name of its own).

- Cold start: from ``POST /api/servers`` to the first successful ``tools/call`` through the gateway (a new MCP
  session is tried every 20 ms), image cached; the server is deleted after each. One untimed start per runtime
  first, then ``--starts`` of each, interleaved; median.
- Gateway throughput at 1 and 16 calls in flight on one MCP session (as ``bench/gateway/compare.py``): calls/s,
  latency and CPU per call of the MCP Host process tree, less the process runtime's server (for Docker the server
  runs in the container, outside that tree; with ``--channel attach`` the stdio relay through dockerd and
  containerd-shim is not in it either: that CPU is shown apart as "engine CPU"). Windows of ``--seconds`` after 1 s
  of warm-up, runtimes interleaved, medians of ``--reps``.
- ``--channel``: MCP to the container over two FIFOs (the default, ``docker.stdio_channel``) or over the engine's
  attach socket, the way before the FIFOs.

    .venv/bin/python bench/container_vs_process.py                                 10 s windows, 3 repetitions
    .venv/bin/python bench/container_vs_process.py --seconds 1 --reps 1 --starts 1  a quick look
    .venv/bin/python bench/container_vs_process.py --channel attach                the attach socket

Needs a Docker engine (bash scripts/start_dockerd.sh) and the base images (bash scripts/docker_base_images.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent / "gateway"))

from loadgen import Session, Tally, drive, http_call
from procs import gateway_pids, usage
from targets import BACKENDS, MCPHOST_ENV, PASSWORD, backend_command, free_port, started, wait_for_port

ECHO = BACKENDS["echo fixture (stdlib)"]
BASE = "mcphost-base/python:bookworm"
IMAGE = "mcphost-bench/echo:1"
SOURCES: dict[str, dict[str, Any]] = {
    "process": {"source": {"type": "command", "command": backend_command(ECHO)}, "runtime": "process"},
    "docker": {"source": {"type": "image", "image": IMAGE}, "runtime": "docker"},
}
ENGINE_NAMES = ("dockerd", "containerd")  # containerd and its shims (comm is cut at 15 characters)


def build_image() -> None:
    with tempfile.TemporaryDirectory() as context:
        (Path(context) / "echo_server.py").write_bytes(ECHO.read_bytes())
        dockerfile = f'FROM {BASE}\nCOPY echo_server.py /srv/echo_server.py\nCMD ["python3", "/srv/echo_server.py"]\n'
        (Path(context) / "Dockerfile").write_text(dockerfile)
        client = docker.from_env()
        try:
            client.images.build(path=context, tag=IMAGE, rm=True, pull=False)
        finally:
            client.close()


def engine_pids() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip().startswith(ENGINE_NAMES):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@dataclass
class Host:
    api: httpx.AsyncClient
    base: str
    root_pid: int


async def login(api: httpx.AsyncClient) -> None:
    account = {"email": "bench@example.com", "password": PASSWORD}
    (await api.post("/api/auth/register", json=account)).raise_for_status()
    token = await api.post("/api/auth/login", json=account)
    token.raise_for_status()
    api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"


async def first_call(url: str, auth: str, timeout: float = 120) -> None:
    """Open an MCP session and call echo, again every 20 ms until it works."""
    deadline = time.monotonic() + timeout
    while True:
        session = Session(url, auth)
        try:
            await session.open()
            call = http_call(session)
            try:
                await call()
                return
            finally:
                await call.close()
        except Exception as exc:  # not running yet: 503, or the handshake is not through
            if time.monotonic() > deadline:
                raise RuntimeError(f"no successful call after {timeout}s: {exc}") from None
        finally:
            await session.close()
        await asyncio.sleep(0.02)


async def create(host: Host, runtime: str, name: str) -> dict[str, Any]:
    created = await host.api.post("/api/servers", json={"name": name, **SOURCES[runtime]})
    created.raise_for_status()
    server: dict[str, Any] = created.json()
    return server


async def delete(host: Host, server_id: str) -> None:
    (await host.api.delete(f"/api/servers/{server_id}")).raise_for_status()
    deadline = time.monotonic() + 60
    while (await host.api.get(f"/api/servers/{server_id}")).status_code != 404:
        if time.monotonic() > deadline:
            raise RuntimeError(f"server {server_id} still there 60 s after DELETE")
        await asyncio.sleep(0.1)


async def cold_start(host: Host, runtime: str, number: int) -> float:
    started = time.perf_counter()
    server = await create(host, runtime, f"cold {runtime} {number}")
    await first_call(f"{host.base}/mcp/{server['slug']}", f"Bearer {server['access_key']}")
    elapsed = time.perf_counter() - started
    await delete(host, server["id"])
    return elapsed


@dataclass
class Window:
    calls_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    host_cpu_ms: float
    engine_cpu_ms: float


async def window(host: Host, server: dict[str, Any], concurrency: int, seconds: float) -> Window:
    session = Session(f"{host.base}/mcp/{server['slug']}", f"Bearer {server['access_key']}")
    await session.open()
    calls = [http_call(session) for _ in range(concurrency)]
    try:
        await drive(calls, 1.0, Tally())
        mine, engine = gateway_pids(host.root_pid, str(ECHO)), engine_pids()
        tally, before, engine_before = Tally(), usage(mine), usage(engine)
        wall = await drive(calls, seconds, tally)
        after, engine_after = usage(mine), usage(engine)
    finally:
        for call in calls:
            await call.close()
        await session.close()
    if tally.errors:
        print(f"    {tally.errors} errors, the first: {tally.first_error}", file=sys.stderr)
    done = max(len(tally.latencies_ns), 1)
    quantiles = statistics.quantiles(tally.latencies_ns, n=100) if done > 1 else [0.0] * 99
    return Window(
        calls_per_s=len(tally.latencies_ns) / wall,
        p50_ms=quantiles[49] / 1e6,
        p99_ms=quantiles[98] / 1e6,
        errors=tally.errors,
        host_cpu_ms=(after.cpu_seconds - before.cpu_seconds) / done * 1e3,
        engine_cpu_ms=(engine_after.cpu_seconds - engine_before.cpu_seconds) / done * 1e3,
    )


def median_window(windows: list[Window]) -> Window:
    return Window(
        calls_per_s=statistics.median(w.calls_per_s for w in windows),
        p50_ms=statistics.median(w.p50_ms for w in windows),
        p99_ms=statistics.median(w.p99_ms for w in windows),
        errors=sum(w.errors for w in windows),
        host_cpu_ms=statistics.median(w.host_cpu_ms for w in windows),
        engine_cpu_ms=statistics.median(w.engine_cpu_ms for w in windows),
    )


def report(starts: dict[str, list[float]], runs: dict[tuple[str, int], Window], options: argparse.Namespace) -> str:
    lines = [
        f"Cold start, image cached: POST /api/servers -> first tools/call, median of {options.starts}",
        "",
        "| runtime | median | min | max |",
        "|---|---|---|---|",
    ]
    for runtime, times in starts.items():
        lines.append(f"| {runtime} | {statistics.median(times):.2f} s | {min(times):.2f} s | {max(times):.2f} s |")
    lines += [
        "",
        f"Gateway, windows of {options.seconds:g} s, median of {options.reps}",
        "",
        "| runtime | in flight | calls/s | p50 | p99 | errors | MCP Host CPU per call | engine CPU per call |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (runtime, concurrency), w in runs.items():
        engine = f"{w.engine_cpu_ms:.3f} ms" if runtime == "docker" else "—"
        lines.append(
            f"| {runtime} | {concurrency} | {w.calls_per_s:,.0f} | {w.p50_ms:.2f} ms | {w.p99_ms:.2f} ms | "
            f"{w.errors} | {w.host_cpu_ms:.3f} ms | {engine} |"
        )
    ratio = statistics.median(starts["docker"]) / statistics.median(starts["process"])
    lines += ["", "| container / process | ratio |", "|---|---|", f"| cold start | {ratio:.2f} |"]
    for concurrency in options.concurrency:
        process, container = runs[("process", concurrency)], runs[("docker", concurrency)]
        lines.append(f"| calls/s, {concurrency} in flight | {container.calls_per_s / process.calls_per_s:.2f} |")
        lines.append(f"| p50, {concurrency} in flight | {container.p50_ms / process.p50_ms:.2f} |")
        lines.append(
            f"| MCP Host CPU per call, {concurrency} in flight | {container.host_cpu_ms / process.host_cpu_ms:.2f} |"
        )
    return "\n".join(lines)


async def measure(host: Host, options: argparse.Namespace) -> tuple[dict[str, list[float]], dict[Any, Window]]:
    for runtime in SOURCES:  # untimed: the first start of a runtime sets things up (the Docker network)
        await cold_start(host, runtime, 0)
    starts: dict[str, list[float]] = {runtime: [] for runtime in SOURCES}
    for number in range(1, options.starts + 1):
        for runtime in SOURCES:
            starts[runtime].append(await cold_start(host, runtime, number))
            print(f"cold start {runtime} {number}: {starts[runtime][-1]:.2f} s", file=sys.stderr, flush=True)
    servers = {runtime: await create(host, runtime, f"bench {runtime}") for runtime in SOURCES}
    for server in servers.values():
        await first_call(f"{host.base}/mcp/{server['slug']}", f"Bearer {server['access_key']}")
    windows: dict[tuple[str, int], list[Window]] = {}
    for rep in range(1, options.reps + 1):
        for runtime, server in servers.items():
            for concurrency in options.concurrency:
                measured = await window(host, server, concurrency, options.seconds)
                windows.setdefault((runtime, concurrency), []).append(measured)
                line = f"{measured.calls_per_s:,.0f} calls/s, MCP Host CPU {measured.host_cpu_ms:.3f} ms per call"
                print(f"rep {rep} {runtime:7} {concurrency:>2} in flight: {line}", file=sys.stderr, flush=True)
    for server in servers.values():
        await delete(host, server["id"])
    return starts, {key: median_window(measured) for key, measured in windows.items()}


async def main(options: argparse.Namespace) -> int:
    load_at_start = os.getloadavg()[0]
    try:
        await asyncio.to_thread(build_image)
    except docker.errors.DockerException as exc:
        print(f"error: cannot build {IMAGE} from {BASE}: {exc}", file=sys.stderr)
        print("needs dockerd (bash scripts/start_dockerd.sh) and bash scripts/docker_base_images.sh", file=sys.stderr)
        return 1
    port = free_port()
    env = {
        **MCPHOST_ENV,
        "MCPHOST_RUNTIME__SANDBOX": "auto",
        "MCPHOST_RUNTIME__NODE_NAME": f"bench-{uuid.uuid4().hex[:8]}",  # leaves other nodes' containers alone
        "MCPHOST_DOCKER__DEFAULT_FOR_IMAGES": "true",
        "MCPHOST_DOCKER__STDIO_CHANNEL": options.channel,
    }
    with tempfile.TemporaryDirectory() as scratch:
        argv = [str(Path(sys.executable).parent / "mcphost"), "up", "--port", str(port), "--home", scratch]
        log = Path(scratch) / "mcphost.log"
        base = f"http://127.0.0.1:{port}"
        async with started(argv, log, env) as process, httpx.AsyncClient(base_url=base, timeout=60) as api:
            await wait_for_port(port, process)
            await login(api)
            try:
                starts, runs = await measure(Host(api, base, process.pid), options)
            except (RuntimeError, httpx.HTTPError) as exc:
                print(f"error: {exc}\nlog: {log.read_text()[-3000:]}", file=sys.stderr)
                return 1
    print(f"Docker stdio channel: {options.channel}\n")
    print(report(starts, runs, options))
    print(f"\nload average (1 min): {load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    return 1 if any(w.errors for w in runs.values()) else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per run (default 10)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of the windows; medians (default 3)")
    parser.add_argument("--starts", type=int, default=5, help="timed cold starts per runtime (default 5)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16], help="calls in flight (default 1 16)")
    parser.add_argument(
        "--channel",
        choices=["fifo", "attach"],
        default="fifo",
        help="how MCP reaches the container's stdio (docker.stdio_channel; default fifo)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(uvloop.run(main(parse())))
