"""Micro-benchmark of the stdio client (``mcphost.mcp.StdioConnection``): ``tools/call echo`` round trips to the
test fixture server, sequentially and with several requests in flight.

For scale it also measures the floor: the same request bytes written to the same server over raw pipes, answers read
as lines and not parsed. The difference between the two rows is what the client adds. ``client CPU`` is this
process's CPU time per call (the server's own time is not in it).

Each figure is the median of ``--repeats`` runs, each run against a fresh server process.

    .venv/bin/python bench/mcp_stdio_roundtrip.py [--calls 5000] [--concurrency 16] [--repeats 3] [--uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from mcphost.mcp import McpSession, StdioConnection
from mcphost.mcp.jsonrpc import encode

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "echo_server.py"
ARGUMENTS = {"name": "echo", "arguments": {"text": "hello from the benchmark"}}


@dataclass
class Run:
    calls_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_call: float


async def start_server() -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(FIXTURE),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        limit=16 * 1024 * 1024,
    )


async def stop_server(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
    await process.wait()


async def measure(call: Callable[[], Awaitable[None]], calls: int, concurrency: int) -> Run:
    """``calls`` calls made by ``concurrency`` workers, each waiting for its answer before the next."""
    latencies: list[int] = []
    per_worker = calls // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            started = time.perf_counter_ns()
            await call()
            latencies.append(time.perf_counter_ns() - started)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done = per_worker * concurrency
    quantiles = statistics.quantiles(latencies, n=100)
    return Run(done / wall, quantiles[49] / 1e6, quantiles[98] / 1e6, cpu / done * 1e6)


async def client_run(calls: int, concurrency: int) -> Run:
    process = await start_server()
    assert process.stdout is not None and process.stdin is not None
    try:
        async with StdioConnection(process.stdout, process.stdin, name="bench") as connection:
            session = McpSession(connection)
            await session.initialize()

            async def call() -> None:
                await connection.request("tools/call", ARGUMENTS, timeout=30)

            await measure(call, 200, 1)  # warm up
            return await measure(call, calls, concurrency)
    finally:
        await stop_server(process)


async def raw_pipe_run(calls: int, concurrency: int) -> Run:
    """The floor: pre-encoded requests, answers read as lines and not looked at. With several workers, their writes
    and reads are matched in order (the fixture answers in order), so no ids are tracked."""
    process = await start_server()
    assert process.stdout is not None and process.stdin is not None
    reader, writer = process.stdout, process.stdin
    line = encode({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ARGUMENTS})
    waiting: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue()

    async def read_answers() -> None:
        while True:
            await reader.readuntil(b"\n")
            (await waiting.get()).set_result(None)

    async def call() -> None:
        answered = asyncio.get_running_loop().create_future()
        waiting.put_nowait(answered)
        writer.write(line)
        await writer.drain()
        await answered

    reading = asyncio.create_task(read_answers())
    try:
        await measure(call, 200, 1)
        return await measure(call, calls, concurrency)
    finally:
        reading.cancel()
        await stop_server(process)


def median_run(runs: list[Run]) -> Run:
    return Run(*(statistics.median(getattr(run, field) for run in runs) for field in Run.__dataclass_fields__))


async def main(options: argparse.Namespace) -> None:
    loop_name = type(asyncio.get_running_loop()).__module__.split(".")[0]
    print(f"python {sys.version.split()[0]}, {loop_name} event loop, {options.calls} calls per run, ", end="")
    print(f"median of {options.repeats} runs (client and floor runs interleaved)")
    print(f"{'':38} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'client CPU µs/call':>19}")
    for concurrency in (1, options.concurrency):
        runs: dict[str, list[Run]] = {"StdioConnection": [], "raw pipes (floor)": []}
        for _ in range(options.repeats):  # interleaved, so both rows see the same machine load
            runs["StdioConnection"].append(await client_run(options.calls, concurrency))
            runs["raw pipes (floor)"].append(await raw_pipe_run(options.calls, concurrency))
        for label, measured in runs.items():
            result = median_run(measured)
            name = f"{label}, concurrency {concurrency}"
            print(
                f"{name:38} {result.calls_per_s:9.0f} {result.p50_ms:8.3f} {result.p99_ms:8.3f}"
                f" {result.cpu_us_per_call:19.1f}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5000, help="calls per measurement (default 5000)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the median is shown (default 3)")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop (what uvicorn uses) instead of asyncio's")
    arguments = parser.parse_args()
    if arguments.uvloop:
        import uvloop

        uvloop.run(main(arguments))
    else:
        asyncio.run(main(arguments))
