"""One request sent by the platform itself (the playground, workflow steps, evaluations) to a server this replica
can relay to: the server's isolation, the upstream relay, timeouts and a trace, as for a client's request."""

# ruff: noqa: ASYNC109 -- the timeout is relayed: on expiry call_upstream tells the server to cancel.
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from mcphost.gateway.relay import call_upstream, encoded, trace_of
from mcphost.gateway.sessions import StatelessSession
from mcphost.gateway.upstreams import instance_key
from mcphost.mcp.jsonrpc import Message
from mcphost.mcp.mux import Exchange
from mcphost.servers.running import RELAYED_CLIENT_CAPABILITIES

if TYPE_CHECKING:
    from mcphost.gateway.access import Grant
    from mcphost.gateway.upstreams import Upstreams
    from mcphost.observability.traces import TraceRecorder

__all__ = ["call_once"]


async def call_once(
    upstreams: Upstreams,
    traces: TraceRecorder,
    grant: Grant,
    method: str,
    params: dict[str, Any] | None,
    timeout: float,
) -> tuple[Message, float]:
    """The answer (under id 1) and the seconds the server took; raises ``UpstreamUnavailable``."""
    key = instance_key(grant, None)
    running = await upstreams.running_for(grant, key, RELAYED_CLIENT_CAPABILITIES, None)
    assert running.mux is not None
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
    if params is not None:
        message["params"] = params
    context = StatelessSession(grant.server_id, grant.principal, key, "2025-11-25", {}, {"name": "mcphost-console"})
    started_at, started = time.time(), time.perf_counter()
    answer = await call_upstream(running.mux, Exchange(context, 1), method, params, timeout, grant.withheld.hiding())
    duration = time.perf_counter() - started
    answer, body = encoded(answer, method)
    sizes = len(orjson.dumps(message)), len(body)
    traces.record(trace_of(grant, context, message, answer, started_at, duration, *sizes))
    return answer, duration
