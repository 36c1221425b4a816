"""Gateway throughput and latency side by side: MCP Host's gateway against peers that put a stdio MCP server
behind Streamable HTTP, and against direct stdio pipes (the limit), with the same backends and the same client.

Per repetition, backend and target: the target is started fresh; for each concurrency a new MCP session is opened
(initialize + notifications/initialized), warmed up, then ``tools/call echo`` is called by N workers on that one
session for a window of ``--seconds``; the session is ended (DELETE). Figures are medians over ``--reps`` (errors
are summed). Targets are interleaved within a repetition, so all see the same machine load.

    .venv/bin/python bench/gateway/compare.py                        10 s windows, 3 repetitions
    .venv/bin/python bench/gateway/compare.py --seconds 2 --reps 1   a quick look
    .venv/bin/python bench/gateway/compare.py --targets direct mcphost --write   (--write: into docs/benchmarks.md)

Peers are installed on first use into bench/.peers/ (see peers.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from dataclasses import fields
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import ECHO_PARAMS, Call, Session, Tally, drive, http_call
from procs import gateway_pids, usage
from report import Row, Run, markdown, write_section
from targets import BACKENDS, LABELS, TARGETS, Running, TargetUnavailable, backend_command

from mcphost.mcp import McpSession, StdioConnection


async def direct_calls(script: Path, concurrency: int) -> tuple[list[Call], asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        *backend_command(script),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        limit=16 * 1024 * 1024,
    )
    assert process.stdout is not None and process.stdin is not None
    connection = StdioConnection(process.stdout, process.stdin, name="bench").start()
    await McpSession(connection).initialize()

    async def call() -> None:
        result = await connection.request("tools/call", ECHO_PARAMS, timeout=30)
        if result.get("isError"):
            raise RuntimeError(f"call failed: {result}")

    call.close = connection.close  # type: ignore[attr-defined]
    return [call] * concurrency, process


async def one_run(running: Running, script: Path, concurrency: int, seconds: float, warmup: float) -> Run:
    process = session = None
    if running.url is None:
        calls, process = await direct_calls(script, concurrency)
    else:
        session = Session(running.url, running.auth)
        await session.open()
        calls = [http_call(session) for _ in range(concurrency)]
    try:
        warm = Tally()
        await drive(calls, warmup, warm)
        if warm.errors and not warm.latencies_ns:
            raise TargetUnavailable(f"every warm-up call failed: {warm.first_error}")
        pids = gateway_pids(running.root_pid, str(script)) if running.root_pid else []
        tally, before, client = Tally(), usage(pids), time.process_time()
        wall = await drive(calls, seconds, tally)
        after, client = usage(pids), time.process_time() - client
    finally:
        for call in {id(call): call for call in calls}.values():
            await call.close()
        if session is not None:
            await session.close()
        if process is not None:
            process.kill()
            await process.wait()
    done = max(len(tally.latencies_ns), 1)
    if tally.errors:
        print(f"    {tally.errors} errors, the first: {tally.first_error}", file=sys.stderr)
    quantiles = statistics.quantiles(tally.latencies_ns, n=100) if len(tally.latencies_ns) > 1 else [0.0] * 99
    return Run(
        calls_per_s=len(tally.latencies_ns) / wall,
        p50_ms=quantiles[49] / 1e6,
        p99_ms=quantiles[98] / 1e6,
        errors=tally.errors,
        gateway_cpu_ms=(after.cpu_seconds - before.cpu_seconds) / done * 1e3 if pids else None,
        gateway_rss_mib=after.rss_kib / 1024 if pids else None,
        client_cpu_ms=client / done * 1e3,
    )


def median_run(runs: list[Run]) -> Run:
    values = {}
    for item in fields(Run):
        column = [getattr(run, item.name) for run in runs]
        if item.name == "errors":
            values[item.name] = sum(column)
        else:
            present = [value for value in column if value is not None]
            values[item.name] = statistics.median(present) if present else None
    return Run(**values)


async def main(options: argparse.Namespace) -> int:
    load_at_start = os.getloadavg()[0]
    runs: dict[tuple[str, str, int], list[Run]] = {}
    failed: dict[str, str] = {}
    concurrencies = options.concurrency
    for rep in range(1, options.reps + 1):
        for backend, script in BACKENDS.items():
            for target in options.targets:
                if target in failed:
                    continue
                print(f"rep {rep}/{options.reps}  {backend:22} {LABELS[target]}", file=sys.stderr, flush=True)
                try:
                    async with TARGETS[target](script) as running:
                        for concurrency in concurrencies:
                            run = await one_run(running, script, concurrency, options.seconds, options.warmup)
                            runs.setdefault((backend, target, concurrency), []).append(run)
                            print(f"    {concurrency:>3} in flight: {run}", file=sys.stderr, flush=True)
                except TargetUnavailable as exc:
                    failed[target] = str(exc)
                    print(f"    NOT MEASURED: {exc}", file=sys.stderr, flush=True)
    rows = [
        Row(backend, LABELS[target], concurrency, median_run(measured))
        for (backend, target, concurrency), measured in runs.items()
    ]
    failures = {LABELS[target]: reason for target, reason in failed.items()}
    table = markdown(rows, failures, options, (load_at_start, os.getloadavg()[0]))
    print(table)
    if options.write:
        write_section(table)
        print("written to docs/benchmarks.md", file=sys.stderr)
    for target, reason in failed.items():
        print(f"error: {LABELS[target]} was not measured: {reason}", file=sys.stderr)
    return 1 if failed else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per run (default 10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="calls before each window, in seconds (default 1)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions; medians are shown (default 3)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16], help="calls in flight (default 1 16)")
    parser.add_argument("--targets", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(uvloop.run(main(parse())))
