"""Organisations: ownership, visibility, roles, invitations."""

from __future__ import annotations

import httpx
import pytest

from mcphost.settings import Settings
from tests.support.accounts import PASSWORD, Account, assert_error, sign_in, sign_up
from tests.support.apps import adjusted, app_client


async def _org(client: httpx.AsyncClient, owner: Account, name: str = "Acme") -> str:
    response = await client.post("/api/orgs", json={"name": name}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _add(client: httpx.AsyncClient, by: Account, org_id: str, email: str, role: str) -> httpx.Response:
    return await client.post(f"/api/orgs/{org_id}/members", json={"email": email, "role": role}, headers=by.headers)


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict[str, Account]:
    """An administrator plus four ordinary users."""
    return {name: await sign_up(client, f"{name}@example.com") for name in ("root", "olga", "adam", "mia", "vic")}


async def test_creator_owns_the_org_and_sees_it_in_me(client: httpx.AsyncClient, people: dict[str, Account]) -> None:
    created = await client.post("/api/orgs", json={"name": "  Acme Labs  "}, headers=people["olga"].headers)

    assert created.status_code == 201
    assert created.json() | {"id": None, "created_at": None} == {
        "id": None,
        "name": "Acme Labs",
        "slug": "acme-labs",
        "server_quota": 20,
        "created_at": None,
        "role": "owner",
    }
    me = (await client.get("/api/me", headers=people["olga"].headers)).json()
    assert [(org["name"], org["role"]) for org in me["orgs"]] == [("Acme Labs", "owner")]


async def test_same_name_gets_a_distinct_slug(client: httpx.AsyncClient, people: dict[str, Account]) -> None:
    first = (await client.post("/api/orgs", json={"name": "Acme"}, headers=people["olga"].headers)).json()
    second = (await client.post("/api/orgs", json={"name": "Acme"}, headers=people["adam"].headers)).json()

    assert first["slug"] == "acme" and second["slug"].startswith("acme-") and second["slug"] != "acme"


async def test_non_members_get_404_for_everything_of_the_org(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    org_id = await _org(client, people["olga"])
    outsider = people["vic"]

    responses = [
        await client.get(f"/api/orgs/{org_id}", headers=outsider.headers),
        await client.get(f"/api/orgs/{org_id}/members", headers=outsider.headers),
        await client.patch(f"/api/orgs/{org_id}", json={"name": "Mine"}, headers=outsider.headers),
        await client.delete(f"/api/orgs/{org_id}", headers=outsider.headers),
        await _add(client, outsider, org_id, "vic2@example.com", "member"),
    ]

    for response in responses:
        assert_error(response, 404, "not_found")
    assert (await client.get("/api/orgs", headers=outsider.headers)).json() == []


async def test_adding_an_existing_user_makes_them_a_member(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    org_id = await _org(client, people["olga"])

    added = await _add(client, people["olga"], org_id, "MIA@example.com", "member")
    again = await _add(client, people["olga"], org_id, "mia@example.com", "viewer")

    assert added.status_code == 201
    assert added.json()["status"] == "added" and added.json()["member"]["email"] == "mia@example.com"
    assert_error(again, 409, "already_member")
    mine = (await client.get("/api/orgs", headers=people["mia"].headers)).json()
    assert [(org["id"], org["role"]) for org in mine] == [(org_id, "member")]


async def test_viewer_can_read_but_not_change_anything(client: httpx.AsyncClient, people: dict[str, Account]) -> None:
    org_id = await _org(client, people["olga"])
    await _add(client, people["olga"], org_id, "vic@example.com", "viewer")
    viewer = people["vic"]

    assert (await client.get(f"/api/orgs/{org_id}", headers=viewer.headers)).json()["role"] == "viewer"
    assert (await client.get(f"/api/orgs/{org_id}/members", headers=viewer.headers)).status_code == 200
    for response in (
        await client.patch(f"/api/orgs/{org_id}", json={"name": "Renamed"}, headers=viewer.headers),
        await _add(client, viewer, org_id, "new@example.com", "viewer"),
        await client.patch(
            f"/api/orgs/{org_id}/members/{people['olga'].id}", json={"role": "viewer"}, headers=viewer.headers
        ),
        await client.delete(f"/api/orgs/{org_id}", headers=viewer.headers),
    ):
        assert_error(response, 403, "insufficient_role")
    assert (await client.get(f"/api/orgs/{org_id}", headers=viewer.headers)).json()["name"] == "Acme"


async def test_members_cannot_manage_members_but_admins_can(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    org_id = await _org(client, people["olga"])
    await _add(client, people["olga"], org_id, "mia@example.com", "member")
    await _add(client, people["olga"], org_id, "adam@example.com", "admin")

    by_member = await _add(client, people["mia"], org_id, "vic@example.com", "viewer")
    by_admin = await _add(client, people["adam"], org_id, "vic@example.com", "viewer")
    admin_makes_owner = await client.patch(
        f"/api/orgs/{org_id}/members/{people['vic'].id}",
        json={"role": "owner"},
        headers=people["adam"].headers,
    )
    admin_demotes_owner = await client.patch(
        f"/api/orgs/{org_id}/members/{people['olga'].id}",
        json={"role": "member"},
        headers=people["adam"].headers,
    )

    assert_error(by_member, 403, "insufficient_role")
    assert by_admin.status_code == 201
    assert_error(admin_makes_owner, 403, "insufficient_role")
    assert_error(admin_demotes_owner, 403, "insufficient_role")


async def test_owner_changes_roles_but_the_last_owner_stays(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    org_id = await _org(client, people["olga"])
    await _add(client, people["olga"], org_id, "mia@example.com", "member")

    promote = await client.patch(
        f"/api/orgs/{org_id}/members/{people['mia'].id}",
        json={"role": "admin"},
        headers=people["olga"].headers,
    )
    demote_self = await client.patch(
        f"/api/orgs/{org_id}/members/{people['olga'].id}",
        json={"role": "member"},
        headers=people["olga"].headers,
    )
    leave = await client.delete(f"/api/orgs/{org_id}/members/{people['olga'].id}", headers=people["olga"].headers)

    assert promote.json()["role"] == "admin"
    assert_error(demote_self, 409, "last_owner")
    assert_error(leave, 409, "last_owner")

    await client.patch(
        f"/api/orgs/{org_id}/members/{people['mia'].id}",
        json={"role": "owner"},
        headers=people["olga"].headers,
    )
    left = await client.delete(f"/api/orgs/{org_id}/members/{people['olga'].id}", headers=people["olga"].headers)
    assert left.status_code == 204
    assert_error(await client.get(f"/api/orgs/{org_id}", headers=people["olga"].headers), 404, "not_found")


async def test_admin_removes_a_member_who_loses_access(client: httpx.AsyncClient, people: dict[str, Account]) -> None:
    org_id = await _org(client, people["olga"])
    await _add(client, people["olga"], org_id, "mia@example.com", "member")

    removed = await client.delete(f"/api/orgs/{org_id}/members/{people['mia'].id}", headers=people["olga"].headers)
    again = await client.delete(f"/api/orgs/{org_id}/members/{people['mia'].id}", headers=people["olga"].headers)

    assert removed.status_code == 204
    assert_error(again, 404, "not_found")
    assert_error(await client.get(f"/api/orgs/{org_id}", headers=people["mia"].headers), 404, "not_found")


async def test_unknown_email_is_invited_and_joins_on_registration(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    org_id = await _org(client, people["olga"])

    invited = await _add(client, people["olga"], org_id, "newcomer@example.com", "viewer")
    listing = (await client.get(f"/api/orgs/{org_id}/members", headers=people["olga"].headers)).json()
    newcomer = await sign_up(client, "Newcomer@Example.com")

    assert invited.status_code == 201 and invited.json()["status"] == "invited"
    assert [i["email"] for i in listing["invitations"]] == ["newcomer@example.com"]
    me = (await client.get("/api/me", headers=newcomer.headers)).json()
    assert [(org["id"], org["role"]) for org in me["orgs"]] == [(org_id, "viewer")]
    after = (await client.get(f"/api/orgs/{org_id}/members", headers=people["olga"].headers)).json()
    assert after["invitations"] == []
    assert {m["email"] for m in after["members"]} == {"olga@example.com", "newcomer@example.com"}


async def test_withdrawn_invitation_does_not_apply(client: httpx.AsyncClient, people: dict[str, Account]) -> None:
    org_id = await _org(client, people["olga"])
    invitation = (await _add(client, people["olga"], org_id, "late@example.com", "member")).json()["invitation"]

    withdrawn = await client.delete(
        f"/api/orgs/{org_id}/invitations/{invitation['id']}", headers=people["olga"].headers
    )
    late = await sign_up(client, "late@example.com")

    assert withdrawn.status_code == 204
    assert (await client.get("/api/me", headers=late.headers)).json()["orgs"] == []


async def test_rename_by_admin_quota_only_by_platform_admin(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    org_id = await _org(client, people["olga"])

    renamed = await client.patch(f"/api/orgs/{org_id}", json={"name": "Acme 2"}, headers=people["olga"].headers)
    owner_quota = await client.patch(f"/api/orgs/{org_id}", json={"server_quota": 99}, headers=people["olga"].headers)
    admin_quota = await client.patch(f"/api/orgs/{org_id}", json={"server_quota": 99}, headers=people["root"].headers)

    assert renamed.json()["name"] == "Acme 2"
    assert_error(owner_quota, 403, "admin_required")
    assert admin_quota.json()["server_quota"] == 99


async def test_platform_admin_sees_every_org(client: httpx.AsyncClient, people: dict[str, Account]) -> None:
    org_id = await _org(client, people["olga"])

    listed = (await client.get("/api/orgs", headers=people["root"].headers)).json()
    one = (await client.get(f"/api/orgs/{org_id}", headers=people["root"].headers)).json()

    assert [(org["id"], org["role"]) for org in listed] == [(org_id, None)]
    assert one["name"] == "Acme"


async def test_owner_deletes_the_org(client: httpx.AsyncClient, people: dict[str, Account]) -> None:
    org_id = await _org(client, people["olga"])
    await _add(client, people["olga"], org_id, "mia@example.com", "admin")

    by_admin = await client.delete(f"/api/orgs/{org_id}", headers=people["mia"].headers)
    by_owner = await client.delete(f"/api/orgs/{org_id}", headers=people["olga"].headers)

    assert_error(by_admin, 403, "insufficient_role")
    assert by_owner.status_code == 204
    assert (await client.get("/api/orgs", headers=people["mia"].headers)).json() == []


async def test_invalid_org_input_is_422(client: httpx.AsyncClient, people: dict[str, Account]) -> None:
    org_id = await _org(client, people["olga"])

    for response in (
        await client.post("/api/orgs", json={"name": ""}, headers=people["olga"].headers),
        await client.post("/api/orgs", json={"name": "x" * 101}, headers=people["olga"].headers),
        await _add(client, people["olga"], org_id, "not-an-email", "member"),
        await _add(client, people["olga"], org_id, "ok@example.com", "emperor"),
        await client.get("/api/orgs/not-a-uuid", headers=people["olga"].headers),
    ):
        assert_error(response, 422, "validation_error")


async def test_invited_email_may_register_when_signup_is_closed(settings: Settings) -> None:
    async with app_client(adjusted(settings, auth={"allow_signup": False})) as client:
        owner = await sign_up(client, "owner@example.com")
        org_id = await _org(client, owner)
        await _add(client, owner, org_id, "guest@example.com", "member")

        stranger = await client.post("/api/auth/register", json={"email": "x@example.com", "password": PASSWORD})
        guest = await client.post("/api/auth/register", json={"email": "guest@example.com", "password": PASSWORD})
        orgs = (await client.get("/api/me", headers=(await sign_in(client, "guest@example.com")).headers)).json()

    assert_error(stranger, 403, "signup_disabled")
    assert guest.status_code == 201
    assert [org["id"] for org in orgs["orgs"]] == [org_id]
