"""Secret values in Vault (or OpenBao): one KV v2 secret per server at ``PREFIX/<server id>``, one key per variable.
The database keeps only the names (each marked ``vault``). Values are read when the server starts, so a value
rotated in Vault is used at the next start. ``hvac`` is synchronous: its calls run on a thread."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import hvac
import requests
from hvac.exceptions import Forbidden, InvalidPath, Unauthorized, VaultDown, VaultError

from mcphost.secretstore.base import SecretStoreUnavailable
from mcphost.settings import VaultSettings

log = logging.getLogger(__name__)
#: What the database keeps for a secret whose value is in Vault.
MARKER: Final = "vault"
T = TypeVar("T")


class VaultSecrets:
    def __init__(self, settings: VaultSettings) -> None:
        self.settings = settings

    def path(self, server_id: uuid.UUID) -> str:
        return f"{self.settings.prefix.strip('/')}/{server_id}"

    async def store(
        self, server_id: uuid.UUID, stored: Mapping[str, str], changes: Mapping[str, str | None]
    ) -> dict[str, str]:
        def write(client: hvac.Client) -> None:
            values = self._values(client, server_id) if stored else {}
            for name, value in changes.items():
                if value is None:
                    values.pop(name, None)
                else:
                    values[name] = value
            kv = client.secrets.kv.v2
            if values:
                kv.create_or_update_secret(path=self.path(server_id), secret=values, mount_point=self.settings.mount)
            elif stored:
                kv.delete_metadata_and_all_versions(path=self.path(server_id), mount_point=self.settings.mount)

        await self._call(write)
        kept = dict(stored)
        for name, value in changes.items():
            if value is None:
                kept.pop(name, None)
            else:
                kept[name] = MARKER
        return kept

    async def read(self, server_id: uuid.UUID, stored: Mapping[str, str]) -> dict[str, str]:
        if not stored:
            return {}
        values = await self._call(lambda client: self._values(client, server_id))
        missing = sorted(set(stored) - set(values))
        if missing:
            raise SecretStoreUnavailable(
                f"Vault has no value for {', '.join(missing)} at {self.settings.mount}/{self.path(server_id)}; set "
                "it there or again on the server."
            )
        return {name: values[name] for name in stored}

    async def forget(self, server_id: uuid.UUID) -> None:
        def delete(client: hvac.Client) -> None:
            client.secrets.kv.v2.delete_metadata_and_all_versions(
                path=self.path(server_id), mount_point=self.settings.mount
            )

        try:
            await self._call(delete)
        except SecretStoreUnavailable as exc:
            log.warning("the secrets of the deleted server %s stay in Vault: %s", server_id, exc.message)

    def _values(self, client: hvac.Client, server_id: uuid.UUID) -> dict[str, str]:
        try:
            answer: dict[str, Any] = client.secrets.kv.v2.read_secret_version(
                path=self.path(server_id), mount_point=self.settings.mount, raise_on_deleted_version=True
            )
        except InvalidPath:
            return {}
        data = answer.get("data", {}).get("data") or {}
        return {str(name): str(value) for name, value in data.items()}

    async def _call(self, work: Callable[[hvac.Client], T]) -> T:
        def run() -> T:
            return work(self._client())

        where = self.settings.url
        try:
            return await asyncio.to_thread(run)
        except (Unauthorized, Forbidden) as exc:
            raise SecretStoreUnavailable(f"Vault at {where} refused the token: {_first_line(exc)}") from None
        except (VaultDown, requests.ConnectionError, requests.Timeout) as exc:
            raise SecretStoreUnavailable(f"Vault at {where} did not answer: {_first_line(exc)}") from None
        except (VaultError, requests.RequestException, OSError) as exc:
            raise SecretStoreUnavailable(f"Vault at {where} failed: {_first_line(exc)}") from None

    def _client(self) -> hvac.Client:
        settings = self.settings
        if settings.token_file is not None:
            token = settings.token_file.read_text().strip()
        else:
            assert settings.token is not None
            token = settings.token.get_secret_value()
        return hvac.Client(
            url=settings.url,
            token=token,
            namespace=settings.namespace,
            timeout=max(1, round(settings.timeout_seconds)),
            verify=settings.verify,
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
