"""Redis for a server: an ACL user of its own that may touch only keys (and channels) under ``mcphost:{slug}:`` and
run only the configured command categories (never the dangerous ones: KEYS, FLUSHALL, CONFIG, ACL…). Dropping it
deletes the user and its keys."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import quote, urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from mcphost.integrations.base import Provisioned, ProvisionFailed
from mcphost.settings.integrations import RedisServiceSettings


def key_prefix(slug: str) -> str:
    return f"mcphost:{slug}:"


class RedisProvisioner:
    kind: str = "redis"
    env_names: tuple[str, ...] = ("REDIS_URL", "REDIS_KEY_PREFIX")

    def __init__(self, settings: RedisServiceSettings, timeout: float) -> None:
        self.settings = settings
        self.timeout = timeout

    def configured(self) -> str | None:
        if self.settings.admin_url is None:
            return "integrations.redis.admin_url (MCPHOST_INTEGRATIONS__REDIS__ADMIN_URL)"
        return None

    def _admin_url(self) -> str:
        assert self.settings.admin_url is not None
        return self.settings.admin_url.get_secret_value()

    def _env(self, username: str, password: str, prefix: str) -> dict[str, str]:
        parts = urlsplit(self._admin_url())
        host = self.settings.server_host or f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
        scheme = "rediss" if parts.scheme == "rediss" else "redis"
        return {
            "REDIS_URL": f"{scheme}://{quote(username)}:{quote(password)}@{host}/0",
            "REDIS_KEY_PREFIX": prefix,
        }

    async def _run(self, *commands: tuple[str, ...]) -> list[object]:
        client = aioredis.from_url(self._admin_url(), socket_timeout=self.timeout)
        try:
            async with asyncio.timeout(self.timeout):
                return [await client.execute_command(*command) for command in commands]  # type: ignore[no-untyped-call]
        except (RedisError, OSError, TimeoutError) as exc:
            raise ProvisionFailed(f"Redis refused or did not answer: {exc}") from exc
        finally:
            await client.aclose()

    async def _save_acl(self) -> None:
        """Keep the users across a Redis restart when it has an ACL file (without one, they live in memory)."""
        try:
            await self._run(("ACL", "SAVE"))
        except ProvisionFailed as exc:
            if not isinstance(exc.__cause__, ResponseError):
                raise

    async def _set_user(self, username: str, password: str, prefix: str) -> None:
        rules = ["reset", "on", f">{password}", f"~{prefix}*", f"&{prefix}*", "-@all", *self.settings.commands]
        await self._run(("ACL", "SETUSER", username, *rules))
        await self._save_acl()

    async def provision(self, name: str, prefix: str) -> Provisioned:
        username, password, keys = f"mcphost-{name}", secrets.token_hex(24), key_prefix(prefix)
        await self._set_user(username, password, keys)
        return Provisioned(keys, username, self._env(username, password, keys))

    async def rotate(self, resource: str, username: str, old_env: dict[str, str]) -> dict[str, str]:
        password = secrets.token_hex(24)
        await self._set_user(username, password, resource)
        return self._env(username, password, resource)

    async def drop(self, resource: str, username: str) -> None:
        await self._run(("ACL", "DELUSER", username))
        await self._save_acl()
        client = aioredis.from_url(self._admin_url(), socket_timeout=self.timeout)
        try:
            async with asyncio.timeout(self.timeout * 4):
                batch: list[bytes] = []
                async for key in client.scan_iter(match=f"{resource}*", count=500):
                    batch.append(key)
                    if len(batch) >= 500:
                        await client.unlink(*batch)
                        batch = []
                if batch:
                    await client.unlink(*batch)
        except (RedisError, OSError, TimeoutError) as exc:
            raise ProvisionFailed(f"Redis refused or did not answer while deleting the keys: {exc}") from exc
        finally:
            await client.aclose()
