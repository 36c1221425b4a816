"""The log sink: batched writes, a bounded buffer that drops and counts, and per-server budgets."""

from __future__ import annotations

import uuid

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.models import LogStream, ServerLog
from mcphost.servers.logs import LogSink, tail, trim
from mcphost.settings import ServerLogSettings
from tests.support.accounts import Account, sign_up

PACKAGE = {"type": "package", "registry_type": "pypi", "identifier": "fake-server"}


async def _server(client: httpx.AsyncClient) -> uuid.UUID:
    owner: Account = await sign_up(client, "owner@example.com")
    response = await client.post(
        "/api/servers", json={"name": "s", "source": PACKAGE, "start": False}, headers=owner.headers
    )
    return uuid.UUID(response.json()["id"])


async def _lines(app: FastAPI, server_id: uuid.UUID) -> list[str]:
    async with app.state.platform.db.session_scope() as session:
        return list(
            await session.scalars(
                sa.select(ServerLog.line).where(ServerLog.server_id == server_id).order_by(ServerLog.id)
            )
        )


async def test_a_flood_is_bounded_and_the_drop_is_told(app: FastAPI, client: httpx.AsyncClient) -> None:
    server_id = await _server(client)
    sink = LogSink(app.state.platform.db, ServerLogSettings(buffer_lines=100, max_lines_per_server=10_000))

    for number in range(250):
        sink.add(server_id, LogStream.STDERR, f"line {number}")
    await sink.flush()

    lines = await _lines(app, server_id)
    assert lines[:100] == [f"line {number}" for number in range(100)]
    assert lines[100:] == ["150 log lines dropped: the server wrote faster than they could be stored"]


async def test_long_lines_are_cut(app: FastAPI, client: httpx.AsyncClient) -> None:
    server_id = await _server(client)
    sink = LogSink(app.state.platform.db, ServerLogSettings(max_line_chars=100))

    sink.add(server_id, LogStream.STDERR, "x" * 10_000)
    await sink.flush()

    assert await _lines(app, server_id) == ["x" * 100]


async def test_old_lines_are_trimmed_to_the_line_and_byte_budgets(app: FastAPI, client: httpx.AsyncClient) -> None:
    server_id = await _server(client)
    settings = ServerLogSettings(max_lines_per_server=100, max_bytes_per_server=10_000)
    sink = LogSink(app.state.platform.db, settings)
    for batch in range(25):
        for number in range(20):
            sink.add(server_id, LogStream.STDERR, f"{batch}-{number}")
        await sink.flush()

    assert len(await _lines(app, server_id)) < 25 * 20  # the sink trims on its own as it writes
    async with app.state.platform.db.session_scope() as session:
        await trim(session, server_id, settings)
    kept = await _lines(app, server_id)
    assert len(kept) == 100 and kept[-1] == "24-19" and kept[0] == "20-0"

    for _ in range(200):
        sink.add(server_id, LogStream.STDERR, "y" * 100)
    await sink.flush()
    async with app.state.platform.db.session_scope() as session:
        await trim(session, server_id, settings)
        newest = await tail(session, server_id, 1)
    kept = await _lines(app, server_id)
    assert 9_900 < sum(len(line) for line in kept) <= 10_000
    assert newest[0].line == "y" * 100


async def test_the_last_lines_of_a_deleted_server_do_not_lose_the_others(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # A server's last lines can reach the sink after its row was deleted (its process is stopped as it goes): they
    # are dropped, and the other servers' lines in the same batch are written (before, the batch failed on the
    # deleted server's foreign key and all of it was lost, every flush).
    server_id = await _server(client)
    sink = LogSink(app.state.platform.db, ServerLogSettings())
    deleted = uuid.uuid4()

    sink.add(deleted, LogStream.STDERR, "goodbye")
    sink.add(server_id, LogStream.STDERR, "still here")
    await sink.flush()

    assert await _lines(app, server_id) == ["still here"]
    assert await _lines(app, deleted) == []
