# ruff: noqa: ASYNC110 (the benchmark polls the API like a client)
"""Ingestion throughput and search latency of a managed vector database, on this machine.

1. Ingestion: N synthetic Markdown documents uploaded into a fresh collection; chunks embedded (the local
   all-MiniLM-L6-v2 int8 ONNX model) and stored in Chroma per second, from the job's start to its end, median of 3
   runs (one collection each, so nothing is skipped as unchanged).
2. Search: the collection published as a hosted MCP server (the process runtime, sandboxed); ``tools/call search``
   through the gateway (``/mcp/{slug}``, in-process ASGI), p50 and p99 of M calls after a warm-up.

The load average (1 min) is printed before and after: the machine is shared.

Usage: .venv/bin/python bench/ingestion.py [--documents 60] [--searches 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _platform import platform_client, settings_for

WORDS = [
    "database",
    "backup",
    "replica",
    "index",
    "query",
    "vector",
    "search",
    "model",
    "token",
    "server",
    "client",
    "gateway",
    "latency",
    "throughput",
    "cache",
    "memory",
    "process",
    "sandbox",
    "network",
    "policy",
    "schedule",
    "cluster",
    "node",
    "container",
    "image",
    "build",
    "release",
    "deploy",
    "rollback",
    "metric",
    "trace",
    "log",
    "alert",
    "quota",
    "organisation",
    "user",
    "secret",
    "key",
    "certificate",
    "domain",
    "workflow",
    "evaluation",
]


def document(seed: int, chars: int = 2400) -> str:
    rng = random.Random(seed)  # noqa: S311 (synthetic text)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append(rng.choice(WORDS))
    sentences = [" ".join(words[i : i + 12]).capitalize() + "." for i in range(0, len(words), 12)]
    return f"# Document {seed}\n\n" + "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))


async def wait_job(client, job_id: str) -> dict:  # type: ignore[no-untyped-def]
    while True:
        job = (await client.get(f"/api/ingestion-jobs/{job_id}")).json()
        if job["status"] not in ("queued", "running"):
            return job
        await asyncio.sleep(0.2)


async def main(documents: int, searches: int) -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="mcphost-bench-") as home:
        settings = settings_for(Path(home), sandbox="required")
        settings.gateway.allowed_hosts = ["bench"]  # the in-process client's Host
        async with platform_client(settings) as client:
            db = (await client.post("/api/vector-dbs", json={"name": "bench"})).json()
            while (await client.get(f"/api/vector-dbs/{db['id']}")).json()["status"] != "running":
                await asyncio.sleep(0.2)
            files = [("files", (f"doc{i}.md", document(i).encode(), "text/markdown")) for i in range(documents)]
            rates, chunks = [], 0
            for run in range(3):
                spec = {"vector_db_id": db["id"], "collection": f"bench{run}", "sources": [{"type": "upload"}]}
                created = await client.post("/api/ingestion-jobs", data={"spec": json.dumps(spec)}, files=files)
                job = await wait_job(client, created.json()["id"])
                assert job["status"] == "succeeded", job
                seconds = datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["started_at"])
                chunks = job["progress"]["chunks"]
                rates.append(chunks / seconds.total_seconds())
                print(f"run {run + 1}: {chunks} chunks in {seconds.total_seconds():.2f}s = {rates[-1]:.1f} chunks/s")
            median = statistics.median(rates)
            print(f"ingestion: {documents} documents, {chunks} chunks of ~1000 chars, median {median:.1f} chunks/s")

            publish = await client.post(f"/api/vector-dbs/{db['id']}/publish", json={"collection": "bench0"})
            published = publish.json()
            while (await client.get(f"/api/servers/{published['server_id']}")).json()["status"] != "running":
                await asyncio.sleep(0.2)
            headers = {
                "authorization": f"Bearer {published['access_key']}",
                "accept": "application/json, text/event-stream",
                "content-type": "application/json",
            }
            path = f"/mcp/{published['slug']}"
            init = {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "bench", "version": "1"},
                },
            }
            response = await client.post(path, json=init, headers=headers)
            assert response.status_code == 200, response.text
            headers |= {"mcp-session-id": response.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
            await client.post(path, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
            latencies = []
            for i in range(searches + 10):
                call = {
                    "jsonrpc": "2.0",
                    "id": i + 1,
                    "method": "tools/call",
                    "params": {"name": "search", "arguments": {"query": " ".join(random.sample(WORDS, 4)), "k": 5}},
                }
                started = time.perf_counter()
                answer = await client.post(path, json=call, headers=headers)
                elapsed = time.perf_counter() - started
                assert answer.status_code == 200 and '"isError":false' in answer.text.replace(" ", ""), answer.text[
                    :300
                ]
                if i >= 10:
                    latencies.append(elapsed * 1000)
            latencies.sort()
            p50 = latencies[len(latencies) // 2]
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            print(f"search through the gateway: {searches} calls (k=5), p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=60)
    parser.add_argument("--searches", type=int, default=200)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.documents, arguments.searches))
