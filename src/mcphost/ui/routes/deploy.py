"""Deploying from the console: the /servers/new forms (package, command, image, git) and the page a new server
is shown on (its access key once, its endpoint, and its progress from pending to running, live).

The access key exists only in the response to the deploy form: it is never stored in clear, put in an address
or shown again; /servers/{id}/deployed (where the page's address points afterwards) shows the progress only.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from mcphost.accounts.principal import Principal
from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.errors import AppError
from mcphost.models import Server
from mcphost.platform import Platform
from mcphost.servers import service
from mcphost.servers.schemas import ServerCreate
from mcphost.servers.views import endpoint_url
from mcphost.ui.forms import form_text
from mcphost.ui.routes.deploy_forms import (
    ISOLATIONS,
    FormState,
    command_line,
    deploy_targets,
    env_rows,
    field_errors,
    placement,
    summary,
)
from mcphost.ui.routing import ConsoleRoute, ConsoleUser
from mcphost.ui.templating import render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
KINDS = [("package", "Package"), ("command", "Command"), ("image", "Image"), ("git", "Git")]
STEPS = [
    ("pending", "Queued"),
    ("installing", "Installing the package"),
    ("starting", "Starting the server"),
    ("running", "Running"),
]
#: A git source is built instead of installed (pushed when a registry is configured).
BUILD_STEPS = [
    ("pending", "Queued"),
    ("cloning", "Cloning the repository"),
    ("building", "Building the image"),
    ("pushing", "Pushing the image"),
    ("starting", "Starting the server"),
    ("running", "Running"),
]
Again = Callable[[FormState, int], Awaitable[Response]]


def unavailable(platform: Platform, principal: Principal) -> dict[str, str | None]:
    """Why each kind of source cannot be deployed by this user here (None: it can)."""
    reasons = {kind: service.unavailable_reason(platform, kind) for kind, _ in KINDS}
    if not (principal.is_admin or platform.settings.runtime.allow_user_commands):
        reasons["command"] = (
            "Only administrators can deploy commands (arbitrary programs) on this instance; deploy a package "
            "or a catalog entry instead."
        )
    return reasons


async def deploy(
    request: Request,
    session: AsyncSession,
    platform: Platform,
    principal: Principal,
    payload: dict[str, Any],
    state: FormState,
    again: Again,
) -> Response:
    """Create the server the way the API does; on a problem, show the form again with what to fix."""
    body: ServerCreate | None = None
    try:
        body = ServerCreate.model_validate(payload)
    except ValidationError as exc:
        state.errors = field_errors(exc) | state.errors
    if state.errors or body is None:
        return await again(state.fail(summary(state.errors), state.errors), 422)
    try:
        # The webhook secret is not shown here: the Revisions tab makes (rotates) one when the user wants it.
        server, key, _ = await service.create_server(session, platform, principal, body)
    except AppError as exc:
        await session.rollback()
        await session.refresh(principal.user)  # the page header shows who is signed in
        return await again(
            state.fail(exc.message, _input_errors(exc)), 422 if exc.status_code == 400 else exc.status_code
        )
    return deployed_page(request, platform, server, key)


def _input_errors(exc: AppError) -> dict[str, str]:
    """Catalog inputs the service named (``loc`` = body, env|secret_env, NAME) as form fields."""
    found: dict[str, str] = {}
    for detail in exc.details if isinstance(exc.details, list) else []:
        loc = detail.get("loc") if isinstance(detail, dict) else None
        if isinstance(loc, list) and len(loc) == 3 and loc[1] in ("env", "secret_env"):
            found[f"in_{loc[2]}"] = f"{loc[2]}: {detail.get('msg', 'required')}."
    return found


def _steps(platform: Platform, server: Server) -> list[tuple[str, str]]:
    if server.source.get("type") != "git":
        return STEPS
    pushes = platform.settings.builds.registry.host is not None
    return [step for step in BUILD_STEPS if pushes or step[0] != "pushing"]


def deployed_page(request: Request, platform: Platform, server: Server, key: str | None) -> Response:
    context = {
        "server": server,
        "key": key,
        "endpoint": endpoint_url(platform.settings.effective_public_url, server.slug),
        "steps": _steps(platform, server),
    }
    response = render(request, "deploy/deployed.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _new_page(
    request: Request,
    session: AsyncSession,
    platform: Platform,
    principal: Principal,
    kind: str,
    state: FormState,
    status_code: int = 200,
) -> Response:
    context = {
        "kinds": KINDS,
        "kind": kind,
        "reasons": unavailable(platform, principal),
        "orgs": await deploy_targets(session, principal),
        "isolations": ISOLATIONS,
        "form": state,
    }
    return render(request, "deploy/new.html", context, status_code=status_code)


@router.get("/servers/new")
async def new_server(
    request: Request, principal: ConsoleUser, session: SessionDep, platform: PlatformDep, kind: str = "package"
) -> Response:
    kind = kind if kind in dict(KINDS) else "package"
    return await _new_page(request, session, platform, principal, kind, FormState(values={"registry_type": "pypi"}))


@router.post("/servers/new")
async def create_server(
    request: Request, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    form = await request.form()
    kind = form_text(form, "kind")
    kind = kind if kind in dict(KINDS) else "package"
    state = FormState()

    async def again(shown: FormState, status_code: int) -> Response:
        return await _new_page(request, session, platform, principal, kind, shown, status_code)

    reason = unavailable(platform, principal)[kind]
    if reason:
        return await again(state.fail(reason), 403 if kind == "command" else 409)
    state.values["name"] = form_text(form, "name")
    payload: dict[str, Any] = {"name": state.values["name"], **placement(form, state)}
    env, secret_env, state.env_rows = env_rows(form)
    for name in _SOURCE_FIELDS:
        state.values[name] = form_text(form, name)
    state.values["args"] = str(form.get("args") or "")
    values = state.values
    source: dict[str, Any]
    if kind == "package":
        args = [line.strip() for line in values["args"].splitlines() if line.strip()]
        source = {
            "type": "package",
            "registry_type": values["registry_type"] or "pypi",
            "identifier": values["identifier"],
            "version": values["version"] or None,
            "args": args,
        }
    elif kind == "command":
        source = {"type": "command", "command": command_line(values["command"], state)}
        if not source["command"]:
            state.errors.setdefault("command", "Command: enter the program to run and its arguments.")
    elif kind == "image":
        source = {"type": "image", "image": values["image"], **_container_fields(values, state)}
    else:
        git = {name: values[name] or None for name in ("url", "ref", "subdir", "dockerfile", "token")}
        source = {"type": "git", **git, **_container_fields(values, state)}
    payload |= {"source": source, "env": env or None, "secret_env": secret_env or None}
    return await deploy(request, session, platform, principal, payload, state, again)


_SOURCE_FIELDS = (
    *("registry_type", "identifier", "version", "command", "image"),
    *("url", "ref", "subdir", "dockerfile", "token", "transport", "port"),
)


def _container_fields(values: dict[str, str], state: FormState) -> dict[str, Any]:
    """The transport and port of an image or git source (a port that is not a number is the form's error)."""
    fields: dict[str, Any] = {"transport": values["transport"] or "stdio"}
    if values["port"]:
        if not values["port"].isdigit():
            state.errors.setdefault("port", "Port: enter the number of the port the server listens on.")
        else:
            fields["port"] = int(values["port"])
    return fields


@router.get("/servers/{server_id}/deployed")
async def deployed(
    server_id: uuid.UUID, request: Request, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    server = await service.get_visible(session, principal, server_id)
    return deployed_page(request, platform, server, None)
