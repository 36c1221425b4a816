"""The interface of a secret store, and its one failure."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Protocol

from mcphost.errors import AppError


class SecretStoreUnavailable(AppError):
    """The store could not be read or written (Vault down, a token refused): nothing was changed."""

    status_code = 503
    code = "secret_store_unavailable"


class SecretStore(Protocol):
    """Keeps a server's secret values. ``stored`` is what the database keeps for them (``Server.secret_env``: the
    sealed values, or only markers when the values live elsewhere)."""

    async def store(
        self, server_id: uuid.UUID, stored: Mapping[str, str], changes: Mapping[str, str | None]
    ) -> dict[str, str]:
        """Apply ``changes`` (None removes a secret); what the database keeps from now on."""
        ...

    async def read(self, server_id: uuid.UUID, stored: Mapping[str, str]) -> dict[str, str]:
        """The values, by name, to start the server with."""
        ...

    async def forget(self, server_id: uuid.UUID) -> None:
        """The server is gone: remove what is kept outside the database (best effort)."""
        ...
