"""Fixtures: isolated settings, a database (SQLite, or PostgreSQL when MCPHOST_TEST_DATABASE_URL is set),
the app with its lifespan, and an HTTP client talking to it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mcphost.api import create_app
from mcphost.settings import Settings
from tests.support import databases

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"

#: Tests that run once per `make test` (on SQLite), not again on PostgreSQL: they exercise a runtime, the browser or
#: an external tool, and the database under them is incidental. Paths relative to the repository, a folder ending
#: in "/". A test can also say so itself with ``@pytest.mark.once``.
ONCE_PATHS: dict[str, str] = {
    "tests/runtimes/": "runtime",
    "tests/builds/": "runtime",
    "tests/runtimes/docker/": "runtime (Docker engine)",
    "tests/deploy/test_image.py": "runtime (Docker engine)",
    "tests/servers/test_process_e2e.py": "runtime",
    "tests/servers/test_redeploy.py": "runtime",
    "tests/secretstore/test_vault.py": "external tool",
    "tests/credentials/test_unsandboxed.py": "runtime",
    "tests/domains/test_caddy_e2e.py": "external tool",
    "tests/pinning/test_pinning_e2e.py": "runtime",
    "tests/evaluations/test_process_e2e.py": "runtime",
    "tests/evaluations/test_evals_cli.py": "runtime",
    "tests/workflows/test_e2e.py": "runtime",
    "tests/files/test_files_hosted.py": "runtime",
    "tests/files/test_files_cli.py": "runtime",
    "tests/integrations/test_s3_service.py": "external tool",
    "tests/mcp/": "runtime",
    "tests/vectors/test_vectors_e2e.py": "runtime",
    "tests/vectors/test_vectors_cli.py": "runtime",
    "tests/vectors/test_container.py": "runtime (Docker engine)",
    "tests/ingestion/test_git.py": "runtime",
    "tests/ui/": "browser",
    "tests/gateway/test_conformance.py": "external tool",
    "tests/gateway/test_replicas.py": "runtime (three mcphost up on PostgreSQL)",
    "tests/oauth/test_sdk_browser.py": "browser",
    "tests/oauth/test_conformance_auth.py": "external tool",
    "tests/gateway/test_conformance_fixture.py": "external tool",
    "tests/gateway/test_inspector.py": "external tool",
    "tests/gateway/test_sdk_interop.py": "external tool",
    "tests/cli/test_scaffold_dev.py": "external tool",
    "tests/cli/test_sdk.py": "external tool",
}
#: A test whose fixtures include one of these exercises the database (and runs on both databases).
DATABASE_FIXTURES = frozenset({"database_url", "postgres_url", "empty_database_url"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "database: exercises the database; run on SQLite and PostgreSQL (automatic)")
    config.addinivalue_line("markers", "once: runs once whatever the database (runtimes, browser, external tools)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test ``database`` (by its fixtures) and ``once`` (by its path): scripts/run_tests.sh selects."""
    root = config.rootpath
    for item in items:
        if DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.database)
        relative = item.path.relative_to(root).as_posix()
        if any(relative == path or (path.endswith("/") and relative.startswith(path)) for path in ONCE_PATHS):
            item.add_marker(pytest.mark.once)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own MCPHOST_* settings never reach a test."""
    for name in list(os.environ):
        if name.startswith("MCPHOST_") and not name.startswith("MCPHOST_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    server = databases.suite_postgres_url()
    if server is None:
        yield None
        return
    import asyncio

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = asyncio.run(databases.create_postgres_database(server, worker))
    yield url
    asyncio.run(databases.drop_postgres_database(server, url))


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """A PostgreSQL server URL for tests that only make sense on PostgreSQL (e.g. LISTEN/NOTIFY)."""
    url = databases.postgres_server_url()
    if url is None:
        pytest.skip(f"needs PostgreSQL: set {databases.TEST_POSTGRES_ENV} (CI always does)")
    return url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """In CI nothing may be skipped: a skip (a missing dependency) is reported as a failure."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which counts as a failure: {report.longrepr}"


@pytest.fixture
async def database_url(tmp_path: Path, postgres_url: str | None) -> str:
    if postgres_url is None:
        return f"sqlite+aiosqlite:///{tmp_path / 'mcphost.db'}"
    await databases.empty_postgres_database(postgres_url)
    return postgres_url


def make_settings(home: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "database_url": database_url,
        "secret_key": TEST_SECRET_KEY,
        "services": {"enabled": False},
        "logging": {"access_log": False},
        # A cheap argon2 cost keeps sign-ups fast; production uses the default cost.
        "auth": {"password_hash_memory_kib": 1024, "password_hash_iterations": 1},
        # Hosting servers (the node agent and its job worker) is switched on by the tests about it.
        "runtime": {"host": False, "default": "fake"},
        # httpx's ASGI transport sends "Host: testserver"; the gateway accepts only hosts it is configured for.
        "gateway": {"allowed_hosts": ["testserver"]},
    }
    for key, value in overrides.items():
        values[key] = (
            {**values[key], **value} if isinstance(values.get(key), dict) and isinstance(value, dict) else value
        )
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
