"""Secret values in the database, sealed with the instance key and bound to their server and name."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from mcphost.security.keys import KeyRing


def secret_context(server_id: uuid.UUID, name: str) -> str:
    """What a sealed value is bound to: it opens only as this server's variable of this name."""
    return f"server:{server_id}:env:{name}"


class DatabaseSecrets:
    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys

    async def store(
        self, server_id: uuid.UUID, stored: Mapping[str, str], changes: Mapping[str, str | None]
    ) -> dict[str, str]:
        kept = dict(stored)
        for name, value in changes.items():
            if value is None:
                kept.pop(name, None)
            else:
                kept[name] = self.keys.secrets.encrypt(value, secret_context(server_id, name))
        return kept

    async def read(self, server_id: uuid.UUID, stored: Mapping[str, str]) -> dict[str, str]:
        return {
            name: self.keys.secrets.decrypt(sealed, secret_context(server_id, name)) for name, sealed in stored.items()
        }

    async def forget(self, server_id: uuid.UUID) -> None:
        return None  # the row holding them is gone
