"""Custom domains through the API: claiming a name gives the token and both ways to publish it; only owners change
domains and strangers do not see them; bad names, names in use and unpublished tokens are refused with what to do;
verification through a real DNS server (TXT record) and through the platform's own verification file; deleting
a domain or its server removes it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.models import CustomDomain
from tests.domains.tools import Dns
from tests.pinning.orgs import team
from tests.servers.hosting import deploy
from tests.support.accounts import Account, assert_error

NAME = "mcp.example.com"


def path(server: dict[str, Any], *rest: str) -> str:
    return "/".join([f"/api/servers/{server['id']}/domains", *rest])


async def claim(client: httpx.AsyncClient, who: Account, server: dict[str, Any], name: str = NAME) -> dict[str, Any]:
    response = await client.post(path(server), json={"domain": name}, headers=who.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def verify(client: httpx.AsyncClient, who: Account, server: dict[str, Any], name: str = NAME) -> httpx.Response:
    return await client.post(path(server, name, "verify"), headers=who.headers)


async def test_a_claim_gives_the_token_and_both_ways_to_publish_it(
    client: httpx.AsyncClient, owner: Account, server: dict[str, Any], app: FastAPI
) -> None:
    added = await claim(client, owner, server, "MCP.Example.COM.")
    shown = await client.get(path(server, "mcp.EXAMPLE.com"), headers=owner.headers)
    unicode = await claim(client, owner, server, "Bücher.example")
    listed = await client.get(path(server), headers=owner.headers)

    token = added["verification"]["token"]
    http_port = app.state.platform.settings.domains.http_port
    https_port = app.state.platform.settings.domains.https_port
    assert added["domain"] == NAME
    assert added["status"] == "pending_verification"
    assert len(token) >= 32
    assert added["verification"]["dns"] == {"type": "TXT", "name": f"_mcphost-challenge.{NAME}", "value": token}
    assert added["verification"]["http"]["url"] == f"http://{NAME}:{http_port}/.well-known/mcphost-domain/{token}"
    assert added["verification"]["http"]["body"] == token
    assert added["endpoint_url"] == f"https://{NAME}:{https_port}/mcp"
    assert added["certificate"]["status"] is None
    assert [item["domain"] for item in listed.json()] == [NAME, "xn--bcher-kva.example"]
    assert shown.json() == added
    assert unicode["domain"] == "xn--bcher-kva.example"
    assert unicode["display_name"] == "bücher.example"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("192.0.2.10", "IP address"),
        ("[2001:db8::1]", "IP address"),
        ("*.example.com", "wildcard"),
        ("example", "single label"),
        ("https://mcp.example.com/mcp", "bare domain name"),
        ("mcp.example.com:8443", "port"),
        ("under_score.example.com", "not a valid"),
        ("a" * 64 + ".example.com", "not a valid"),
        (".".join(["abcdefghij"] * 25) + ".com", "at most 253"),
        ("mcp.localhost", "special-use"),
        ("printer.local", "special-use"),
        ("host.123", "numeric"),
        ("   ", "empty"),
    ],
)
async def test_names_that_cannot_be_custom_domains_are_refused(
    client: httpx.AsyncClient, owner: Account, server: dict[str, Any], name: str, says: str
) -> None:
    response = await client.post(path(server), json={"domain": name}, headers=owner.headers)

    error = assert_error(response, 422, "invalid_domain")
    assert says in str(error["message"])
    assert (await client.get(path(server), headers=owner.headers)).json() == []


async def test_malformed_requests_get_a_validation_error(
    client: httpx.AsyncClient, owner: Account, server: dict[str, Any]
) -> None:
    no_body = await client.post(path(server), headers=owner.headers)
    wrong_type = await client.post(path(server), json={"domain": 7}, headers=owner.headers)
    too_long = await client.post(path(server), json={"domain": "a" * 400}, headers=owner.headers)
    bad_id = await client.get("/api/servers/not-a-uuid/domains", headers=owner.headers)

    for response in (no_body, wrong_type, too_long, bad_id):
        assert_error(response, 422)


async def test_a_name_twice_or_the_platforms_own_is_a_conflict(
    client: httpx.AsyncClient, owner: Account, server: dict[str, Any]
) -> None:
    await claim(client, owner, server)
    again = await client.post(path(server), json={"domain": NAME.upper()}, headers=owner.headers)
    # The tests' platform answers at http://127.0.0.1:8700: an IP; "localhost" is refused as a special-use name.
    own = await client.post(path(server), json={"domain": "localhost"}, headers=owner.headers)

    assert "already a domain of this server" in str(assert_error(again, 409, "domain_exists")["message"])
    assert_error(own, 422, "invalid_domain")


async def test_someone_elses_server_is_not_found_and_viewers_only_read(
    client: httpx.AsyncClient, owner: Account, stranger: Account, server: dict[str, Any]
) -> None:
    await claim(client, owner, server)
    attempts = [
        await client.get(path(server), headers=stranger.headers),
        await client.get(path(server, NAME), headers=stranger.headers),
        await client.post(path(server), json={"domain": "other.example.com"}, headers=stranger.headers),
        await verify(client, stranger, server),
        await client.delete(path(server, NAME), headers=stranger.headers),
    ]
    people = await team(client)
    org_server = await deploy(client, people["owner"], org_id=people["org"])
    viewer_reads = await client.get(path(org_server), headers=people["viewer"].headers)
    member_adds = await client.post(path(org_server), json={"domain": NAME}, headers=people["member"].headers)
    admin_adds = await client.post(path(org_server), json={"domain": NAME}, headers=people["admin"].headers)

    for response in attempts:
        assert_error(response, 404)
    assert (await client.get(path(server, NAME), headers=owner.headers)).status_code == 200
    assert viewer_reads.status_code == 200
    assert_error(member_adds, 403)
    assert admin_adds.status_code == 201, admin_adds.text


async def test_verifying_before_the_token_is_published_says_what_was_found_and_stays_pending(
    client: httpx.AsyncClient, owner: Account, server: dict[str, Any]
) -> None:
    await claim(client, owner, server)
    response = await verify(client, owner, server)
    after = await client.get(path(server, NAME), headers=owner.headers)
    unknown = await verify(client, owner, server, "nothing.example.com")

    error = assert_error(response, 422, "verification_failed")
    assert f"no TXT record at _mcphost-challenge.{NAME}" in error["details"]["dns"]  # type: ignore[index]
    assert "could not be fetched" in error["details"]["http"]  # type: ignore[index]
    assert "Publish the token" in str(error["message"])
    assert after.json()["status"] == "pending_verification"
    assert after.json()["certificate"]["status"] is None
    assert_error(unknown, 404, "domain_not_found")


async def test_a_wrong_txt_record_is_named_and_the_right_one_verifies(
    client: httpx.AsyncClient, owner: Account, server: dict[str, Any], dns: Dns
) -> None:
    token = (await claim(client, owner, server))["verification"]["token"]
    await dns.set_txt(f"_mcphost-challenge.{NAME}", "something-else")
    wrong = await verify(client, owner, server)
    await dns.set_txt(f"_mcphost-challenge.{NAME}", token)
    right = await verify(client, owner, server)
    again = await verify(client, owner, server)

    assert "holds 'something-else', not the token" in assert_error(wrong, 422)["details"]["dns"]  # type: ignore[index]
    assert right.status_code == 200, right.text
    assert right.json()["status"] == "verified"
    assert right.json()["verified_with"] == "dns"
    assert right.json()["certificate"]["status"] == "pending"
    assert again.status_code == 200
    assert again.json()["verified_at"] == right.json()["verified_at"]


async def test_a_name_verified_by_another_server_is_a_conflict(
    client: httpx.AsyncClient, owner: Account, stranger: Account, server: dict[str, Any], dns: Dns
) -> None:
    theirs = await deploy(client, stranger, name="theirs")
    early = await claim(client, stranger, theirs)  # claiming first does not hold the name
    token = (await claim(client, owner, server))["verification"]["token"]
    await dns.set_txt(f"_mcphost-challenge.{NAME}", token)
    assert (await verify(client, owner, server)).status_code == 200

    another = await deploy(client, stranger, name="another")
    late = await client.post(path(another), json={"domain": NAME}, headers=stranger.headers)
    early_verify = await verify(client, stranger, theirs)

    assert "already verified by another server" in str(assert_error(late, 409, "domain_taken")["message"])
    assert_error(early_verify, 409, "domain_taken")
    assert early["status"] == "pending_verification"


async def test_deleting_a_domain_or_its_server_removes_it(
    client: httpx.AsyncClient, owner: Account, server: dict[str, Any], app: FastAPI
) -> None:
    await claim(client, owner, server)
    await claim(client, owner, server, "second.example.com")
    deleted = await client.delete(path(server, NAME), headers=owner.headers)
    gone = await client.get(path(server, NAME), headers=owner.headers)
    twice = await client.delete(path(server, NAME), headers=owner.headers)
    await client.delete(f"/api/servers/{server['id']}", headers=owner.headers)

    assert deleted.status_code == 204
    assert_error(gone, 404, "domain_not_found")
    assert_error(twice, 404)
    async with app.state.platform.db.session_scope() as session:
        assert (await session.scalars(sa.select(CustomDomain))).all() == []


async def test_the_verification_file_answers_for_a_pending_claim_of_the_requested_host(
    client: httpx.AsyncClient, owner: Account, server: dict[str, Any]
) -> None:
    token = (await claim(client, owner, server))["verification"]["token"]
    url = f"/.well-known/mcphost-domain/{token}"

    by_host = await client.get(url, headers={"host": f"{NAME}:8080"})
    forwarded = await client.get(url, headers={"x-forwarded-host": NAME})
    other_host = await client.get(url, headers={"host": "other.example.com"})
    other_token = await client.get("/.well-known/mcphost-domain/nope", headers={"host": NAME})

    assert by_host.status_code == 200 and by_host.text.strip() == token
    assert forwarded.status_code == 200 and forwarded.text.strip() == token
    assert other_host.status_code == 404
    assert other_token.status_code == 404


async def test_domains_are_refused_while_the_feature_is_off(
    client: httpx.AsyncClient, owner: Account, server: dict[str, Any], app: FastAPI
) -> None:
    app.state.platform.settings.domains.enabled = False
    response = await client.post(path(server), json={"domain": NAME}, headers=owner.headers)

    assert "MCPHOST_DOMAINS__ENABLED" in str(assert_error(response, 409, "domains_disabled")["message"])
