"""``/mcp/workflows/{slug}``: a published workflow as one MCP tool (a composite tool), on an endpoint of its own.

A small raw ASGI handler apart from the gateway, so normal servers' hot path pays one prefix comparison and nothing
more. It speaks Streamable HTTP without sessions (the server may omit ``Mcp-Session-Id``): ``initialize``,
``ping``, ``tools/list`` (one tool named after the workflow's slug, whose ``inputSchema`` is the workflow's input
schema) and ``tools/call``, which queues a run like ``POST /api/workflows/{id}/run`` and answers with the run's
output once it finishes (a failed run is an ``isError`` result with the reason). Only the workflow's owner reaches it,
with a personal access token with the ``invoke`` scope (a workflow acts with its owner's access, so it is the
owner's tool); anybody else gets 404, as for an unknown slug."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any, Final, Protocol

from mcphost.accounts.principal import Principal, authenticate
from mcphost.db.session import Database
from mcphost.errors import AppError
from mcphost.gateway import origins
from mcphost.gateway.access import RateLimiter
from mcphost.gateway.asgi import (
    BodyTooLarge,
    Disconnected,
    Receive,
    Scope,
    Send,
    acceptable,
    headers_of,
    read_body,
    respond,
    respond_json,
)
from mcphost.gateway.errors import GATEWAY_ERROR, error_body, invalid_body
from mcphost.mcp.jsonrpc import (
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    InvalidMessage,
    JsonRpcError,
    classify,
    error_response,
    parse,
    result_response,
)
from mcphost.mcp.session import SUPPORTED_PROTOCOL_VERSIONS
from mcphost.models import TokenScope, Workflow
from mcphost.security import tokens
from mcphost.security.keys import KeyRing
from mcphost.settings import Settings
from mcphost.workflows import service
from mcphost.workflows.repository import RunRepository, WorkflowRepository
from mcphost.workflows.views import ENDPOINT_PREFIX

log = logging.getLogger(__name__)

PREFIX: Final = ENDPOINT_PREFIX
LATEST_VERSION: Final = SUPPORTED_PROTOCOL_VERSIONS[0]


class EndpointParts(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def keys(self) -> KeyRing: ...


class WorkflowMount:
    """ASGI middleware handing ``/mcp/workflows/…`` to the composite tools' endpoint, everything else on."""

    def __init__(self, app: Any, endpoint: WorkflowEndpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await self.endpoint(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class WorkflowEndpoint:
    def __init__(self, parts: EndpointParts) -> None:
        self.parts = parts
        gateway = parts.settings.gateway
        self.origins = origins.OriginPolicy(parts.settings.effective_public_url, gateway)
        self.limiter = RateLimiter(gateway.rate_limit_per_second, gateway.rate_limit_burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._handle(scope, receive, send)
        except Exception:  # a bug: logged, answered as JSON-RPC, never a bare 500 page
            log.exception("the workflow endpoint failed on %s %s", scope["method"], scope["path"])
            body = error_body(GATEWAY_ERROR, "Something went wrong on our side.", "internal_error")
            with contextlib.suppress(RuntimeError, OSError):  # the answer may have started already
                await respond_json(send, 500, body)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        slug = scope["path"][len(PREFIX) :].rstrip("/")
        headers = headers_of(scope)
        cors = self.origins.check(headers)
        if isinstance(cors, origins.Refusal):
            await respond_json(send, cors.status, error_body(GATEWAY_ERROR, cors.message, cors.reason))
            return
        if scope["method"] == "OPTIONS":
            await self.origins.preflight(send, cors)
            return
        if not slug or "/" in slug:
            body = error_body(GATEWAY_ERROR, "Use /mcp/workflows/{workflow-slug}.", "not_found")
            await respond_json(send, 404, body, cors)
            return
        found = await self._authorise(slug, headers, send, cors)
        if found is None:
            return
        principal, workflow = found
        wait = self.limiter.retry_after(str(principal.user_id))
        if wait:
            body = error_body(GATEWAY_ERROR, f"Too many requests; retry in {wait} s.", "rate_limited")
            await respond_json(send, 429, body, [(b"retry-after", str(wait).encode()), *cors])
            return
        if scope["method"] != "POST":
            message = "This endpoint answers POST only (no event stream, no sessions)."
            await respond_json(send, 405, error_body(GATEWAY_ERROR, message, "method"), [(b"allow", b"POST"), *cors])
            return
        await self._post(principal, workflow, headers, receive, send, cors)

    async def _authorise(
        self, slug: str, headers: dict[bytes, bytes], send: Send, cors: list[tuple[bytes, bytes]]
    ) -> tuple[Principal, Workflow] | None:
        scheme, _, credential = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        credential = credential.strip()
        status, code, message = 401, "missing_token", "Send a personal access token as 'Authorization: Bearer <token>'."
        if scheme.lower() == "bearer" and credential.startswith(tokens.PAT_PREFIX):
            async with self.parts.db.session_scope() as session:
                try:
                    principal = await authenticate(session, self.parts.keys, credential)
                except AppError as exc:
                    principal, status, code, message = None, 401, exc.code, exc.message
                workflow = await WorkflowRepository(session).by_slug(slug)
            if principal is not None:
                visible = workflow is not None and workflow.published and workflow.owner_user_id == principal.user_id
                if not principal.has(TokenScope.INVOKE):
                    status, code = 403, "insufficient_scope"
                    message = "This token lacks the 'invoke' scope needed to call workflows."
                elif not visible or workflow is None:
                    status, code = 404, "not_found"
                    message = f"No published workflow '{slug}' of yours."
                else:
                    return principal, workflow
        elif scheme.lower() == "bearer" and credential:
            code = "invalid_token"
            message = "Workflows take a personal access token with the invoke scope (not a server's access key)."
        extra = list(cors)
        if status == 401:
            extra.append(
                (b"www-authenticate", f'Bearer error="invalid_token", scope="{TokenScope.INVOKE.value}"'.encode())
            )
        await respond_json(send, status, error_body(GATEWAY_ERROR, message, code), extra)
        return None

    async def _post(
        self,
        principal: Principal,
        workflow: Workflow,
        headers: dict[bytes, bytes],
        receive: Receive,
        send: Send,
        cors: list[tuple[bytes, bytes]],
    ) -> None:
        if acceptable(headers.get(b"accept")) == (False, False):
            refusal = "Answers are JSON: send Accept: application/json, text/event-stream."
            await respond_json(send, 406, error_body(GATEWAY_ERROR, refusal, "accept"), cors)
            return
        limit = self.parts.settings.gateway.max_message_bytes
        try:
            body = await read_body(receive, headers.get(b"content-length"), limit)
        except BodyTooLarge:
            refusal = f"The message is larger than {limit} bytes."
            await respond_json(send, 413, error_body(GATEWAY_ERROR, refusal, "too_large"), cors)
            return
        except Disconnected:
            return
        if not headers.get(b"content-type", b"").startswith(b"application/json"):
            refusal = "Send JSON-RPC with Content-Type: application/json."
            await respond_json(send, 415, error_body(GATEWAY_ERROR, refusal, "content_type"), cors)
            return
        try:
            message = parse(body)
            if not isinstance(message, dict):
                raise InvalidMessage("batches are not supported; send one message per request")
            kind = classify(message)
        except InvalidMessage as exc:
            await respond_json(send, 400, invalid_body(exc), cors)
            return
        if kind != "request":
            await respond(send, 202, b"", cors)  # notifications (initialized, cancelled) and responses
            return
        answer = await self._answer(principal, workflow, message)
        await respond_json(send, 200, answer, cors)

    async def _answer(self, principal: Principal, workflow: Workflow, message: dict[str, Any]) -> dict[str, Any]:
        method, request_id = message["method"], message["id"]
        given = message.get("params")
        params: dict[str, Any] = given if isinstance(given, dict) else {}
        if method == "initialize":
            asked = params.get("protocolVersion")
            version = asked if asked in SUPPORTED_PROTOCOL_VERSIONS else LATEST_VERSION
            result: dict[str, Any] = {
                "protocolVersion": version,
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": f"workflow-{workflow.slug}", "version": str(workflow.version)},
            }
            if workflow.description:
                result["instructions"] = workflow.description
            return result_response(request_id, result)
        if method == "ping":
            return result_response(request_id, {})
        if method == "tools/list":
            return result_response(request_id, {"tools": [tool_definition(workflow)]})
        if method == "tools/call":
            if params.get("name") != workflow.slug:
                error = JsonRpcError(
                    INVALID_PARAMS, f"Unknown tool: {params.get('name')}; this endpoint has '{workflow.slug}'."
                )
                return error_response(request_id, error)
            arguments = params.get("arguments") or {}
            if type(arguments) is not dict:
                return error_response(request_id, JsonRpcError(INVALID_PARAMS, "arguments must be an object"))
            return result_response(request_id, await self._call(principal, workflow, arguments))
        return error_response(request_id, JsonRpcError(METHOD_NOT_FOUND, f"Method not found: {method}"))

    async def _call(self, principal: Principal, workflow: Workflow, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run the workflow and wait for it: its output as the tool's result, or an error result with the reason."""
        settings = self.parts.settings.workflows
        try:
            async with self.parts.db.session_scope() as session:
                fresh = await WorkflowRepository(session).get(workflow.id)
                if fresh is None:
                    return _error_result("The workflow was deleted.")
                run = await service.start_run(session, settings, principal, fresh.id, arguments, "mcp", workflow=fresh)
                run_id = run.id
        except AppError as exc:
            return _error_result(exc.message)
        return await self._wait(run_id, settings.mcp_call_timeout_seconds)

    async def _wait(self, run_id: uuid.UUID, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109 (a deadline of ours)
        deadline, delay = time.monotonic() + timeout, 0.05
        while time.monotonic() < deadline:
            async with self.parts.db.session_scope() as session:
                run = await RunRepository(session).get(run_id)
            if run is None:
                return _error_result("The run was removed (its workflow was deleted).")
            if run.status.finished:
                if run.status.value == "succeeded":
                    return _success_result(run.output)
                return _error_result(
                    f"The workflow {run.status.value}: {run.error or 'no reason recorded'} (run {run.id})."
                )
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.5)
        return _error_result(
            f"The workflow is still running after {timeout:g} s; its result will be in run {run_id} "
            "(GET /api/workflows/{id}/runs/{run_id})."
        )


def tool_definition(workflow: Workflow) -> dict[str, Any]:
    schema = dict(workflow.input_schema)
    schema.setdefault("type", "object")
    return {
        "name": workflow.slug,
        "title": workflow.name,
        "description": workflow.description or f"Runs the workflow '{workflow.name}' ({len(workflow.steps)} steps).",
        "inputSchema": schema,
    }


def _success_result(output: Any) -> dict[str, Any]:
    text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": False}
    if isinstance(output, dict):
        result["structuredContent"] = output
    return result


def _error_result(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}
