"""Where the values of servers' secret variables are kept: encrypted in the platform's database (the default), or in
a Vault KV v2 mount (``secrets.backend: vault``), where the database keeps only their names. Both stores take changes
and give the values back when a server starts; neither ever returns a value through the API."""

from __future__ import annotations

from mcphost.secretstore.base import SecretStore, SecretStoreUnavailable
from mcphost.secretstore.database import DatabaseSecrets, secret_context
from mcphost.secretstore.vault import VaultSecrets
from mcphost.security.keys import KeyRing
from mcphost.settings import SecretSettings

__all__ = ["SecretStore", "SecretStoreUnavailable", "secret_context", "secret_store_for"]


def secret_store_for(settings: SecretSettings, keys: KeyRing) -> SecretStore:
    if settings.backend == "vault":
        return VaultSecrets(settings.vault)
    return DatabaseSecrets(keys)
