"""Serving an app on a real loopback port (for streaming responses, which httpx's ASGI transport buffers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI


@asynccontextmanager
async def serve(app: FastAPI, *, lifespan: bool = True, port: int = 0) -> AsyncIterator[str]:
    """Run the app under uvicorn on a free port (or ``port``); yields its base URL. ``lifespan=False`` serves an app
    whose lifespan the caller already runs."""
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on" if lifespan else "off"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if lifespan:
            app.state.platform.bus.fanout.close_all()
        server.should_exit = True
        await task
