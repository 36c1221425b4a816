"""Deploying catalog entries: inputs, secrets, unknown names; importing server.json documents."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.models import Server
from tests.support.accounts import Account, assert_error

REDIS = "io.github.modelcontextprotocol/redis"
GITHUB = "io.github.modelcontextprotocol/github"
TOKEN = "GITHUB_PERSONAL_ACCESS_TOKEN"


async def _deploy(client: httpx.AsyncClient, who: Account, name: str, **body: Any) -> httpx.Response:
    return await client.post(
        "/api/servers",
        json={"name": "from catalog", "source": {"type": "catalog", "name": name}} | body,
        headers=who.headers,
    )


async def test_the_catalog_lists_built_in_servers_and_searches(client: httpx.AsyncClient, user: Account) -> None:
    everything = (await client.get("/api/catalog", headers=user.headers)).json()
    found = (await client.get("/api/catalog?q=TIME zones", headers=user.headers)).json()
    time = (await client.get("/api/catalog?q=time", headers=user.headers)).json()

    assert len(everything) >= 10
    assert {"pypi", "npm"} <= {kind for entry in everything for kind in entry["registry_types"]}
    assert found == []
    assert [entry["name"] for entry in time] == ["io.github.modelcontextprotocol/time"]


async def test_an_entry_describes_its_inputs(client: httpx.AsyncClient, user: Account) -> None:
    entry = (await client.get(f"/api/catalog/{REDIS}", headers=user.headers)).json()

    assert entry["inputs"] == [
        {
            "name": "REDIS_URL",
            "description": "Redis connection URL",
            "required": True,
            "secret": True,
            "default": None,
            "choices": None,
            "per_user": False,
        }
    ]
    assert entry["document"]["packages"][0]["identifier"] == "@modelcontextprotocol/server-redis"


async def test_unknown_entry_is_404(client: httpx.AsyncClient, user: Account) -> None:
    assert_error(await client.get("/api/catalog/io.example/nothing", headers=user.headers), 404, "not_found")
    assert_error(await _deploy(client, user, "io.example/nothing"), 404, "not_found")


async def test_missing_required_input_is_422_naming_it(client: httpx.AsyncClient, user: Account) -> None:
    response = await _deploy(client, user, REDIS)

    error = assert_error(response, 422, "missing_input")
    assert "REDIS_URL" in str(error["message"])
    assert error["details"] == [{"loc": ["body", "secret_env", "REDIS_URL"], "msg": "required by the catalog entry"}]


async def test_secret_inputs_go_to_secret_env_even_when_passed_as_env(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    response = await _deploy(client, user, REDIS, env={"REDIS_URL": "redis://:pw-s3cret@localhost:6379"})

    body = response.json()
    assert response.status_code == 201
    assert body["env"] == {} and body["secret_env"] == ["REDIS_URL"]
    assert "pw-s3cret" not in response.text
    assert body["source"]["package"]["identifier"] == "@modelcontextprotocol/server-redis"
    assert body["source"]["package"]["args"] == ["{REDIS_URL}"]
    async with app.state.platform.db.session_scope() as session:
        stored = await session.scalar(sa.select(Server))
    assert stored is not None and "pw-s3cret" not in str(stored.source) + str(stored.env) + str(stored.secret_env)


async def test_entry_defaults_fill_the_environment(client: httpx.AsyncClient, user: Account) -> None:
    body = (await _deploy(client, user, "io.github.modelcontextprotocol/memory")).json()

    assert body["env"] == {"MEMORY_FILE_PATH": "/data/memory.jsonl"}
    assert body["source"]["version"] == "2026.8.31"


async def test_admin_imports_a_server_json_and_errors_point_at_the_bad_field(
    client: httpx.AsyncClient, admin: Account, user: Account
) -> None:
    document = {
        "name": "io.example/weather",
        "description": "Weather forecasts.",
        "version": "1.2.0",
        "packages": [
            {"registryType": "pypi", "identifier": "weather-mcp", "version": "1.2.0", "transport": {"type": "stdio"}}
        ],
    }
    broken = {**document, "packages": [{**document["packages"][0], "transport": {"type": "carrier-pigeon"}}]}

    by_user = await client.post("/api/catalog", json=document, headers=user.headers)
    imported = await client.post("/api/catalog", json=document, headers=admin.headers)
    again = await client.post("/api/catalog", json=document, headers=admin.headers)
    invalid = await client.post("/api/catalog", json=broken, headers=admin.headers)
    newer = await client.post("/api/catalog", json={**document, "version": "1.10.0"}, headers=admin.headers)

    assert_error(by_user, 403, "admin_required")
    assert imported.status_code == 201 and imported.json()["name"] == "io.example/weather"
    assert_error(again, 409, "catalog_version_exists")
    error = assert_error(invalid, 422, "invalid_server_json")
    assert error["details"][0]["loc"] == ["packages", 0, "transport"]  # type: ignore[index]
    assert "packages.0.transport" in str(error["message"])
    assert newer.status_code == 201
    latest = (await client.get("/api/catalog/io.example/weather", headers=user.headers)).json()
    assert latest["version"] == "1.10.0"
    older = (await client.get("/api/catalog/io.example/weather?version=1.2.0", headers=user.headers)).json()
    assert older["version"] == "1.2.0"


async def test_an_entrys_per_user_inputs_are_each_users_own(client: httpx.AsyncClient, user: Account) -> None:
    entry = (await client.get(f"/api/catalog/{GITHUB}", headers=user.headers)).json()
    deployed = await _deploy(client, user, GITHUB)
    # the deployer may still choose one shared token of their own
    shared = await _deploy(
        client, user, GITHUB, isolation="shared", per_user_env=[], secret_env={TOKEN: "github_pat_shared"}
    )
    shared_without = await _deploy(client, user, GITHUB, isolation="shared", per_user_env=[])
    shared_with_per_user = await _deploy(client, user, GITHUB, isolation="shared")

    assert [(i["name"], i["per_user"], i["required"], i["secret"]) for i in entry["inputs"]] == [
        (TOKEN, True, False, True)
    ]
    body = deployed.json()
    assert deployed.status_code == 201, deployed.text
    assert body["isolation"] == "per_user" and body["per_user_env"] == [TOKEN] and body["secret_env"] == []
    assert shared.status_code == 201 and shared.json()["isolation"] == "shared"
    assert shared.json()["per_user_env"] == [] and shared.json()["secret_env"] == [TOKEN]
    assert TOKEN in str(assert_error(shared_without, 422, "missing_input")["message"])
    assert f"per_user_env ({TOKEN}) needs per_user or per_session isolation" in str(
        assert_error(shared_with_per_user, 422, "validation_error")["message"]
    )


async def test_per_user_inputs_must_be_variables_of_the_entry(client: httpx.AsyncClient, admin: Account) -> None:
    document = {
        "name": "io.example/mail",
        "description": "Mail as each user.",
        "version": "1.0.0",
        "packages": [
            {
                "registryType": "pypi",
                "identifier": "mail-mcp",
                "version": "1.0.0",
                "transport": {"type": "stdio"},
                "environmentVariables": [{"name": "MAIL_TOKEN", "isSecret": True}],
            }
        ],
        "_meta": {"org.mcphost/per-user-inputs": ["MAIL_PASSWORD"]},
    }

    wrong = await client.post("/api/catalog", json=document, headers=admin.headers)
    right = await client.post(
        "/api/catalog",
        json={**document, "_meta": {"org.mcphost/per-user-inputs": ["MAIL_TOKEN"]}},
        headers=admin.headers,
    )

    error = assert_error(wrong, 422, "invalid_server_json")
    assert "MAIL_PASSWORD, which no package declares" in str(error["details"])
    assert right.status_code == 201 and right.json()["inputs"][0]["per_user"] is True
