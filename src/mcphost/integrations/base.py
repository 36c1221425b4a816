"""The interface of a provisioner: one per kind of store, keyed by kind. Each makes, re-keys and drops what one
server gets there, and says which variables give it to the server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mcphost.errors import ServiceUnavailable


class ProvisionFailed(ServiceUnavailable):
    """The store refused or did not answer; what was half made is undone."""

    code = "service_provisioning_failed"


@dataclass(frozen=True)
class Provisioned:
    resource: str
    username: str
    env: dict[str, str]


class Provisioner(Protocol):
    kind: str
    #: The variables it gives a server (shown by the API, without values).
    env_names: tuple[str, ...]

    def configured(self) -> str | None:
        """None when the store is configured, else what an administrator has to set."""
        ...

    async def provision(self, name: str, prefix: str) -> Provisioned:
        """Make what the server gets: ``name`` is a safe identifier ([a-z0-9_]) unique to the server, ``prefix`` its
        slug (for key prefixes)."""
        ...

    async def rotate(self, resource: str, username: str, old_env: dict[str, str]) -> dict[str, str]:
        """New credentials for what exists; the new variables."""
        ...

    async def drop(self, resource: str, username: str) -> None:
        """Drop it with its data (idempotent: what is gone already is fine)."""
        ...
