"""Where servers' secret values are kept: the database (default) or a Vault KV v2 mount."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator


class VaultSettings(BaseModel):
    """A Vault (or OpenBao) server's KV v2 secrets engine."""

    url: str | None = Field(None, description="e.g. https://vault.example.com:8200 (required for the vault backend).")
    token: SecretStr | None = Field(None, description="A token that may read and write under the prefix.")
    token_file: Path | None = Field(
        None, description="A file holding the token, read at every request (so an agent can renew it); wins over token."
    )
    mount: str = Field("secret", pattern=r"^[A-Za-z0-9_.-]+$", description="Where the KV v2 engine is mounted.")
    prefix: str = Field(
        "mcphost/servers", pattern=r"^[A-Za-z0-9_./-]+$", description="Each server's secrets are at PREFIX/<server id>."
    )
    namespace: str | None = Field(None, description="Vault Enterprise / OpenBao namespace, if any.")
    timeout_seconds: float = Field(5.0, gt=0, description="Longest a request to Vault may take.")
    verify: bool | str = Field(True, description="Check Vault's TLS certificate (or a CA bundle's path).")


class SecretSettings(BaseModel):
    """Where the values of servers' secret variables (``secret_env``) are kept."""

    backend: Literal["database", "vault"] = Field(
        "database",
        description="'database': encrypted with the instance key in the platform's database. 'vault': written to a "
        "Vault KV v2 mount, read when the server starts, never stored in the database (only their names).",
    )
    vault: VaultSettings = Field(default_factory=VaultSettings)

    @model_validator(mode="after")
    def _vault_is_configured(self) -> SecretSettings:
        if self.backend == "vault" and not self.vault.url:
            raise ValueError("secrets.backend 'vault' needs secrets.vault.url (MCPHOST_SECRETS__VAULT__URL)")
        if self.backend == "vault" and self.vault.token is None and self.vault.token_file is None:
            raise ValueError("secrets.backend 'vault' needs secrets.vault.token or secrets.vault.token_file")
        return self
