"""Webhooks through the API: the generic endpoint's secret, GitHub's signature and events, rotation, deliveries, size
and rate limits, and who may see what."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.models import ServerWebhook
from mcphost.revisions.record import record_resolved
from mcphost.runtimes.fake import FakeRuntime
from tests.revisions.conftest import create, numbers, revisions
from tests.support.accounts import Account, assert_error, sign_up

GIT = {"type": "git", "url": "https://github.com/example/weather-mcp", "ref": "main"}


@pytest.fixture
def git_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake runtime runs git sources too (building them is the git runtime's business, not the webhook's)."""
    monkeypatch.setattr(FakeRuntime, "source_types", frozenset({"package", "command", "git"}))


def _sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _push(ref: str = "refs/heads/main", **extra: Any) -> bytes:
    payload = {
        "ref": ref,
        "after": "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
        "deleted": False,
        "head_commit": {"message": "Fix the forecast parser\n\nLong description."},
        "repository": {"full_name": "example/weather-mcp", "default_branch": "main"},
    } | extra
    return json.dumps(payload).encode()


async def _github(
    client: httpx.AsyncClient,
    server: dict[str, Any],
    event: str,
    body: bytes,
    secret: str | None = None,
    **headers: str,
) -> httpx.Response:
    signed = {"X-Hub-Signature-256": _sign(secret or server["webhook_secret"], body)}
    return await client.post(
        f"/api/servers/{server['id']}/github",
        content=body,
        headers={"X-GitHub-Event": event, "X-GitHub-Delivery": f"delivery-{event}", "Content-Type": "application/json"}
        | signed
        | headers,
    )


async def _deliveries(client: httpx.AsyncClient, who: Account, server_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/servers/{server_id}/webhook/deliveries", headers=who.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_the_secret_is_shown_once_at_create(client: httpx.AsyncClient, user: Account) -> None:
    server = await create(client, user)
    shown = await client.get(f"/api/servers/{server['id']}", headers=user.headers)
    webhook = await client.get(f"/api/servers/{server['id']}/webhook", headers=user.headers)

    assert server["webhook_secret"].startswith("mcph_wh_") and len(server["webhook_secret"]) > 40
    assert server["webhook_secret"] not in shown.text + webhook.text
    assert webhook.json() | {"rotated_at": None} == {
        "url": f"http://127.0.0.1:8700/api/servers/{server['id']}/webhook",
        "github_url": f"http://127.0.0.1:8700/api/servers/{server['id']}/github",
        "has_secret": True,
        "rotated_at": None,
        "git_branch": None,
        "follows_pushes": False,
    }


async def test_the_generic_webhook_redeploys_with_the_right_secret_only(
    client: httpx.AsyncClient, user: Account
) -> None:
    server = await create(client, user)
    url = f"/api/servers/{server['id']}/webhook"

    wrong = await client.post(url, headers={"X-Webhook-Secret": "mcph_wh_not-the-secret"})
    missing = await client.post(url)
    right = await client.post(url, headers={"X-Webhook-Secret": server["webhook_secret"]}, json={"any": "body"})

    assert "wrong" in str(assert_error(wrong, 401, "invalid_webhook_secret")["message"])
    assert "missing" in str(assert_error(missing, 401, "invalid_webhook_secret")["message"])
    assert right.status_code == 202, right.text
    assert right.json() | {"delivery": 0} == {
        "outcome": "redeployed",
        "revision": 2,
        "ignored": None,
        "detail": "redeployed as revision 2 (webhook call)",
        "delivery": 0,
    }
    newest = (await revisions(client, user, server["id"]))["items"][0]
    assert (newest["number"], newest["reason"], newest["actor"], newest["created_by"]) == (
        2,
        "webhook",
        "webhook",
        None,
    )
    shown = (await client.get(f"/api/servers/{server['id']}", headers=user.headers)).json()
    assert shown["revision"] == 2 and shown["desired_state"] == "running"
    listed = await _deliveries(client, user, server["id"])
    assert [(d["endpoint"], d["outcome"], d["revision"]) for d in listed] == [
        ("webhook", "redeployed", 2),
        ("webhook", "rejected", None),
        ("webhook", "rejected", None),
    ]
    assert listed[0]["id"] == right.json()["delivery"]


async def test_refused_deliveries_deploy_nothing(app: FastAPI, client: httpx.AsyncClient, user: Account) -> None:
    server = await create(client, user)
    for headers in ({"X-Webhook-Secret": "wrong"}, {}, {"X-Webhook-Secret": server["webhook_secret"] + "x"}):
        assert_error(await client.post(f"/api/servers/{server['id']}/webhook", headers=headers), 401)
    assert_error(await _github(client, server, "push", _push(), secret="not-the-secret"), 401, "invalid_signature")
    unsigned = await client.post(
        f"/api/servers/{server['id']}/github", content=_push(), headers={"X-GitHub-Event": "push"}
    )
    assert "missing" in str(assert_error(unsigned, 401, "invalid_signature")["message"])

    assert await numbers(client, user, server["id"]) == [1]
    assert {d["outcome"] for d in await _deliveries(client, user, server["id"])} == {"rejected"}


async def test_unknown_servers_are_404_and_servers_without_a_secret_say_to_rotate(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    server = await create(client, user)
    async with app.state.platform.db.session_scope() as session:  # as for servers made before webhooks existed
        await session.execute(sa.delete(ServerWebhook))

    unknown = await client.post(f"/api/servers/{uuid.uuid4()}/webhook", headers={"X-Webhook-Secret": "x"})
    without = await client.post(
        f"/api/servers/{server['id']}/webhook", headers={"X-Webhook-Secret": server["webhook_secret"]}
    )
    shown = (await client.get(f"/api/servers/{server['id']}/webhook", headers=user.headers)).json()
    rotated = await client.post(f"/api/servers/{server['id']}/webhook/rotate", headers=user.headers)
    old = await client.post(
        f"/api/servers/{server['id']}/webhook", headers={"X-Webhook-Secret": server["webhook_secret"]}
    )
    new = await client.post(
        f"/api/servers/{server['id']}/webhook", headers={"X-Webhook-Secret": rotated.json()["webhook_secret"]}
    )

    assert_error(unknown, 404, "not_found")
    assert (
        "no webhook secret; rotate one first" in str(assert_error(without, 401, "no_webhook_secret")["message"]).lower()
    )
    assert shown["has_secret"] is False and shown["rotated_at"] is None
    assert rotated.status_code == 200 and rotated.json()["has_secret"] is True and rotated.json()["rotated_at"]
    assert rotated.json()["webhook_secret"] != server["webhook_secret"]
    assert_error(old, 401, "invalid_webhook_secret")
    assert new.status_code == 202 and new.json()["revision"] == 2


async def test_github_ping_push_other_branches_and_events(
    git_runs: None, client: httpx.AsyncClient, user: Account
) -> None:
    server = await create(client, user, source=GIT)

    ping = await _github(client, server, "ping", json.dumps({"zen": "Keep it logically awesome."}).encode())
    other_branch = await _github(client, server, "push", _push("refs/heads/feature"))
    tag = await _github(client, server, "push", _push("refs/tags/v1.0"))
    issue = await _github(client, server, "issues", b'{"action": "opened"}')
    assert await numbers(client, user, server["id"]) == [1]
    push = await _github(client, server, "push", _push())

    assert ping.status_code == 200 and ping.json()["outcome"] == "ignored" and "ping" in ping.json()["ignored"]
    assert other_branch.status_code == 202 and other_branch.json()["outcome"] == "ignored"
    assert (
        "refs/heads/feature" in other_branch.json()["ignored"] and "refs/heads/main" in other_branch.json()["ignored"]
    )
    assert tag.status_code == 202 and tag.json()["outcome"] == "ignored"
    assert issue.status_code == 202 and "only push" in issue.json()["ignored"]
    assert push.status_code == 202 and push.json()["outcome"] == "redeployed" and push.json()["revision"] == 2
    newest = (await revisions(client, user, server["id"]))["items"][0]
    assert (newest["reason"], newest["actor"]) == ("push", "github")
    assert newest["detail"] == "push to main: 1a2b3c4 Fix the forecast parser"
    listed = await _deliveries(client, user, server["id"])
    assert [(d["event"], d["outcome"], d["delivery_id"]) for d in listed] == [
        ("push", "redeployed", "delivery-push"),
        ("issues", "ignored", "delivery-issues"),
        ("push", "ignored", "delivery-push"),
        ("push", "ignored", "delivery-push"),
        ("ping", "ignored", "delivery-ping"),
    ]
    webhook = (await client.get(f"/api/servers/{server['id']}/webhook", headers=user.headers)).json()
    assert webhook["git_branch"] == "main" and webhook["follows_pushes"] is True


async def test_github_form_payloads_default_branches_and_non_git_servers(
    git_runs: None, client: httpx.AsyncClient, user: Account
) -> None:
    follows_default = await create(client, user, name="Default", source=GIT | {"ref": None})
    package = await create(client, user, name="Package")
    form = urlencode({"payload": _push("refs/heads/main", repository={"default_branch": "main"}).decode()}).encode()

    pushed = await _github(
        client, follows_default, "push", form, **{"Content-Type": "application/x-www-form-urlencoded"}
    )
    ignored = await _github(client, package, "push", _push())
    garbled = await _github(client, follows_default, "push", b"not json")

    assert pushed.status_code == 202 and pushed.json()["outcome"] == "redeployed", pushed.text
    assert ignored.status_code == 202 and "not a git repository" in ignored.json()["ignored"]
    assert_error(garbled, 400, "invalid_payload")
    assert await numbers(client, user, package["id"]) == [1]


async def test_who_may_see_and_rotate(client: httpx.AsyncClient, user: Account) -> None:
    stranger = await sign_up(client, "stranger@example.com")
    member = await sign_up(client, "member@example.com")
    viewer = await sign_up(client, "viewer@example.com")
    org = (await client.post("/api/orgs", json={"name": "Acme"}, headers=user.headers)).json()
    for who, role in ((member, "member"), (viewer, "viewer")):
        added = await client.post(
            f"/api/orgs/{org['id']}/members", json={"email": who.email, "role": role}, headers=user.headers
        )
        assert added.status_code in (200, 201), added.text
    server = await create(client, user, org_id=org["id"])
    base = f"/api/servers/{server['id']}/webhook"

    for path in ("", "/deliveries"):
        assert_error(await client.get(base + path, headers=stranger.headers), 404, "not_found")
        assert (await client.get(base + path, headers=viewer.headers)).status_code == 200
    assert_error(await client.post(base + "/rotate", headers=stranger.headers), 404, "not_found")
    assert_error(await client.post(base + "/rotate", headers=viewer.headers), 403, "insufficient_role")
    assert_error(await client.post(base + "/rotate", headers=member.headers), 403, "insufficient_role")
    assert (await client.post(base + "/rotate", headers=user.headers)).status_code == 200
    client.cookies.clear()  # signing in left the last account's session cookie
    assert_error(await client.post(base + "/rotate"), 401)


@pytest.mark.parametrize("settings_overrides", [{"webhooks": {"max_body_bytes": 4096}}])
async def test_bodies_over_the_webhook_limit_are_413(client: httpx.AsyncClient, user: Account) -> None:
    server = await create(client, user)
    secret = {"X-Webhook-Secret": server["webhook_secret"]}

    too_big = await client.post(f"/api/servers/{server['id']}/webhook", content=b"x" * 5000, headers=secret)
    fits = await client.post(f"/api/servers/{server['id']}/webhook", content=b"x" * 4000, headers=secret)

    assert_error(too_big, 413, "payload_too_large")
    assert fits.status_code == 202
    assert await numbers(client, user, server["id"]) == [2, 1]


async def test_webhooks_take_larger_bodies_than_the_api(client: httpx.AsyncClient, user: Account) -> None:
    """GitHub push payloads can pass the API's 1 MiB limit; a webhook takes up to 5 MiB."""
    server = await create(client, user)
    body = _push(padding="x" * 2_000_000)

    pushed = await _github(client, server, "push", body)

    assert pushed.status_code == 202, pushed.text


@pytest.mark.parametrize("settings_overrides", [{"webhooks": {"rate_limit_burst": 2, "rate_limit_per_minute": 1}}])
async def test_deliveries_are_rate_limited_per_server(client: httpx.AsyncClient, user: Account) -> None:
    first = await create(client, user, name="First")
    second = await create(client, user, name="Second")

    answers = [
        await client.post(f"/api/servers/{first['id']}/webhook", headers={"X-Webhook-Secret": first["webhook_secret"]})
        for _ in range(3)
    ]
    other = await client.post(
        f"/api/servers/{second['id']}/webhook", headers={"X-Webhook-Secret": second["webhook_secret"]}
    )

    assert [answer.status_code for answer in answers[:2]] == [202, 202]
    assert_error(answers[2], 429, "rate_limited")
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert other.status_code == 202
    assert await numbers(client, user, first["id"]) == [3, 2, 1]


async def test_a_push_after_a_rollback_builds_the_branch_again(
    git_runs: None, app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    server = await create(client, user, source=GIT)
    await record_resolved(app.state.platform.db, uuid.UUID(server["id"]), 1, {"commit": "c" * 40})
    await client.post(f"/api/servers/{server['id']}/redeploy", headers=user.headers)
    rolled = await client.post(f"/api/servers/{server['id']}/rollback", json={"revision": 1}, headers=user.headers)
    assert rolled.json()["server"]["source"]["commit"] == "c" * 40

    push = await _github(client, server, "push", _push())

    assert push.status_code == 202 and push.json()["outcome"] == "redeployed" and push.json()["revision"] == 4
    now = (await client.get(f"/api/servers/{server['id']}", headers=user.headers)).json()
    assert now["source"].get("commit") is None and now["source"]["ref"] == "main"
