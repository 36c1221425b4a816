"""Replicas: what a second gateway replica adds, and what a replica's death costs (ADR 0015).

Two ``mcphost up`` processes (nodes r1 and r2: process runtime, sandbox off, rate limits lifted) share one fresh
PostgreSQL database and one secret key. r2 hosts the standard-library HTTP echo fixture
(``tests/fixtures/http_echo_server.py``) as a streamable-http command server; with ``--upstream stdio``, r1 hosts
the stdio echo fixture instead (r2 then forwards its requests to r1). Clients reach the replicas through the
round-robin proxy of the tests (``tests/support/round_robin.py``, a process of its own: each request to the next
replica, a request whose replica refuses the connection or dies before answering goes to the next one).

1. Scaling: N clients, each with its own MCP session and keep-alive connection, call ``tools/call echo`` for T
   seconds, one call in flight each, behind the proxy with one replica (the hosting one, r2) and then two (r1 and r2);
   three runs each, the median run by calls/s is reported with its p50/p99. The scaling factor is two over one. The
   one replica without the proxy is the reference: what the proxy itself costs.
2. A replica killed under load: the same clients on two replicas; halfway, r1 gets SIGKILL (its whole process
   group). Reported: calls lost (any error or timeout at the client), calls the proxy re-sent to the survivor, calls/s
   before and after, and the time from the kill until every client's session has been answered by the survivor.

On a 2-core machine the load generator, the proxy, both replicas and the upstream share the cores: the scaling factor
says what a second replica adds when the CPU is already taken, not what it adds on a machine of its own.

    .venv/bin/python bench/replicas.py                         16 clients, 10 s per run, 3 runs
    .venv/bin/python bench/replicas.py --clients 4 --seconds 3 --runs 1   a quick look
    .venv/bin/python bench/replicas.py --upstream stdio        the forwarded case (a stdio server hosted by r1)

PostgreSQL: ``MCPHOST_BENCH_POSTGRES_URL`` (default postgresql+asyncpg://postgres@localhost/postgres), where the
script may create and drop a database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvloop
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent / "gateway"))

from loadgen import CALL_TIMEOUT, Session, http_call
from targets import MCPHOST_ENV, PASSWORD, free_port, started, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
PROXY = ROOT / "tests" / "support" / "round_robin.py"
SECRET_KEY = secrets.token_urlsafe(48)


@dataclass
class Calls:
    """Every call of a run: (start, end) in perf_counter seconds, per client, and the failures."""

    done: list[list[tuple[float, float]]]
    errors: list[tuple[float, str]] = field(default_factory=list)


# -- the cluster ------------------------------------------------------------------------------------------------------


@asynccontextmanager
async def database() -> AsyncIterator[str]:
    server = os.environ.get("MCPHOST_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@localhost/postgres")
    name = f"mcphost_bench_replicas_{secrets.token_hex(4)}"
    dsn = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        connection = await asyncpg.connect(dsn)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


@asynccontextmanager
async def replica(node: str, url: str, scratch: Path) -> AsyncIterator[tuple[int, asyncio.subprocess.Process]]:
    port = free_port()
    env = {
        **MCPHOST_ENV,
        "MCPHOST_DATABASE_URL": url,
        "MCPHOST_SECRET_KEY": SECRET_KEY,
        "MCPHOST_RUNTIME__NODE_NAME": node,
        "MCPHOST_RUNTIME__SANDBOX": "off",
        "MCPHOST_NODES__HEARTBEAT_SECONDS": "1",
        "MCPHOST_NODES__DOWN_AFTER_SECONDS": "3",
    }
    home = scratch / node
    argv = [str(Path(sys.executable).parent / "mcphost"), "up", "--port", str(port), "--home", str(home)]
    async with started(argv, scratch / f"{node}.log", env) as process:
        await wait_for_port(port, process)
        yield port, process


async def create_server(r1: int, r2: int, upstream: str) -> tuple[str, str]:
    """Register the administrator (on r1) and create the server on the node that hosts it; (slug, access key)."""
    account = {"email": "bench@example.com", "password": PASSWORD}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{r1}", timeout=30) as api:
        (await api.post("/api/auth/register", json=account)).raise_for_status()
        token = (await api.post("/api/auth/login", json=account)).json()["access_token"]
    if upstream == "http":
        host, command = r2, [sys.executable, str(FIXTURES / "http_echo_server.py"), "{port}"]
        source = {
            "type": "command",
            "command": command,
            "transport": "streamable-http",
            "url": "http://127.0.0.1:{port}/",
        }
    else:
        host, source = r1, {"type": "command", "command": [sys.executable, str(FIXTURES / "echo_server.py")]}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{host}", headers=headers, timeout=30) as api:
        created = await api.post("/api/servers", json={"name": f"replicas {upstream}", "source": source})
        created.raise_for_status()
        server = created.json()
        deadline = time.monotonic() + 60
        while (now := (await api.get(f"/api/servers/{server['id']}")).json())["status"] != "running":
            if now["status"] == "error" or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {now['status']} {now['status_reason']}")
            await asyncio.sleep(0.1)
    return server["slug"], server["access_key"]


@asynccontextmanager
async def proxy(backends: list[int], scratch: Path) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """The round-robin proxy over these replicas' ports; its counters are filled in when it stops."""
    port = free_port()
    log = scratch / f"proxy-{port}.log"
    argv = [sys.executable, str(PROXY), str(port), *(f"127.0.0.1:{backend}" for backend in backends)]
    counters: dict[str, Any] = {}
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(*argv, stdout=output, stderr=output, cwd=ROOT)
    try:
        await wait_for_port(port, process)
        yield port, counters
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        await process.wait()
        last = log.read_text().strip().splitlines()[-1:]
        with contextlib.suppress(ValueError, IndexError):
            counters.update(json.loads(last[0]))


# -- load -------------------------------------------------------------------------------------------------------------


async def load(
    url: str, auth: str, clients: int, seconds: float, *, kill: tuple[float, Any] | None = None
) -> tuple[Calls, float, float | None]:
    """N sessions calling for ``seconds``; ``kill`` (after, what) runs ``what`` that many seconds in. Returns the
    calls, the start and the moment of the kill."""
    sessions = [Session(url, auth) for _ in range(clients)]
    await asyncio.gather(*(session.open() for session in sessions))
    calls = Calls([[] for _ in sessions])
    killed_at: float | None = None

    async def client(index: int, session: Session) -> None:
        call = http_call(session)
        try:
            while time.perf_counter() < deadline:
                started_at = time.perf_counter()
                try:
                    await asyncio.wait_for(call(), CALL_TIMEOUT)
                except Exception as exc:  # a lost call, whatever the reason
                    calls.errors.append((started_at, f"{type(exc).__name__}: {exc}"[:300]))
                    continue
                calls.done[index].append((started_at, time.perf_counter()))
        finally:
            await call.close()

    async def killer() -> None:
        nonlocal killed_at
        if kill is not None:
            await asyncio.sleep(kill[0])
            killed_at = time.perf_counter()
            kill[1]()

    begin = time.perf_counter()
    deadline = begin + seconds
    await asyncio.gather(killer(), *(client(index, session) for index, session in enumerate(sessions)))
    await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)
    return calls, begin, killed_at


def summary(calls: Calls, since: float, until: float) -> tuple[float, float, float, int]:
    """calls/s, p50 and p99 (ms) of the calls started in [since, until), and their number."""
    durations = sorted(end - start for client in calls.done for start, end in client if since <= start < until)
    if len(durations) < 2:
        return 0.0, 0.0, 0.0, len(durations)
    quantiles = statistics.quantiles(durations, n=100)
    return len(durations) / (until - since), quantiles[49] * 1e3, quantiles[98] * 1e3, len(durations)


async def scaling(
    options: argparse.Namespace, ports: dict[str, int], slug: str, key: str, scratch: Path
) -> list[tuple[str, tuple[float, float, float, int], int]]:
    results = []
    one = "r2" if options.upstream == "http" else "r1"  # a single replica is the one hosting the server
    for label, backends in (
        (f"one replica ({one}), no proxy (reference)", None),
        (f"one replica ({one})", [ports[one]]),
        ("two replicas (r1, r2)", [ports["r1"], ports["r2"]]),
    ):
        runs = []
        for number in range(options.runs):
            async with contextlib.AsyncExitStack() as stack:
                if backends is None:
                    port = ports[one]
                else:
                    port, _ = await stack.enter_async_context(proxy(backends, scratch))
                calls, begin, _ = await load(
                    f"http://127.0.0.1:{port}/mcp/{slug}", f"Bearer {key}", options.clients, options.seconds
                )
            figures = summary(calls, begin, begin + options.seconds)
            runs.append((figures, len(calls.errors)))
            print(f"{label}, run {number + 1}: {figures[0]:,.0f} calls/s, {len(calls.errors)} errors", file=sys.stderr)
        ordered = sorted(runs, key=lambda run: run[0][0])
        median = ordered[len(ordered) // 2]
        results.append((label, median[0], sum(errors for _, errors in runs)))
    return results


async def kill_under_load(
    options: argparse.Namespace,
    ports: dict[str, int],
    r1: asyncio.subprocess.Process,
    slug: str,
    key: str,
    scratch: Path,
) -> dict[str, Any]:
    half = options.seconds / 2

    def kill() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(r1.pid, signal.SIGKILL)

    async with proxy([ports["r1"], ports["r2"]], scratch) as (port, counters):
        calls, begin, killed_at = await load(
            f"http://127.0.0.1:{port}/mcp/{slug}", f"Bearer {key}", options.clients, options.seconds, kill=(half, kill)
        )
    assert killed_at is not None
    # Each session is carried by the survivor once a call it started after the kill has been answered.
    carried = [min((end for start, end in client if start >= killed_at), default=None) for client in calls.done]
    spanning = [end - start for client in calls.done for start, end in client if start < killed_at <= end]
    return {
        "lost": len(calls.errors),
        "errors": [(when - killed_at, error) for when, error in calls.errors[:5]],
        "retried": counters.get("retries", "?"),
        "before": summary(calls, begin, killed_at),
        "after": summary(calls, killed_at, begin + options.seconds),
        "carried_after": max((moment - killed_at for moment in carried if moment is not None), default=None),
        "sessions_not_carried": sum(moment is None for moment in carried),
        "longest_spanning_call": max(spanning, default=0.0),
    }


# -- report -----------------------------------------------------------------------------------------------------------


def report(options: argparse.Namespace, scaled: list[Any], killed: dict[str, Any], load_start: float) -> str:
    lines = [
        f"{options.clients} clients, one session and one call in flight each, {options.seconds:g} s per run, median "
        f"of {options.runs}; upstream: {options.upstream} echo fixture",
        "",
        "| replicas behind the proxy | calls/s | p50 | p99 | errors |",
        "|---|---|---|---|---|",
    ]
    for label, (rate, p50, p99, _), errors in scaled:
        lines.append(f"| {label} | {rate:,.0f} | {p50:.2f} ms | {p99:.2f} ms | {errors} |")
    if scaled and scaled[1][1][0]:
        lines += [
            "",
            f"scaling factor (two replicas over one, both behind the proxy): {scaled[2][1][0] / scaled[1][1][0]:.2f}",
        ]
    before, after = killed["before"], killed["after"]
    carried = killed["carried_after"]
    never = f" ({killed['sessions_not_carried']} sessions never)" if killed["sessions_not_carried"] else ""
    lines += [
        "",
        "r1 killed (SIGKILL) halfway through a run on two replicas:",
        "",
        "| calls lost | re-sent by the proxy | calls/s before | calls/s after | survivor carries every session after "
        "| longest call across the kill |",
        "|---|---|---|---|---|---|",
        f"| {killed['lost']} | {killed['retried']} | {before[0]:,.0f} | {after[0]:,.0f} | "
        f"{'—' if carried is None else f'{carried * 1e3:.0f} ms'}"
        f"{never} | "
        f"{killed['longest_spanning_call'] * 1e3:.0f} ms |",
    ]
    for when, error in killed["errors"]:
        lines.append(f"  lost, started {when * 1e3:+.0f} ms from the kill: {error}")
    lines.append(f"\nload average (1 min): {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    return "\n".join(lines)


async def main(options: argparse.Namespace) -> int:
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as directory:
        scratch = Path(directory)
        async with (
            database() as url,
            replica("r1", url, scratch) as (r1, r1_process),
            replica("r2", url, scratch) as (r2, _),
        ):
            ports = {"r1": r1, "r2": r2}
            slug, key = await create_server(r1, r2, options.upstream)
            scaled = await scaling(options, ports, slug, key, scratch) if not options.kill_only else []
            killed = await kill_under_load(options, ports, r1_process, slug, key, scratch)
    print(report(options, scaled, killed, load_start))
    return 1 if killed["lost"] and options.upstream == "http" else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients, one session each (default 16)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per run (default 10)")
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration; the median is kept (default 3)")
    parser.add_argument("--kill-only", action="store_true", help="only the replica kill under load")
    parser.add_argument(
        "--upstream", choices=("http", "stdio"), default="http", help="the server under load (default http)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(uvloop.run(main(parse())))
