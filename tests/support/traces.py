"""Invocation records as the gateway hands them to the trace recorder, and a way to write them at once."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import FastAPI

from mcphost.observability.traces import Invocation, TraceRecorder


def invocation(server: dict[str, Any], **fields: Any) -> Invocation:
    """A tools/call of ``echo`` on the server (as the API returned it) that answered ok after 2 ms."""
    values: dict[str, Any] = {
        "server_id": uuid.UUID(server["id"]),
        "method": "tools/call",
        "name": "echo",
        "session_id": "session-1",
        "user_id": None,
        "key_id": None,
        "request_id": 1,
        "params": {"name": "echo", "arguments": {"text": "hi"}},
        "result": {"content": [{"type": "text", "text": "hi"}], "isError": False},
        "error": None,
        "started_at": time.time(),
        "duration": 0.002,
        "request_bytes": 80,
        "response_bytes": 60,
        "server_slug": server["slug"],
    }
    return Invocation(**(values | fields))


def recorder(app: FastAPI) -> TraceRecorder:
    traces: TraceRecorder = app.state.platform.traces
    return traces


async def record(app: FastAPI, *invocations: Invocation) -> None:
    """Hand the records to the app's recorder and write them now."""
    traces = recorder(app)
    for one in invocations:
        traces.record(one)
    await traces.flush()
