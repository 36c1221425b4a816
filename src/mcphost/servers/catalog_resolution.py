"""Turning a catalog entry into something a runtime can run.

The entry's first PyPI or npm package with the stdio transport is chosen. Its arguments are kept as templates
(``{REDIS_URL}``) and filled in only at launch, so a secret used in an argument is never stored in clear.
Missing required inputs are refused by name; inputs the entry marks secret always go to ``secret_env``. Inputs the
entry marks per-user (``_meta`` ``org.mcphost/per-user-inputs``) are not asked of the deployer: each user of the
server supplies their own (``per_user_env``), unless the deployment says otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcphost.catalog.server_json import Argument, KeyValueInput, NamedArgument, Package, ServerJson
from mcphost.errors import Conflict, ValidationFailed

RUNNABLE_REGISTRIES = ("pypi", "npm")


@dataclass
class ResolvedCatalog:
    source: dict[str, Any]
    env: dict[str, str]
    secret_env: dict[str, str]
    #: The variables each user supplies for themselves.
    per_user_env: list[str]


def choose_package(server: ServerJson) -> Package:
    for package in server.packages or []:
        if package.registry_type in RUNNABLE_REGISTRIES and package.transport.type == "stdio":
            return package
    kinds = ", ".join(sorted({p.registry_type for p in server.packages or []})) or "remote endpoints only"
    raise Conflict(
        f"{server.name} offers no PyPI or npm package with the stdio transport ({kinds}); no configured "
        "runtime can run it.",
        code="runtime_unavailable",
    )


def _argument_template(argument: Argument) -> list[str]:
    value = argument.value if argument.value is not None else argument.default
    if isinstance(argument, NamedArgument):
        if value is None:
            return [argument.name] if argument.format == "boolean" else []
        return [argument.name, value]
    return [value] if value is not None else []


def resolve(
    server: ServerJson,
    *,
    name_version: str,
    env: dict[str, str],
    secret_env: dict[str, str],
    per_user_env: list[str] | None = None,
) -> ResolvedCatalog:
    """The source to store and the environment (with the entry's defaults) split into clear and secret parts;
    ``per_user_env`` (default: the entry's per-user inputs) names the variables each user supplies."""
    package = choose_package(server)
    variables: list[KeyValueInput] = list(package.environment_variables or [])
    per_user = list(server.per_user_inputs() if per_user_env is None else per_user_env)
    env, secret_env = dict(env), dict(secret_env)
    for variable in variables:
        if variable.is_secret and variable.name in env:
            secret_env[variable.name] = env.pop(variable.name)
    given = env.keys() | secret_env.keys() | set(per_user)
    missing = [v.name for v in package.required_env() if v.name not in given]
    if missing:
        raise ValidationFailed(
            f"{server.name} needs {', '.join(missing)}; pass "
            + ("them" if len(missing) > 1 else "it")
            + " in env (or secret_env for secrets).",
            code="missing_input",
            details=[
                {
                    "loc": ["body", "secret_env" if _is_secret(variables, name) else "env", name],
                    "msg": "required by the catalog entry",
                }
                for name in missing
            ],
        )
    defaults = {v.name: v.default for v in variables if v.default is not None and v.name not in given}
    env = defaults | env
    args: list[str] = []
    for argument in [*(package.package_arguments or [])]:
        args.extend(_argument_template(argument))
    source = {
        "type": "catalog",
        "name": server.name,
        "version": name_version,
        "package": {
            "type": "package",
            "registry_type": package.registry_type,
            "identifier": package.identifier,
            "version": package.version,
            "args": args,
        },
    }
    return ResolvedCatalog(source=source, env=env, secret_env=secret_env, per_user_env=per_user)


def _is_secret(variables: list[KeyValueInput], name: str) -> bool:
    return any(variable.name == name and variable.is_secret for variable in variables)
