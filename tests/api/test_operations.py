"""What operators and orchestrators poll: health, readiness, metrics, API description."""

from __future__ import annotations

from pathlib import Path

import httpx

from mcphost.settings import Settings
from tests.support.accounts import assert_error
from tests.support.apps import adjusted, app_client


async def test_healthz_says_ok_with_the_version(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["version"]


async def test_readyz_checks_database_and_migrations(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


async def test_readyz_is_503_while_migrations_are_pending(settings: Settings, tmp_path: Path) -> None:
    unmigrated = adjusted(
        settings,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unmigrated.db'}",
        database={"migrate_on_start": False},
    )
    async with app_client(unmigrated) as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "expected" in response.json()["checks"]["migrations"]


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/api/users/00000000-0000-4000-8000-000000000001")
    await client.get("/api/users/00000000-0000-4000-8000-000000000002")

    text = (await client.get("/metrics")).text

    assert 'mcphost_http_requests_total{method="GET",route="/api/users/{user_id}",status="401"} 2.0' in text
    assert "mcphost_http_request_duration_seconds_bucket" in text
    assert "00000000-0000-4000-8000-000000000001" not in text


async def test_metrics_can_require_a_token(settings: Settings) -> None:
    async with app_client(adjusted(settings, server={"metrics_token": "scrape-me-please"})) as client:
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})

    assert_error(anonymous, 401)
    assert_error(wrong, 401)
    assert right.status_code == 200 and "mcphost_http_requests_total" in right.text


async def test_openapi_documents_every_operation_with_models_and_error_shape(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/api/openapi.json")).json()

    operations = [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]
    assert len(operations) >= 20
    for path, method, operation in operations:
        responses = operation["responses"]
        success = [code for code in responses if code.startswith("2")]
        assert success, (path, method)
        for code in success:
            if code == "204":
                continue
            content = responses[code].get("content", {})
            assert content, (path, method, code)
            json_schema = content.get("application/json", {}).get("schema")
            assert json_schema or set(content) & {"text/event-stream", "text/plain"}, (path, method, code)
            if json_schema is not None:
                assert json_schema != {}, f"{method.upper()} {path} has no response model"
        if path.startswith("/api/"):
            error = responses["422"]["content"]["application/json"]["schema"]["$ref"]
            assert error.endswith("/ErrorResponse"), (path, method)


async def test_interactive_docs_work_offline(client: httpx.AsyncClient) -> None:
    page = await client.get("/api/docs")
    script = await client.get("/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js")

    assert page.status_code == 200 and "/api/openapi.json" in page.text
    assert "cdn" not in page.text.lower()
    assert script.status_code == 200 and len(script.content) > 100_000
