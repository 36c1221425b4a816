"""Plugging evaluations into an app: the ``evaluation.run`` job handler, which calls tools through the gateway
(``POST /api/servers/{id}/invoke``'s path: the server's isolation, withheld tools, relay, timeouts and traces), the
deploy watcher, and the per-user limit of runs started on demand.

This is the one module of the package that knows the gateway; ``create_app`` calls ``install``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI

from mcphost.accounts.principal import Principal
from mcphost.evaluations.runner import Answer, EvaluationRunner
from mcphost.evaluations.triggers import RUN_JOB
from mcphost.gateway.access import RateLimiter
from mcphost.gateway.app import Gateway
from mcphost.gateway.invoke import invoke_server
from mcphost.gateway.withheld import withheld_for
from mcphost.models import Server, TokenScope, User
from mcphost.platform import Platform
from mcphost.services.evaluations import DeployWatcher

#: The principal a run calls tools as: its user, allowed to invoke (and with its admin power, if any).
_RUN_SCOPES = frozenset({TokenScope.READ, TokenScope.INVOKE, TokenScope.ADMIN})


class GatewayCaller:
    """Calls a tool as a user would through the playground's path, recorded as an invocation like any call."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def __call__(self, server: Server, user: User, tool: str, arguments: dict[str, Any]) -> Answer:
        async with self.gateway.platform.db.session_scope() as session:
            withheld = await withheld_for(session, server, user, admin=user.is_admin)
        principal = Principal(user=user, scopes=_RUN_SCOPES, via="session", credential_id=uuid.uuid4())
        answer = await invoke_server(
            self.gateway, server, principal, withheld, "tools/call", {"name": tool, "arguments": arguments}
        )
        return Answer(answer.result, answer.error, answer.duration_ms)


def install(app: FastAPI, platform: Platform, gateway: Gateway) -> None:
    settings = platform.settings.evaluations
    runner = EvaluationRunner(platform.db, settings, GatewayCaller(gateway))
    platform.jobs.register(RUN_JOB, runner.handle)
    if not platform.services.get(DeployWatcher.name):
        platform.services.add(DeployWatcher(platform.db, platform.bus))
    app.state.evaluation_limiter = RateLimiter(settings.run_rate_per_minute / 60.0, settings.run_rate_burst)
