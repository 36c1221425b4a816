"""The deploy forms of the console: reading what was typed, turning validation errors into a message per field,
and the choices every deploy form offers (organisation, isolation, resources).

Typed values are kept for the re-rendered form, except secrets: a password field is never filled back in.
"""

from __future__ import annotations

import shlex
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from mcphost.accounts.principal import Principal
from mcphost.models import Isolation, OrgRole, Server
from mcphost.orgs.repository import OrgRepository
from mcphost.ui.forms import form_text

ISOLATIONS = [
    (Isolation.SHARED.value, "Shared: one instance serves every client"),
    (Isolation.PER_USER.value, "Per user: one instance for each user"),
    (Isolation.PER_SESSION.value, "Per session: one instance for each client session"),
]
FIELD_LABELS = {
    "name": "Server name",
    "identifier": "Package name",
    "version": "Version",
    "args": "Arguments",
    "command": "Command",
    "image": "Image",
    "url": "Repository URL",
    "ref": "Branch, tag or commit",
    "subdir": "Folder",
    "dockerfile": "Dockerfile",
    "token": "Access token",
    "transport": "Transport",
    "port": "Port",
    "env": "Environment variables",
    "org_id": "Organisation",
    "isolation": "Isolation",
    "cpu_limit": "CPU limit",
    "memory_limit": "Memory limit",
    "gpu": "GPUs",
    "source": "Source",
}
_PATTERN_HINTS = {
    "identifier": "is not a valid package name; use letters, digits, '.', '_' and '-' (npm names may be scoped: "
    "@scope/name)",
    "version": "is not one exact version; enter e.g. 1.2.3, or leave it empty for the newest",
    "ref": "is not a branch, tag or commit; use letters, digits, '.', '_', '/' and '-'",
    "url": "is not a repository address such as https://github.com/owner/repo",
    "subdir": "is not a folder of the repository; use letters, digits, '.', '_', '/' and '-'",
    "dockerfile": "is not a path in the repository; use letters, digits, '.', '_', '/' and '-'",
}
_SOURCE_KINDS = frozenset({"catalog", "package", "command", "image", "git"})


@dataclass
class FormState:
    """What the form shows: the typed values, the environment rows, and what to fix."""

    values: dict[str, str] = field(default_factory=dict)
    env_rows: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def fail(self, message: str, errors: dict[str, str] | None = None) -> FormState:
        self.error, self.errors = message, errors or {}
        return self


def env_rows(form: FormData) -> tuple[dict[str, str], dict[str, str], list[dict[str, Any]]]:
    """The environment rows of a form: clear values, secret values, and the rows to show again (secrets blank)."""
    names, values, kinds = form.getlist("env_name"), form.getlist("env_value"), form.getlist("env_secret")
    env: dict[str, str] = {}
    secret_env: dict[str, str] = {}
    shown: list[dict[str, Any]] = []
    for index, raw_name in enumerate(names):
        name = str(raw_name).strip()
        value = str(values[index]) if index < len(values) else ""
        secret = index < len(kinds) and kinds[index] == "secret"
        if not name and not value:
            continue
        (secret_env if secret else env)[name] = value
        shown.append({"name": name, "value": "" if secret else value, "secret": secret})
    return env, secret_env, shown


def placement(form: FormData, state: FormState) -> dict[str, Any]:
    """Organisation, isolation and resources as ServerCreate fields; unreadable values become field errors."""
    payload: dict[str, Any] = {}
    for name in ("org_id", "isolation", "cpu_limit", "memory_limit", "gpu"):
        state.values[name] = form_text(form, name)
    if state.values["org_id"]:
        try:
            payload["org_id"] = uuid.UUID(state.values["org_id"])
        except ValueError:
            state.errors["org_id"] = "Choose one of the organisations in the list."
    if state.values["isolation"]:
        payload["isolation"] = state.values["isolation"]
    resources: dict[str, Any] = {}
    if state.values["cpu_limit"]:
        try:
            resources["cpu_limit"] = float(state.values["cpu_limit"])
        except ValueError:
            state.errors["cpu_limit"] = "Enter a number of CPU cores, such as 0.5 or 2."
    if state.values["memory_limit"]:
        resources["memory_limit"] = state.values["memory_limit"]
    if state.values["gpu"]:
        if state.values["gpu"].isdigit():
            resources["gpu"] = int(state.values["gpu"])
        else:
            state.errors["gpu"] = "Enter a whole number of GPUs, such as 0 or 1."
    if resources:
        payload["resources"] = resources
    return payload


def command_line(line: str, state: FormState) -> list[str]:
    """A command typed as a shell would split it (quotes group words); no shell ever runs it."""
    try:
        return shlex.split(line)
    except ValueError as exc:
        state.errors["command"] = f"Check the quotes of the command: {exc}."
        return []


def field_errors(exc: ValidationError, *, input_prefix: str = "") -> dict[str, str]:
    """One message per form field from a ServerCreate validation error."""
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        name = _field_of(loc, message)
        if error["type"] == "string_pattern_mismatch" and name in _PATTERN_HINTS:
            message = f"“{error['input']}” {_PATTERN_HINTS[name]}"
        if name in ("env", "secret_env") and input_prefix:
            name = "env"
        found.setdefault(name, f"{FIELD_LABELS.get(name, name)}: {message}")
    return found


def _field_of(loc: list[str], message: str) -> str:
    if loc and loc[0] == "source":
        loc = [part for part in loc[1:] if part not in _SOURCE_KINDS]
        if not loc:
            if "version" in message:
                return "version"
            if "package name" in message:
                return "identifier"
            return "command" if "program" in message or "loopback" in message else "source"
    if loc and loc[0] == "resources":
        return loc[1] if len(loc) > 1 else "resources"
    if loc and loc[0] == "secret_env":
        return "env"
    return loc[0] if loc else "source"


def summary(errors: dict[str, str]) -> str:
    names = ", ".join(FIELD_LABELS.get(name, name.removeprefix("in_")) for name in errors)
    return f"Please correct: {names}."


async def deploy_targets(session: AsyncSession, principal: Principal) -> list[tuple[str, str]]:
    """Organisations the user may deploy into (member role or more; administrators: all), as (id, name)."""
    rows = await OrgRepository(session).visible_to(principal.user_id, everything=principal.is_admin)
    return [
        (str(org.id), org.name)
        for org, role in rows
        if principal.is_admin or (role is not None and role.at_least(OrgRole.MEMBER))
    ]


def source_summary(source: dict[str, Any]) -> str:
    """One line saying where a server comes from."""
    kind = source.get("type")
    if kind == "catalog":
        return f"catalog: {source.get('name')} {source.get('version') or ''}".rstrip()
    if kind == "package":
        joiner = "==" if source.get("registry_type") == "pypi" else "@"
        version = f"{joiner}{source['version']}" if source.get("version") else ""
        return f"{source.get('registry_type')}: {source.get('identifier')}{version}"
    if kind == "command":
        return "command: " + shlex.join(source.get("command") or [])
    if kind == "image":
        return f"image: {source.get('image')}"
    if kind == "git":
        ref = f" ({source['ref']})" if source.get("ref") else ""
        return f"git: {source.get('url')}{ref}"
    return str(kind)


def gpus(server: Server) -> int:
    return int((server.resources or {}).get("gpu") or 0)
