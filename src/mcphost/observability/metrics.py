"""Prometheus metrics. Each platform has its own registry, so several apps in one process (tests) never clash."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Gateway requests: a relay adds well under a millisecond, a tool call may take many seconds.
GATEWAY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "mcphost_http_requests",
            "HTTP requests handled, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "mcphost_http_request_duration_seconds",
            "Time to handle an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self.http_in_flight = Gauge(
            "mcphost_http_requests_in_flight", "HTTP requests being handled.", registry=self.registry
        )
        self.jobs_finished = Counter(
            "mcphost_jobs_finished",
            "Job attempts finished, by kind and outcome (succeeded, retry, dead).",
            ["kind", "outcome"],
            registry=self.registry,
        )

        self.server_up = Gauge(
            "mcphost_server_up",
            "1 while a hosted server runs on this node, else 0.",
            ["server"],
            registry=self.registry,
        )
        self.server_crashes = Counter(
            "mcphost_server_crashes", "Unexpected exits of hosted servers.", ["server"], registry=self.registry
        )
        self.server_restarts = Counter(
            "mcphost_server_restarts", "Automatic restarts of hosted servers.", ["server"], registry=self.registry
        )
        self.gateway_duration = Histogram(
            "mcphost_gateway_request_duration_seconds",
            "Time from a gateway request to its answer, by server, JSON-RPC method and outcome (ok, error).",
            ["server", "method", "outcome"],
            buckets=GATEWAY_BUCKETS,
            registry=self.registry,
        )
        self.gateway_requests = Counter(
            "mcphost_gateway_requests",
            "JSON-RPC requests relayed by the gateway, by server, method and outcome (ok, error).",
            ["server", "method", "outcome"],
            registry=self.registry,
        )
        self.instance_evictions = Counter(
            "mcphost_instance_evictions",
            "Idle per_user or per_session instances ended at the server's cap to let a new client in.",
            ["server"],
            registry=self.registry,
        )
        self.gateway_traces_dropped = Counter(
            "mcphost_gateway_traces_dropped",
            "Invocation records dropped because the trace buffer was full.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
