"""Every built-in catalog entry installs from its registry, starts in the sandbox, and lists its tools.

Inputs an entry requires are given values that work on this machine (the local Redis and PostgreSQL); per-user
inputs (GitHub's token) a made-up value, as one user's instance would get theirs."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from mcphost.catalog.server_json import ServerJson
from mcphost.catalog.service import builtin_documents
from mcphost.mcp.session import McpSession
from mcphost.mcp.stdio import StdioConnection
from mcphost.runtimes.base import LaunchSpec, Limits
from mcphost.runtimes.process import ProcessRuntime
from mcphost.servers.catalog_resolution import resolve
from mcphost.servers.launch import substitute
from mcphost.settings import Settings
from tests.conftest import make_settings

INPUTS = {
    "REDIS_URL": "redis://127.0.0.1:6379",
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
}
ENTRIES = {document["name"]: document for document in builtin_documents()}


def test_there_are_at_least_ten_from_pypi_and_npm() -> None:
    registries = {package["registryType"] for document in ENTRIES.values() for package in document["packages"]}
    assert len(ENTRIES) >= 10 and {"pypi", "npm"} <= registries


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> ProcessRuntime:
    home = tmp_path_factory.mktemp("catalog-home")
    # Servers reach nothing of this machine unless allowed: these entries are given the local Redis and PostgreSQL.
    runtime = {"sandbox": "required", "host_loopback_ports": [6379, 5432]}
    settings: Settings = make_settings(home, "sqlite+aiosqlite:///unused.db", runtime=runtime)
    return ProcessRuntime(settings)


@pytest.mark.parametrize("name", sorted(ENTRIES))
async def test_entry_starts_and_lists_tools(name: str, runtime: ProcessRuntime, tmp_path: Path) -> None:
    server = ServerJson.model_validate(ENTRIES[name])
    per_user = set(server.per_user_inputs())  # not asked at deploy: each user's instance gets their own value
    required = {v.name for p in server.packages or [] for v in p.environment_variables or [] if v.is_required}
    env = {k: INPUTS[k] for k in required - per_user}
    resolved = resolve(server, name_version=server.version, env=env, secret_env={})
    variables = resolved.env | resolved.secret_env | {name: "a-users-own-value" for name in resolved.per_user_env}

    async def quiet(_line: str) -> None:
        return None

    artifact = await runtime.prepare(resolved.source["package"], quiet)
    spec = LaunchSpec(
        server_id=uuid.uuid4(),
        slug=name.rsplit("/", 1)[-1],
        instance_key="shared",
        artifact=artifact.__class__(
            **{**artifact.__dict__, "argv": tuple(substitute(a, variables) for a in artifact.argv)}
        ),
        env=variables,
        data_dir=tmp_path / "data",
        limits=Limits(),
    )
    spec.data_dir.mkdir()
    instance = await runtime.start(spec)
    tools: list[dict[str, Any]] = []
    try:
        assert instance.stdio is not None
        async with StdioConnection(*instance.stdio, name=spec.slug) as connection:
            session = McpSession(connection, timeout=60)
            await session.initialize()
            tools = await session.list_tools()
    finally:
        await instance.stop(2)

    assert tools, f"{name} listed no tools; its output: {getattr(instance, 'last_log_lines', lambda n: [])(20)}"
