"""Where runs execute: a job worker of their own in each process that hosts servers, claiming the runs queued for its
node (``workflows:{node}``), so that long runs never hold up the servers' own lifecycle jobs; and the caller that
sends each step's tools/call through the gateway's invoke path (access rules, held and disabled tools, traces),
which forwards a call for a server hosted by another node to that node (ADR 0015)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcphost.accounts.principal import Principal
from mcphost.gateway.invoke import invoke_server
from mcphost.gateway.withheld import Withheld
from mcphost.jobs.registry import JobRegistry
from mcphost.jobs.worker import JobWorker, WorkerParts
from mcphost.models import Server
from mcphost.workflows.engine import ToolCaller, WorkflowEngine
from mcphost.workflows.outputs import ToolAnswer
from mcphost.workflows.service import RUN_JOB, run_queue

if TYPE_CHECKING:
    from mcphost.gateway.app import Gateway

__all__ = ["WorkflowWorker", "gateway_caller", "workflow_worker"]


class WorkflowWorker(JobWorker):
    name = "workflow-worker"


def gateway_caller(gateway: Gateway) -> ToolCaller:
    # The step's timeout is relayed: on expiry call_upstream tells the server to cancel.
    async def call(
        server: Server,
        principal: Principal,
        withheld: Withheld,
        tool: str,
        arguments: dict[str, Any],
        timeout: float,  # noqa: ASYNC109
    ) -> ToolAnswer:
        params = {"name": tool, "arguments": arguments}
        answer = await invoke_server(gateway, server, principal, withheld, "tools/call", params, timeout)
        return ToolAnswer(answer.result, answer.error)

    return call


def workflow_worker(parts: WorkerParts, call_tool: ToolCaller) -> WorkflowWorker:
    """The worker of this node's workflow runs."""
    settings = parts.settings
    registry = JobRegistry()
    registry.register(RUN_JOB, WorkflowEngine(parts.db, settings.workflows, call_tool).handle)
    worker = WorkflowWorker(parts, registry, queues=(run_queue(settings.runtime.node_name),))
    worker.concurrency = settings.workflows.max_concurrent_runs
    return worker
