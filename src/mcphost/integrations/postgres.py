"""PostgreSQL for a server: a database and a login role of its own (the role owns the database and nothing else; the
database's CONNECT and TEMP privileges are revoked from PUBLIC, so no other server's role can connect to it). The
identifiers are generated ([a-z0-9_]) and the passwords hex, so the DDL (which takes no parameters) is safe to build."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import quote

import asyncpg
from sqlalchemy.engine import make_url

from mcphost.integrations.base import Provisioned, ProvisionFailed
from mcphost.settings.integrations import PostgresServiceSettings


class PostgresProvisioner:
    kind: str = "postgres"
    env_names: tuple[str, ...] = ("DATABASE_URL",)

    def __init__(self, settings: PostgresServiceSettings, timeout: float) -> None:
        self.settings = settings
        self.timeout = timeout

    def configured(self) -> str | None:
        if self.settings.admin_url is None:
            return "integrations.postgres.admin_url (MCPHOST_INTEGRATIONS__POSTGRES__ADMIN_URL)"
        return None

    def _admin_dsn(self) -> str:
        assert self.settings.admin_url is not None
        url = make_url(self.settings.admin_url.get_secret_value())
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def _server_host(self) -> str:
        if self.settings.server_host:
            return self.settings.server_host
        url = make_url(self._admin_dsn())
        return f"{url.host or 'localhost'}:{url.port or 5432}"

    def _env(self, name: str, password: str) -> dict[str, str]:
        return {"DATABASE_URL": f"postgresql://{name}:{quote(password)}@{self._server_host()}/{name}"}

    async def _run(self, *statements: str, database: str | None = None) -> None:
        dsn = self._admin_dsn()
        if database is not None:
            dsn = make_url(dsn).set(database=database).render_as_string(hide_password=False)
        try:
            async with asyncio.timeout(self.timeout):
                connection = await asyncpg.connect(dsn)
                try:
                    for statement in statements:
                        await connection.execute(statement)
                finally:
                    await connection.close()
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            raise ProvisionFailed(f"PostgreSQL refused or did not answer: {exc}") from exc

    async def provision(self, name: str, prefix: str) -> Provisioned:
        password = secrets.token_hex(24)
        await self._run(
            f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS '
            f"CONNECTION LIMIT 20 PASSWORD '{password}'"
        )
        try:
            await self._run(f'CREATE DATABASE "{name}" OWNER "{name}"')
            await self._run(
                f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC', f'GRANT CONNECT, TEMP ON DATABASE "{name}" TO "{name}"'
            )
            await self._run("REVOKE ALL ON SCHEMA public FROM PUBLIC", database=name)
        except ProvisionFailed:
            await self.drop(name, name)
            raise
        return Provisioned(name, name, self._env(name, password))

    async def rotate(self, resource: str, username: str, old_env: dict[str, str]) -> dict[str, str]:
        password = secrets.token_hex(24)
        await self._run(f"ALTER ROLE \"{username}\" PASSWORD '{password}'")
        return self._env(resource, password)

    async def drop(self, resource: str, username: str) -> None:
        await self._run(f'DROP DATABASE IF EXISTS "{resource}" WITH (FORCE)', f'DROP ROLE IF EXISTS "{username}"')
