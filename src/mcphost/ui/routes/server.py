"""Console pages of one server: overview (endpoint, client set-up, facts, history), tools (with "try it" forms),
access keys and settings (``server_settings``).

"Try it" calls the tool through ``gateway.invoke.invoke_server``, the path ``POST /api/servers/{id}/invoke`` takes,
so the call is relayed like any client's and traced as an invocation.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.errors import AppError, ValidationFailed
from mcphost.gateway.invoke import invoke_server
from mcphost.gateway.withheld import withheld_for
from mcphost.models import Server, ServerStatus
from mcphost.servers import keys, service, usage
from mcphost.servers.client_config import KEY_PLACEHOLDER, ClientSnippet, client_config
from mcphost.servers.permissions import may_own
from mcphost.servers.schemas import AccessKeyCreate, ServerUpdate, ToolRules
from mcphost.servers.views import endpoint_url
from mcphost.ui.routing import ConsoleRoute, ConsoleUser
from mcphost.ui.templating import render
from mcphost.ui.tool_forms import FieldProblem, arguments_from, fields_for

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

#: Lifecycle events shown on the overview (the Metrics tab lists them all).
HISTORY_LIMIT = 25
CLIENTS = (
    ("claude_code", "Claude Code"),
    ("claude_desktop", "Claude Desktop"),
    ("vscode", "VS Code"),
    ("cursor", "Cursor"),
    ("python_sdk", "Python SDK"),
)
_IMAGE_TYPE = re.compile(r"^image/[a-z0-9.+-]+$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")


def _snippet_text(snippet: ClientSnippet) -> str:
    return json.dumps(snippet.content, indent=2) if isinstance(snippet.content, dict) else snippet.content


def describe_source(source: dict[str, Any]) -> str:
    kind = source.get("type")
    version = f" {source['version']}" if source.get("version") else ""
    if kind == "package":
        return f"{source.get('registry_type')} package {source.get('identifier')}{version}"
    if kind == "catalog":
        return f"catalog entry {source.get('name')}{version}"
    if kind == "command":
        return "command: " + " ".join(str(part) for part in source.get("command", []))
    if kind == "image":
        return f"image {source.get('image')}"
    if kind == "git":
        ref = f" ({source['ref']})" if source.get("ref") else ""
        return f"git {source.get('url')}{ref}"
    return str(kind)


@router.get("/servers/{server_id}")
async def overview(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    server = await service.get_visible(session, principal, server_id)
    public_url = platform.settings.effective_public_url
    config = client_config(public_url, server.id, server.slug)
    snippets = [(key, label, getattr(config.clients, key)) for key, label in CLIENTS]
    context = {
        "server": server,
        "tab": "overview",
        "endpoint": endpoint_url(public_url, server.slug),
        "snippets": [(key, label, snippet, _snippet_text(snippet)) for key, label, snippet in snippets],
        "placeholder": KEY_PLACEHOLDER,
        "source": describe_source(server.source),
        "history": await usage.recent(session, server.id, None, HISTORY_LIMIT),
    }
    return render(request, "server/overview.html", context)


@router.get("/servers/{server_id}/history")
async def history(request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    """The overview's status history alone, for the page to show a new lifecycle event live."""
    server = await service.get_visible(session, principal, server_id)
    context = {"server": server, "history": await usage.recent(session, server.id, None, HISTORY_LIMIT)}
    return render(request, "server/partials/history.html", context)


def _tools(server: Server) -> list[dict[str, Any]]:
    return [tool for tool in (server.capabilities or {}).get("tools", []) if isinstance(tool, dict)]


@router.get("/servers/{server_id}/tools")
async def tools(request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    server = await service.get_visible(session, principal, server_id)
    capabilities = server.capabilities or {}
    context = {
        "server": server,
        "tab": "tools",
        "synced": server.capabilities is not None,
        "running": server.status is ServerStatus.RUNNING,
        "tools": [(tool, fields_for(tool.get("inputSchema"))) for tool in _tools(server)],
        "resources": capabilities.get("resources", []),
        "resource_templates": capabilities.get("resource_templates", []),
        "prompts": capabilities.get("prompts", []),
        "may_invoke": await service.may_invoke(session, principal, server),
        "may_decide": await may_own(session, principal, server),
    }
    return render(request, "server/tools.html", context)


@router.post("/servers/{server_id}/tools/access")
async def tool_access(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    """Change who may see and call one tool (owners and organisation admins), through the servers service."""
    form = await request.form()
    name, access, index = str(form.get("tool") or ""), str(form.get("access") or ""), str(form.get("index") or "0")
    server = await service.get_visible(session, principal, server_id)
    tool = next((tool for tool in _tools(server) if tool.get("name") == name), None)
    if tool is None or access not in ("everyone", "member", "admin", "owner", "disabled") or not index.isdigit():
        raise ValidationFailed("Choose one of the server's tools and who may use it; reload the page.")
    rules = ToolRules.model_validate(server.tool_rules or {})
    disabled = [other for other in rules.disabled if other != name] + ([name] if access == "disabled" else [])
    min_role = {other: role for other, role in rules.min_role.items() if other != name}
    if access in ("member", "admin", "owner"):
        min_role[name] = access  # type: ignore[assignment]
    changes = ServerUpdate(tool_rules=ToolRules(disabled=disabled, min_role=min_role))
    server = await service.update_server(session, platform, principal, server_id, changes)
    context = {"server": server, "tool": tool, "t": int(index), "may_decide": True, "saved": True}
    return render(request, "server/tool_access.html", context)


def result_parts(result: dict[str, Any]) -> list[dict[str, Any]]:
    """What to show of a tools/call result: text (pretty JSON when it is JSON), images, resources."""
    parts: list[dict[str, Any]] = []
    for item in result.get("content") or []:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "text":
            text = str(item.get("text", ""))
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict | list):
                parts.append({"kind": "json", "text": json.dumps(parsed, indent=2)})
            else:
                parts.append({"kind": "text", "text": text})
        elif (
            kind == "image"
            and _IMAGE_TYPE.match(str(item.get("mimeType", "")))
            and _BASE64.match(str(item.get("data", "")))
        ):
            parts.append(
                {"kind": "image", "src": f"data:{item['mimeType']};base64,{''.join(str(item['data']).split())}"}
            )
        else:
            parts.append({"kind": "json", "text": json.dumps(item, indent=2)})
    if result.get("structuredContent") is not None:
        parts.append({"kind": "structured", "text": json.dumps(result["structuredContent"], indent=2)})
    return parts


def _call_problem(request: Request, message: str, status_code: int) -> Response:
    return render(request, "server/tool_result.html", {"problem": message}, status_code=status_code)


@router.post("/servers/{server_id}/tools/call")
async def call_tool(request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    server = await service.get_invocable(session, principal, server_id)
    form = await request.form()
    name = str(form.get("tool") or "")
    tool = next((tool for tool in _tools(server) if tool.get("name") == name), None)
    if tool is None:
        return _call_problem(request, f"The server has no tool named {name!r}; reload the page for its tools.", 404)
    try:
        arguments = arguments_from(fields_for(tool.get("inputSchema")), form)
    except FieldProblem as exc:
        return _call_problem(request, f"{exc.name}: {exc.message}.", 422)
    withheld = await withheld_for(session, server, principal.user, admin=principal.is_admin)
    await session.commit()  # nothing to write: end the transaction before waiting on the server
    try:
        answer = await invoke_server(
            request.app.state.gateway, server, principal, withheld, "tools/call", {"name": name, "arguments": arguments}
        )
    except AppError as exc:
        message = exc.message
        if exc.code == "server_not_running":
            message = (
                f"{server.name} is not running, so its tools cannot be called. Start it and try again. ({message})"
            )
        return _call_problem(request, message, exc.status_code)
    context = {
        "tool": name,
        "answer": answer,
        "parts": result_parts(answer.result or {}),
        "is_error": bool((answer.result or {}).get("isError")),
    }
    return render(request, "server/tool_result.html", context)


async def _keys_context(session: SessionDep, principal: ConsoleUser, server: Server) -> dict[str, Any]:
    return {
        "server": server,
        "tab": "keys",
        "keys": await keys.list_keys(session, server),
        "may_modify": await service.may_modify(session, principal, server),
    }


@router.get("/servers/{server_id}/keys")
async def keys_page(request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    server = await service.get_visible(session, principal, server_id)
    return render(request, "server/keys.html", await _keys_context(session, principal, server))


@router.post("/servers/{server_id}/keys")
async def create_key(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    form = await request.form()
    try:
        body = AccessKeyCreate(name=str(form.get("name") or "").strip() or "default")
    except ValidationError as exc:
        raise ValidationFailed(f"Key name: {exc.errors()[0]['msg']}.") from None
    server = await service.get_modifiable(session, principal, server_id)
    key, secret = await keys.add_key(session, platform.keys, server, body.name, principal.user_id)
    command = client_config(platform.settings.effective_public_url, server.id, server.slug).clients.claude_code
    context = await _keys_context(session, principal, server)
    context |= {"created": key, "secret": secret, "command": str(command.content).replace(KEY_PLACEHOLDER, secret)}
    return render(request, "server/key_created.html", context)


@router.post("/servers/{server_id}/keys/{key_id}/revoke")
async def revoke_key(
    request: Request,
    server_id: uuid.UUID,
    key_id: uuid.UUID,
    principal: ConsoleUser,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    server = await service.get_modifiable(session, principal, server_id)
    await keys.revoke_key(session, platform.keys, server, str(key_id))
    return render(request, "server/keys_table.html", await _keys_context(session, principal, server))
