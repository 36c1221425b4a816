"""Fixtures of the command-line tests: a data directory and the environment the commands run with."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.cli import processes
from tests.cli.live import Instance, running_instance
from tests.support import databases

# A cheap argon2 cost keeps sign-ups in the subprocess fast; production uses the default cost.
CHEAP_HASHING = {"MCPHOST_AUTH__PASSWORD_HASH_MEMORY_KIB": "1024", "MCPHOST_AUTH__PASSWORD_HASH_ITERATIONS": "1"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data directory that does not exist yet, as on a first start."""
    return tmp_path / "home"


@pytest.fixture
def cli_env(database_url: str) -> dict[str, str]:
    """The environment of a command: on the SQLite run nothing but the defaults (the database is created in
    the home directory), on the PostgreSQL run the suite's database."""
    extra = dict(CHEAP_HASHING)
    if not database_url.startswith("sqlite"):
        extra["MCPHOST_DATABASE_URL"] = database_url
    return processes.environment(**extra)


@pytest.fixture
async def empty_database_url(postgres_url: str | None) -> AsyncIterator[str | None]:
    """A database without any table: a new PostgreSQL database on the PostgreSQL run, else None (the SQLite
    file the command creates in the home directory)."""
    server = databases.suite_postgres_url()
    if postgres_url is None or server is None:
        yield None
        return
    name = f"mcphost_test_empty_{secrets.token_hex(4)}"
    admin_dsn = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


@pytest.fixture
def instance(home: Path, cli_env: dict[str, str], tmp_path: Path) -> Iterator[Instance]:
    """A running instance with an administrator and one running server ``srv`` on the fake runtime."""
    yield from running_instance(home, cli_env, tmp_path)
