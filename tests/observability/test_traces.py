"""The trace recorder: cheap to call, bounded, and everything else done in its background batches (stored
records, redaction and capping, metrics), with retention applied by the maintenance loop."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.models import InvocationRecord, Server
from mcphost.observability import traces as traces_module
from mcphost.services.maintenance import MaintenanceLoop
from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.servers.hosting import deploy
from tests.support import databases
from tests.support.accounts import Account, sign_up
from tests.support.apps import adjusted, app_client
from tests.support.traces import invocation, record, recorder

MAX_CHARS = 300


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, traces={"max_payload_chars": MAX_CHARS, "buffer": 100})


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "owner@example.com")


@pytest.fixture
async def server(client: httpx.AsyncClient, owner: Account) -> dict[str, Any]:
    return await deploy(client, owner)


async def _detail(client: httpx.AsyncClient, owner: Account, server: dict[str, Any]) -> dict[str, Any]:
    """The newest record of the server, with params and result."""
    listed = await client.get(f"/api/servers/{server['id']}/invocations?limit=1", headers=owner.headers)
    newest = listed.json()["items"][0]["id"]
    response = await client.get(f"/api/servers/{server['id']}/invocations/{newest}", headers=owner.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _stored(app: FastAPI, server: dict[str, Any] | None = None) -> list[InvocationRecord]:
    async with app.state.platform.db.session_scope() as session:
        statement = sa.select(InvocationRecord).order_by(InvocationRecord.id)
        if server is not None:
            statement = statement.where(InvocationRecord.server_id == uuid.UUID(server["id"]))
        return list((await session.scalars(statement)).all())


async def test_secrets_are_redacted_before_anything_is_stored(
    app: FastAPI, client: httpx.AsyncClient, owner: Account, server: dict[str, Any]
) -> None:
    params = {"name": "login", "arguments": {"user": "bob", "password": "hunter2", "opts": [{"apiKey": "k-123"}]}}
    result = {"content": [{"type": "text", "text": "welcome"}], "session_token": "tok-456"}
    await record(app, invocation(server, params=params, result=result))

    shown = await _detail(client, owner, server)

    assert shown["params"] == {
        "name": "login",
        "arguments": {"user": "bob", "password": "[redacted]", "opts": [{"apiKey": "[redacted]"}]},
    }
    assert shown["result"] == {"content": [{"type": "text", "text": "welcome"}], "session_token": "[redacted]"}
    stored = (await _stored(app))[0]
    assert "hunter2" not in repr(stored.params) and "tok-456" not in repr(stored.result)


async def test_long_payloads_are_cut_to_a_redacted_preview(
    app: FastAPI, client: httpx.AsyncClient, owner: Account, server: dict[str, Any]
) -> None:
    params = {"arguments": {"authorization": "Bearer abc", "text": "p" * 5000}}
    result = {"content": [{"type": "text", "text": "r" * 5000}]}
    await record(app, invocation(server, params=params, result=result))

    shown = await _detail(client, owner, server)

    assert shown["params"] == {
        "_truncated": True,
        "preview": ('{"arguments":{"authorization":"[redacted]","text":"' + "p" * 5000)[:MAX_CHARS],
    }
    assert shown["result"]["_truncated"] is True
    assert shown["result"]["preview"] == ('{"content":[{"type":"text","text":"' + "r" * 5000)[:MAX_CHARS]


async def test_text_no_database_can_store_is_cleaned_and_the_record_kept(
    app: FastAPI, client: httpx.AsyncClient, owner: Account, server: dict[str, Any]
) -> None:
    """PostgreSQL refuses NUL in text and JSON, and NaN in JSON: one such record must not lose its batch."""
    await record(
        app,
        invocation(server, request_id="before"),
        invocation(
            server,
            name="ec\x00ho",
            session_id="s\x00",
            params={"arguments": {"t\x00": "a\x00b", "n": float("nan"), "big": 2**80}},
            result=None,
            error={"code": 2**40, "message": "bad\x00 thing"},
            request_id="odd",
        ),
        invocation(server, request_id="after"),
    )

    rows = await _stored(app)

    assert [row.request_id for row in rows] == ["before", "odd", "after"]
    odd = rows[1]
    assert (odd.name, odd.session_id, odd.error_code, odd.error_message) == ("echo", "s", None, "bad thing")
    assert odd.params == {"arguments": {"t": "ab", "n": None, "big": str(2**80)}}


async def test_a_full_buffer_drops_new_records_and_counts_them(
    app: FastAPI, client: httpx.AsyncClient, server: dict[str, Any]
) -> None:
    traces = recorder(app)
    for n in range(150):
        traces.record(invocation(server, request_id=n))

    assert traces.dropped == 50
    await traces.flush()

    rows = await _stored(app)
    assert [row.request_id for row in rows] == [str(n) for n in range(100)]
    metrics = (await client.get("/metrics")).text
    assert "mcphost_gateway_traces_dropped_total 50.0" in metrics


async def test_recording_is_cheap_and_does_no_work_on_the_caller(app: FastAPI, server: dict[str, Any]) -> None:
    traces = recorder(app)
    one = invocation(server, params={"password": "x", "text": "y" * 100_000})
    calls = 100

    started = time.perf_counter()
    for _ in range(calls):
        traces.record(one)
    per_call = (time.perf_counter() - started) / calls

    assert per_call < 20e-6, f"record() took {per_call * 1e6:.1f} µs"
    # Nothing was prepared, copied or changed on the caller's time: the record waits as it was handed over.
    assert traces.pending == calls and one.params["password"] == "x"


async def test_gateway_metrics_are_exported_after_a_flush(
    app: FastAPI, client: httpx.AsyncClient, server: dict[str, Any]
) -> None:
    slug = server["slug"]
    await record(
        app,
        invocation(server, duration=0.0003),
        invocation(server, duration=0.2, result={"content": [], "isError": True}),
        invocation(server, method="made/up/1", name=None, duration=0.001),
        invocation(server, method="made/up/2", name=None, duration=0.001),
    )

    metrics = (await client.get("/metrics")).text

    labels = f'method="tools/call",outcome="ok",server="{slug}"'
    assert f"mcphost_gateway_requests_total{{{labels}}} 1.0" in metrics
    assert f'mcphost_gateway_request_duration_seconds_bucket{{le="0.0005",{labels}}} 1.0' in metrics
    assert f'mcphost_gateway_requests_total{{method="tools/call",outcome="error",server="{slug}"}} 1.0' in metrics
    # Method names clients make up are not labels of their own.
    assert f'mcphost_gateway_requests_total{{method="other",outcome="ok",server="{slug}"}} 2.0' in metrics
    assert "made/up" not in metrics


async def test_records_of_a_deleted_server_do_not_cost_the_others_their_batch(
    app: FastAPI, client: httpx.AsyncClient, owner: Account, server: dict[str, Any]
) -> None:
    doomed = await deploy(client, owner, name="doomed")
    traces = recorder(app)
    traces.record(invocation(doomed))
    traces.record(invocation(server, user_id=uuid.uuid4(), key_id=uuid.uuid4(), request_id="kept"))
    keys = await client.get(f"/api/servers/{server['id']}/keys", headers=owner.headers)
    key_id = uuid.UUID(keys.json()[0]["id"])
    traces.record(invocation(server, user_id=owner.id, key_id=key_id, request_id="mine"))
    async with app.state.platform.db.session_scope() as session:
        await session.execute(sa.delete(Server).where(Server.id == uuid.UUID(doomed["id"])))

    await traces.flush()

    rows = await _stored(app)
    assert [(row.request_id, row.user_id, row.key_id) for row in rows] == [
        ("kept", None, None),
        ("mine", owner.id, key_id),
    ]
    assert traces.failed == 0


async def test_a_failed_write_drops_its_batch_and_writing_goes_on(
    app: FastAPI, server: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    traces = recorder(app)
    writable = traces_module._writable

    async def broken(*args: Any) -> Any:
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(traces_module, "_writable", broken)
    await record(app, invocation(server, request_id="lost"), invocation(server, request_id="lost too"))
    monkeypatch.setattr(traces_module, "_writable", writable)
    await record(app, invocation(server, request_id="written"))

    assert [row.request_id for row in await _stored(app)] == ["written"]
    assert traces.failed == 2
    assert "writing 2 invocation records failed" in caplog.text


async def test_records_buffered_at_shutdown_are_written(settings: Settings) -> None:
    quiet = adjusted(settings, traces={"flush_interval_seconds": 3600})
    async with app_client(quiet) as client:
        owner = await sign_up(client, "owner@example.com")
        server = await deploy(client, owner)
        recorder(client.app).record(invocation(server))  # type: ignore[attr-defined]

    assert await databases.count_rows(settings.effective_database_url, "invocations") == 1


async def test_nothing_is_recorded_when_traces_are_disabled(settings: Settings) -> None:
    async with app_client(adjusted(settings, traces={"enabled": False})) as client:
        owner = await sign_up(client, "owner@example.com")
        server = await deploy(client, owner)
        traces = recorder(client.app)  # type: ignore[attr-defined]
        traces.record(invocation(server))
        await traces.flush()

        assert traces.pending == 0 and traces.dropped == 0
        listed = await client.get(f"/api/servers/{server['id']}/invocations", headers=owner.headers)
        assert listed.json() == {"items": [], "next_cursor": None}


@pytest.fixture
async def retained(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(adjusted(settings, traces={"retention_days": 2, "max_per_server": 100})) as client:
        yield client


async def test_maintenance_purges_old_records_and_keeps_the_newest_per_server(
    retained: httpx.AsyncClient,
) -> None:
    app: FastAPI = retained.app  # type: ignore[attr-defined]
    owner = await sign_up(retained, "owner@example.com")
    busy, quiet, old = [await deploy(retained, owner, name=name) for name in ("busy", "quiet", "old")]
    three_days_ago = time.time() - 3 * 86400
    await record(app, *(invocation(busy, request_id=n) for n in range(90)))
    await record(app, *(invocation(busy, request_id=n) for n in range(90, 130)))
    await record(app, *(invocation(quiet, request_id=n) for n in range(10)))
    await record(app, invocation(old, started_at=three_days_ago), invocation(quiet, started_at=three_days_ago))
    maintenance = MaintenanceLoop(app.state.platform.db, app.state.platform.settings)

    await maintenance.run_once()

    kept = [row.request_id for row in await _stored(app, busy)]
    assert kept == [str(n) for n in range(30, 130)]
    assert [row.request_id for row in await _stored(app, quiet)] == [str(n) for n in range(10)]
    assert await _stored(app, old) == []

    # Later passes check the servers that got new records since.
    await record(app, *(invocation(busy, request_id=n) for n in range(130, 150)))
    await maintenance.run_once()

    assert [row.request_id for row in await _stored(app, busy)] == [str(n) for n in range(50, 150)]
    assert len(await _stored(app, quiet)) == 10
