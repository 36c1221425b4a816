"""A redeploy under load loses no call.

``mcphost up`` on a scratch home (process runtime, sandbox auto, rate limits lifted) hosts the standard-library echo
fixture (``tests/fixtures/echo_server.py``) as a command server. N clients, each with its own MCP session
(initialize + notifications/initialized) and keep-alive connection, call ``tools/call echo`` through the gateway
(``/mcp/{slug}``) in a loop for the whole run, one call in flight each. Meanwhile the script redeploys the server
several times, one after another (``POST /api/servers/{id}/redeploy``), each time waiting until the new revision
serves: the status goes to ``updating``, then back to ``running`` with no reason, at the new revision number.

Reported: calls and failed calls (any error or timeout counts; there must be none), calls/s before, during and after
the redeploys, p50/p99/max latency overall and of the calls that started inside a redeploy, each redeploy's
duration (POST until running again), and how many invocation traces MCP Host dropped because its trace buffer
was full (from its log). The exit code is 1 when a call failed, 2 when a redeploy did not complete.

    .venv/bin/python bench/redeploy_under_load.py                     16 clients, 3 redeploys, 3 s settle
    .venv/bin/python bench/redeploy_under_load.py --clients 4 --redeploys 1 --settle 1   a quick look
    .venv/bin/python bench/redeploy_under_load.py --no-traces         invocation traces off (on by default)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent / "gateway"))

from loadgen import CALL_TIMEOUT, Session, http_call
from targets import BACKENDS, MCPHOST_ENV, PASSWORD, backend_command, free_port, started, wait_for_port

ECHO = BACKENDS["echo fixture (stdlib)"]
REDEPLOY_TIMEOUT = 120.0


@dataclass
class Record:
    """Every call: when it started and how long it took (perf_counter seconds), and the failures with their time."""

    calls: list[tuple[float, float]] = field(default_factory=list)
    errors: list[tuple[float, str]] = field(default_factory=list)


async def client(
    url: str, auth: str, record: Record, ready: asyncio.Event, go: asyncio.Event, stop: asyncio.Event
) -> None:
    """One MCP session; once every client has one (``go``), calls until ``stop``."""
    session = Session(url, auth)
    await session.open()
    call = http_call(session)
    ready.set()
    await go.wait()
    try:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                await asyncio.wait_for(call(), CALL_TIMEOUT)
            except Exception as exc:  # a lost call, whatever the reason
                record.errors.append((started, f"{type(exc).__name__}: {exc}"[:300]))
                continue
            record.calls.append((started, time.perf_counter() - started))
    finally:
        await call.close()
        await session.close()


async def create_server(api: httpx.AsyncClient) -> dict[str, Any]:
    """Register (the first account is an administrator), create the command server, wait until it runs."""
    account = {"email": "bench@example.com", "password": PASSWORD}
    (await api.post("/api/auth/register", json=account)).raise_for_status()
    login = await api.post("/api/auth/login", json=account)
    login.raise_for_status()
    api.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    source = {"type": "command", "command": backend_command(ECHO)}
    created = await api.post("/api/servers", json={"name": "redeploy bench", "source": source})
    created.raise_for_status()
    server: dict[str, Any] = created.json()
    deadline = time.monotonic() + 60
    while (now := (await api.get(f"/api/servers/{server['id']}")).json())["status"] != "running":
        if now["status"] == "error" or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start: {now['status']} {now['status_reason']}")
        await asyncio.sleep(0.1)
    return server


async def redeploy(api: httpx.AsyncClient, server_id: str) -> tuple[float, float, int]:
    """Redeploy and wait until the new revision serves: (start, end, revision)."""
    before = (await api.get(f"/api/servers/{server_id}")).json()
    started = time.perf_counter()
    response = await api.post(f"/api/servers/{server_id}/redeploy")
    response.raise_for_status()
    revision = response.json()["revision"]
    seen_updating = False
    while time.perf_counter() - started < REDEPLOY_TIMEOUT:
        now = (await api.get(f"/api/servers/{server_id}")).json()
        seen_updating = seen_updating or now["status"] == "updating"
        moved = seen_updating or now["last_started_at"] != before["last_started_at"]  # in case updating was missed
        if now["status"] == "running" and now["status_reason"] is None and now["revision"] == revision and moved:
            if not seen_updating:
                print(f"  (revision {revision}: status updating not seen between polls)", file=sys.stderr)
            return started, time.perf_counter(), revision
        if now["status"] == "error" or (seen_updating and now["status"] == "running" and now["status_reason"]):
            raise RuntimeError(f"redeploy to revision {revision} failed: {now['status']} {now['status_reason']}")
        await asyncio.sleep(0.02)
    raise RuntimeError(f"redeploy to revision {revision} not done after {REDEPLOY_TIMEOUT}s: {now['status']}")


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def latency(calls: list[tuple[float, float]]) -> tuple[str, str, str]:
    values = sorted(duration for _, duration in calls)
    if len(values) < 2:
        return ("—", "—", "—")
    quantiles = statistics.quantiles(values, n=100)
    return ms(quantiles[49]), ms(quantiles[98]), ms(values[-1])


def report(
    record: Record, phases: dict[str, list[tuple[float, float]]], redeploys: list[tuple[float, float, int]]
) -> str:
    lines = [
        f"calls: {len(record.calls) + len(record.errors):,}, failed: {len(record.errors)}",
        "",
        "| phase | seconds | calls | calls/s | p50 | p99 | max |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, windows in phases.items():
        inside = [c for c in record.calls if any(start <= c[0] < end for start, end in windows)]
        seconds = sum(end - start for start, end in windows)
        rate = f"{len(inside) / seconds:,.0f}" if seconds else "—"
        lines.append(f"| {name} | {seconds:.1f} | {len(inside):,} | {rate} | {' | '.join(latency(inside))} |")
    lines += ["", "| redeploy | revision | POST → running |", "|---|---|---|"]
    lines += [f"| {n} | {rev} | {end - start:.2f} s |" for n, (start, end, rev) in enumerate(redeploys, 1)]
    return "\n".join(lines)


async def main(options: argparse.Namespace) -> int:
    load_at_start = os.getloadavg()[0]
    port = free_port()
    env = {**MCPHOST_ENV, "MCPHOST_RUNTIME__SANDBOX": "auto"}
    if options.no_traces:
        env["MCPHOST_TRACES__ENABLED"] = "false"
    with tempfile.TemporaryDirectory() as scratch:
        argv = [str(Path(sys.executable).parent / "mcphost"), "up", "--port", str(port), "--home", scratch]
        log = Path(scratch) / "mcphost.log"
        base = f"http://127.0.0.1:{port}"
        async with started(argv, log, env) as process, httpx.AsyncClient(base_url=base, timeout=30) as api:
            await wait_for_port(port, process)
            server = await create_server(api)
            record, go, stop = Record(), asyncio.Event(), asyncio.Event()
            readies = [asyncio.Event() for _ in range(options.clients)]
            url, auth = f"{base}/mcp/{server['slug']}", f"Bearer {server['access_key']}"
            tasks = [asyncio.create_task(client(url, auth, record, ready, go, stop)) for ready in readies]
            redeploys: list[tuple[float, float, int]] = []
            failure = None
            try:
                await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 60)
                print(f"{options.clients} clients calling; settling {options.settle} s", file=sys.stderr)
                begin = time.perf_counter()
                go.set()
                await asyncio.sleep(options.settle)
                for number in range(1, options.redeploys + 1):
                    redeploys.append(await redeploy(api, server["id"]))
                    start, end, revision = redeploys[-1]
                    print(f"redeploy {number}: revision {revision} in {end - start:.2f} s", file=sys.stderr)
                settled = time.perf_counter()
                await asyncio.sleep(options.settle)
                finish = time.perf_counter()
            except RuntimeError as exc:
                failure = f"{exc}\nMCP Host's log: {log.read_text()[-2000:]}"
            finally:
                go.set()
                stop.set()
                results = await asyncio.gather(*tasks, return_exceptions=True)
        written = log.read_text()
        dropped = sum(int(n) for n in re.findall(r"(\d+) invocation records dropped", written))
        logged_errors = [line for line in written.splitlines() if '"level":"error"' in line]
    for result in results:
        if isinstance(result, BaseException):
            print(f"a client ended with {type(result).__name__}: {result}", file=sys.stderr)
    if failure is not None:
        print(f"error: {failure}", file=sys.stderr)
        return 2
    windows = [(start, end) for start, end, _ in redeploys]
    phases = {
        "before redeploys": [(begin, windows[0][0] if windows else settled)],
        "during redeploys": windows,
        "after redeploys": [(settled, finish)],
        "whole run": [(begin, finish)],
    }
    traces = "off" if options.no_traces else f"on, {dropped:,} records dropped (buffer full)"
    print(f"{options.clients} clients, 1 call in flight each, {options.redeploys} redeploys; echo fixture, process")
    print(report(record, phases, redeploys))
    print(f"\ninvocation traces: {traces}")
    for when, error in record.errors[:5]:
        print(f"  failed at +{when - begin:.2f} s: {error}")
    if record.errors:
        print("MCP Host's log, errors:", *logged_errors[:5], sep="\n  ")
    print(f"\nload average (1 min): {load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    return 1 if record.errors else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients, one session each (default 16)")
    parser.add_argument("--redeploys", type=int, default=3, help="redeploys, one after another (default 3)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of calls before and after (default 3)")
    parser.add_argument("--no-traces", action="store_true", help="turn invocation traces off (on by default)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(uvloop.run(main(parse())))
