"""Every failure has one JSON shape, a right status and a message saying what to fix."""

from __future__ import annotations

import httpx

from tests.support.accounts import PASSWORD, assert_error, sign_up


async def test_unknown_route_and_wrong_method(client: httpx.AsyncClient) -> None:
    assert "/api/docs" in str(assert_error(await client.get("/api/nothing-here"), 404, "not_found")["message"])
    assert_error(await client.delete("/api/auth/login"), 405, "method_not_allowed")


async def test_malformed_json_is_422_with_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/login",
        content=b'{"email": "a@b.c", "password": ',
        headers={"content-type": "application/json"},
    )

    error = assert_error(response, 422, "validation_error")
    assert error["details"][0]["type"] == "json_invalid"  # type: ignore[index]


async def test_wrong_json_types_are_422(client: httpx.AsyncClient) -> None:
    for body in ([], "text", 42, {"email": 5, "password": None}, {"email": ["a@b.c"], "password": {"x": 1}}):
        assert_error(await client.post("/api/auth/login", json=body), 422, "validation_error")


async def test_declared_oversized_body_is_refused_before_reading(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/login", content=b"x" * 1_100_000, headers={"content-type": "application/json"}
    )

    error = assert_error(response, 413, "payload_too_large")
    assert "1048576 bytes" in str(error["message"])


async def test_streamed_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 100_000

    response = await client.post("/api/auth/login", content=chunks(), headers={"content-type": "application/json"})

    assert_error(response, 413, "payload_too_large")


async def test_huge_strings_in_valid_json_are_validation_errors(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/register", json={"email": "a" * 400 + "@example.com", "password": PASSWORD})

    assert_error(response, 422, "validation_error")


async def test_every_response_carries_a_request_id_and_keeps_a_sane_incoming_one(
    client: httpx.AsyncClient,
) -> None:
    generated = await client.get("/healthz")
    kept = await client.get("/healthz", headers={"X-Request-ID": "trace-abc.123"})
    replaced = await client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"[:12]})

    assert len(generated.headers["x-request-id"]) == 32
    assert kept.headers["x-request-id"] == "trace-abc.123"
    assert replaced.headers["x-request-id"] != "bad id\nwith"


async def test_a_failed_request_changes_nothing(client: httpx.AsyncClient) -> None:
    ada = await sign_up(client, "ada@example.com")
    before = (await client.get("/api/me", headers=ada.headers)).json()

    await client.post("/api/orgs", json={"name": ""}, headers=ada.headers)
    await client.post("/api/auth/register", json={"email": "ada@example.com", "password": PASSWORD})

    assert (await client.get("/api/me", headers=ada.headers)).json() == before
    assert (await client.get("/api/orgs", headers=ada.headers)).json() == []
