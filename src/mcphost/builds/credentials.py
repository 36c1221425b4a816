"""Where registry credentials come from. A source is called at every login, so a rotated password or token (a file a
secret manager rewrites, a store the lifecycle reads) is picked up when the registry says the old one expired."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mcphost.runtimes.base import PrepareFailed
from mcphost.settings import RegistrySettings

__all__ = ["CredentialSource", "RegistryCredentials", "credentials_from_settings"]


@dataclass(frozen=True)
class RegistryCredentials:
    username: str
    password: str = field(repr=False)


#: Returns the credentials to log in with now (None: push anonymously).
CredentialSource = Callable[[], Awaitable[RegistryCredentials | None]]


def credentials_from_settings(registry: RegistrySettings) -> CredentialSource:
    """Credentials from ``builds.registry``: the user name with the password, or with what ``password_file`` holds
    at the time of the call."""

    async def read() -> RegistryCredentials | None:
        if registry.username is None:
            return None
        if registry.password_file is not None:
            try:
                text = await asyncio.to_thread(registry.password_file.read_text)
            except OSError as error:
                raise PrepareFailed(f"the registry password file cannot be read: {error.strerror}") from None
            return RegistryCredentials(registry.username, text.strip())
        password = registry.password.get_secret_value() if registry.password is not None else ""
        return RegistryCredentials(registry.username, password)

    return read
