"""The settings tab of a server: environment, config, secrets (by name only), resources, isolation and network.

Saved through ``servers.service.update_server`` with the API's ``ServerUpdate`` schema; only what changed is sent,
so saving an untouched form does not restart the server. A changed configuration restarts a running server at once
(the lifecycle layer replaces instances of an older generation). Secret values are write-only: the page shows
their names, and a password field replaces a value.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.errors import ValidationFailed
from mcphost.models import DesiredState, Isolation, Server
from mcphost.servers import service
from mcphost.servers.schemas import Resources, ServerUpdate
from mcphost.ui.forms import form_text
from mcphost.ui.routing import ConsoleRoute, ConsoleUser
from mcphost.ui.templating import render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SECRET_PREFIX = "secret:"  # noqa: S105 - a form field prefix, not a password
FIELD_LABELS = {
    "env": "Environment variables",
    "config": "Config",
    "secret_env": "Secrets",
    "resources": "Resources",
    "cpu_limit": "CPU cores",
    "memory_limit": "Memory",
    "gpu": "GPUs",
    "isolation": "Isolation",
    "network": "Network",
}
ISOLATIONS = (
    (Isolation.SHARED, "Shared: one instance serves every client"),
    (Isolation.PER_USER, "Per user: one instance for each user"),
    (Isolation.PER_SESSION, "Per session: one instance for each MCP session"),
)


def _env(form: FormData) -> dict[str, str]:
    names, values = form.getlist("env_name"), form.getlist("env_value")
    env: dict[str, str] = {}
    for row, (name, value) in enumerate(zip(names, values, strict=False), start=1):
        name, value = str(name).strip(), str(value)
        if not name:
            if value:
                raise ValidationFailed(f"Environment variables: row {row} has a value but no name.")
            continue
        if name in env:
            raise ValidationFailed(f"Environment variables: {name} appears twice; keep one row.")
        env[name] = value
    return env


def _config(form: FormData) -> dict[str, Any]:
    text = form_text(form, "config")
    if not text:
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"Config: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
        ) from None
    if not isinstance(config, dict):
        raise ValidationFailed('Config: enter a JSON object, such as {"region": "eu"}.')
    return config


def _secrets(form: FormData, server: Server) -> dict[str, str | None]:
    changes: dict[str, str | None] = {}
    removed = {str(name) for name in form.getlist("remove_secret")}
    for name in server.secret_env:
        value = form.get(SECRET_PREFIX + name)
        if name in removed:
            changes[name] = None
        elif isinstance(value, str) and value:
            changes[name] = value
    new_name, new_value = form_text(form, "new_secret_name"), form.get("new_secret_value")
    if new_name or new_value:
        if not new_name or not isinstance(new_value, str) or not new_value:
            raise ValidationFailed("Secrets: a new secret needs both a name and a value.")
        changes[new_name] = new_value
    return changes


def _changes(form: FormData, server: Server) -> dict[str, Any]:
    """The submitted settings that differ from the server's, as ``ServerUpdate`` input."""
    resources = {
        "cpu_limit": form_text(form, "cpu_limit") or None,
        "memory_limit": form_text(form, "memory_limit") or None,
        "gpu": form_text(form, "gpu") or 0,
    }
    submitted: dict[str, Any] = {
        "env": _env(form),
        "config": _config(form),
        "resources": resources,
        "isolation": form_text(form, "isolation") or server.isolation.value,
        "network": form_text(form, "network") or server.network,
    }
    try:
        parsed = ServerUpdate.model_validate(submitted)
    except ValidationError as exc:
        raise ValidationFailed(_problem(exc)) from None
    changes: dict[str, Any] = {}
    if parsed.env != server.env:
        changes["env"] = submitted["env"]
    if parsed.config != server.config:
        changes["config"] = submitted["config"]
    if parsed.resources != Resources.model_validate(server.resources):
        changes["resources"] = resources
    if parsed.isolation is not server.isolation:
        changes["isolation"] = submitted["isolation"]
    if parsed.network != server.network:
        changes["network"] = submitted["network"]
    secrets = _secrets(form, server)
    if secrets:
        changes["secret_env"] = secrets
    return changes


def _problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = [str(part) for part in error["loc"] if str(part) in FIELD_LABELS]
    label = FIELD_LABELS[where[-1]] if where else "Settings"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{label}: {message}."


def _context(server: Server, may_modify: bool, saved: str | None = None) -> dict[str, Any]:
    return {
        "server": server,
        "tab": "settings",
        "may_modify": may_modify,
        "saved": saved,
        "env_rows": sorted(server.env.items()),
        "config_text": json.dumps(server.config, indent=2) if server.config else "",
        "secret_names": sorted(server.secret_env),
        "resources": Resources.model_validate(server.resources),
        "isolations": ISOLATIONS,
        "secret_prefix": SECRET_PREFIX,
    }


@router.get("/servers/{server_id}/settings")
async def settings_page(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep
) -> Response:
    server = await service.get_visible(session, principal, server_id)
    may_modify = await service.may_modify(session, principal, server)
    return render(request, "server/settings.html", _context(server, may_modify))


@router.post("/servers/{server_id}/settings")
async def save_settings(
    request: Request, server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    server = await service.get_modifiable(session, principal, server_id)
    changes = _changes(await request.form(), server)
    if not changes:
        return render(request, "server/settings_form.html", _context(server, True, "Nothing changed."))
    try:
        update = ServerUpdate.model_validate(changes)
    except ValidationError as exc:
        raise ValidationFailed(_problem(exc)) from None
    server = await service.update_server(session, platform, principal, server_id, update)
    if server.desired_state is DesiredState.RUNNING:
        saved = "Saved. The server restarts now with the new settings."
    else:
        saved = "Saved. The new settings apply when the server starts."
    return render(request, "server/settings_form.html", _context(server, True, saved))
