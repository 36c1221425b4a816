"""Assembling what a server is started with: the runtime source, its environment (plain variables, CFG_ config
and decrypted secrets, nothing of the platform's own), its arguments and its data directory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mcphost.models import Server
from mcphost.runtimes.base import Artifact, LaunchSpec, Limits
from mcphost.security.keys import KeyRing
from mcphost.servers.source_secrets import opened

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def runtime_source(server: Server, keys: KeyRing | None = None) -> dict[str, Any]:
    """What the runtime prepares: a catalog entry's package, or the source as given (its credentials decrypted with
    ``keys``; left out without them)."""
    source = dict(server.source)
    if source["type"] == "catalog":
        return dict(source["package"])
    return opened(source, server.id, keys)


def environment(server: Server, secrets: dict[str, str]) -> dict[str, str]:
    """Plain variables, ``CFG_*`` from the config, and the secret values (read from the secret store)."""
    env = {name: str(value) for name, value in server.env.items()}
    for key, value in server.config.items():
        env[f"CFG_{key.upper()}"] = _config_text(value)
    env.update(secrets)
    return env


def _config_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def substitute(argument: str, variables: dict[str, str]) -> str:
    """Fill ``{NAME}`` placeholders of catalog arguments; unknown names stay as they are."""
    return _PLACEHOLDER.sub(lambda match: variables.get(match.group(1), match.group(0)), argument)


def data_dir(home: Path, server: Server) -> Path:
    return home / "servers" / str(server.id) / "data"


def launch_spec(
    server: Server, artifact: Artifact, secrets: dict[str, str], home: Path, instance_key: str
) -> LaunchSpec:
    env = environment(server, secrets)
    argv = tuple(substitute(argument, env) for argument in artifact.argv)
    resources = server.resources or {}
    limits = Limits(
        cpu=resources.get("cpu_limit"),
        memory_mib=resources.get("memory_limit"),
        gpu=int(resources.get("gpu") or 0),
        network="none" if server.network == "none" else "default",
    )
    return LaunchSpec(
        server_id=server.id,
        slug=server.slug,
        instance_key=instance_key,
        artifact=Artifact(
            argv=argv,
            transport=artifact.transport,
            url=artifact.url,
            image=artifact.image,
            mounts=artifact.mounts,
            details=artifact.details,
        ),
        env=env,
        data_dir=data_dir(home, server),
        limits=limits,
    )
