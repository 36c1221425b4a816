"""``POST /api/servers/{id}/invoke``: one MCP request from the console's playground (or a script), relayed through
the same path as the MCP endpoint (the server's isolation, the upstream relay, timeouts, traces)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mcphost.accounts.principal import Principal
from mcphost.api.deps import InvokePrincipal, SessionDep
from mcphost.api.schemas import AUTHENTICATED_ERRORS, error_responses
from mcphost.errors import Conflict
from mcphost.gateway.access import Grant
from mcphost.gateway.app import Gateway
from mcphost.gateway.errors import UpstreamUnavailable
from mcphost.gateway.withheld import Withheld, withheld_for
from mcphost.mcp.jsonrpc import INVALID_PARAMS, MAX_DEPTH, check_depth
from mcphost.models import Server
from mcphost.servers import service

router = APIRouter(prefix="/api/servers/{server_id}", tags=["servers"], responses=AUTHENTICATED_ERRORS)
#: What the playground may send: requests of the server's features, not session management.
InvocableMethod = Literal[
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "ping",
]


class InvokeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}}
        },
    )

    method: InvocableMethod = Field(description="The MCP method: requests of the server's features.")
    params: dict[str, Any] | None = Field(
        None, description=f"The request's params, as the MCP method defines them (at most {MAX_DEPTH} levels deep)."
    )

    @field_validator("params")
    @classmethod
    def _relayable(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        check_depth(value, level=2)  # the params of the request message relayed
        return value


class InvokeOut(BaseModel):
    result: dict[str, Any] | None = Field(None, description="The server's result (absent on error).")
    error: dict[str, Any] | None = Field(None, description="The JSON-RPC error {code, message, data?}, if any.")
    duration_ms: float = Field(description="Time until the server answered.")


@router.post(
    "/invoke",
    summary="Send one MCP request to the server (the console's playground)",
    responses=error_responses(409),
)
async def invoke(
    server_id: uuid.UUID, body: InvokeIn, principal: InvokePrincipal, session: SessionDep, request: Request
) -> InvokeOut:
    """Answers 200 with the server's result or its JSON-RPC error; 409 when the server is not running; 403 for
    viewers of the server's organisation (viewers read, members invoke)."""
    server = await service.get_invocable(session, principal, server_id)
    withheld = await withheld_for(session, server, principal.user, admin=principal.is_admin)
    await session.commit()  # nothing to write: end the transaction before waiting on the server
    return await invoke_server(request.app.state.gateway, server, principal, withheld, body.method, body.params)


async def invoke_server(
    gateway: Gateway,
    server: Server,
    principal: Principal,
    withheld: Withheld,
    method: str,
    params: dict[str, Any] | None,
    call_timeout: float | None = None,
) -> InvokeOut:
    """Send one request to a server the principal may see, traced as an invocation; raises Conflict (409) when
    the server is not running. Also used by the console's "try it" forms and by workflow steps (``call_timeout``:
    theirs, else the gateway's request timeout). Call it outside a transaction."""
    user_id = principal.user_id
    grant = Grant(server.id, server.slug, server.isolation, f"user:{user_id}", user_id, None, withheld, server.node)
    refusal = withheld.refusal(method, params)
    if refusal is not None:
        error = {"code": INVALID_PARAMS, "message": refusal[0], "data": {"reason": refusal[1]}}
        return InvokeOut(error=error, duration_ms=0.0)
    timeout = call_timeout or gateway.settings.request_timeout_seconds
    try:
        # Here, straight to its upstream, or through the node hosting it (ADR 0015).
        answer, duration = await gateway.call(grant, method, params, timeout)
    except UpstreamUnavailable as exc:  # the server's state (or its node's), not this replica's health
        raise Conflict(exc.message, code="server_not_running") from None
    return InvokeOut(result=answer.get("result"), error=answer.get("error"), duration_ms=round(duration * 1000, 3))
