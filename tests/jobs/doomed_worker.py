"""A job worker process to be killed with SIGKILL: its handler never returns, so it holds its lease until death.

Run as ``python doomed_worker.py WORKER_ID KIND`` with MCPHOST_* settings in the environment (database, home,
secret key, a short lease). It prints ``claimed <job id>`` once the handler has started.
"""

from __future__ import annotations

import asyncio
import sys

from mcphost.jobs.registry import JobContext, JobRegistry
from mcphost.jobs.worker import JobWorker
from mcphost.platform import Platform
from mcphost.settings import Settings


async def main(worker_id: str, kind: str) -> None:
    platform = Platform.create(Settings())
    await platform.start(services=False)
    registry = JobRegistry()

    async def block_forever(context: JobContext) -> None:
        print(f"claimed {context.job_id}", flush=True)
        await asyncio.Event().wait()

    registry.register(kind, block_forever)
    await JobWorker(platform, registry, worker_id=worker_id).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
