"""Test databases. SQLite: a fresh file per test. PostgreSQL (``MCPHOST_TEST_DATABASE_URL`` names a server
database the tests may create databases from): one migrated database per test worker, emptied between tests."""

from __future__ import annotations

import os
import secrets

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from mcphost.db import migrate
from mcphost.db.base import Base

TEST_DATABASE_ENV = "MCPHOST_TEST_DATABASE_URL"
TEST_POSTGRES_ENV = "MCPHOST_TEST_POSTGRES_URL"


def suite_postgres_url() -> str | None:
    """The PostgreSQL server the whole suite runs on, when this run is the PostgreSQL run."""
    return os.environ.get(TEST_DATABASE_ENV) or None


def postgres_server_url() -> str | None:
    """A PostgreSQL server for tests that need one whatever the suite's database (CI always sets it)."""
    return os.environ.get(TEST_POSTGRES_ENV) or suite_postgres_url()


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_postgres_database(server_url: str, worker: str, *, migrate_to_head: bool = True) -> str:
    name = f"mcphost_test_{worker}_{secrets.token_hex(4)}"
    connection = await asyncpg.connect(_dsn(server_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    if migrate_to_head:
        engine = create_async_engine(url)
        await migrate.upgrade(engine)
        await engine.dispose()
    return url


async def drop_postgres_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    connection = await asyncpg.connect(_dsn(server_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def empty_postgres_database(url: str) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    connection = await asyncpg.connect(_dsn(url))
    try:
        await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()


async def count_rows(url: str, table: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            statement = sa.text(f'SELECT count(*) FROM "{table}"')  # noqa: S608 (our own table names)
            return int((await connection.execute(statement)).scalar_one())
    finally:
        await engine.dispose()
