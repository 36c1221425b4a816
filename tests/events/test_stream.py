"""GET /api/events/stream over a real server: who sees which events, live and after reconnecting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from mcphost.events import Event
from tests.conftest import make_settings
from tests.events.streams import STREAM_PATH, Frame, Live, kinds, running
from tests.support.accounts import Account, assert_error, sign_up


@pytest.fixture
async def live(tmp_path: Path, database_url: str) -> AsyncIterator[Live]:
    # A short heartbeat: keep-alives and credential checks come often, so a stream that must end ends quickly.
    settings = make_settings(tmp_path / "home", database_url, events={"sse_heartbeat_seconds": 0.25})
    async with running(settings) as live:
        yield live


@pytest.fixture
async def people(live: Live) -> dict[str, Account]:
    """An administrator (the first account) and three ordinary users."""
    root = await sign_up(live.http, "root@example.com")
    names = ("olga", "adam", "mia")
    users = await asyncio.gather(*(sign_up(live.http, f"{name}@example.com") for name in names))
    return {"root": root, **dict(zip(names, users, strict=True))}


async def create_org(live: Live, owner: Account, name: str) -> str:
    response = await live.http.post("/api/orgs", json={"name": name}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def add_member(live: Live, by: Account, org_id: str, member: Account, role: str = "member") -> None:
    response = await live.http.post(
        f"/api/orgs/{org_id}/members", json={"email": member.email, "role": role}, headers=by.headers
    )
    assert response.status_code == 201, response.text


async def rename(live: Live, by: Account, org_id: str, name: str) -> None:
    response = await live.http.patch(f"/api/orgs/{org_id}", json={"name": name}, headers=by.headers)
    assert response.status_code == 200, response.text


def org_created(org_name: str) -> Callable[[Frame], bool]:
    """Matches the ``org.created`` event of an org with this name, the marker many tests end on."""
    return lambda frame: frame.event == "org.created" and frame.json()["data"]["name"] == org_name


def summary(frame: Frame) -> tuple[str | None, str | None]:
    body = frame.json()
    return frame.event, body["data"].get("name") or body["data"].get("user_id")


async def test_the_stream_needs_credentials(live: Live) -> None:
    anonymous = await live.http.get(STREAM_PATH)
    forged = await live.http.get(STREAM_PATH, headers={"Authorization": "Bearer not-a-token"})

    assert_error(anonymous, 401, "not_authenticated")
    assert_error(forged, 401)


async def test_each_event_has_an_id_a_kind_and_a_json_body(live: Live, people: dict[str, Account]) -> None:
    olga = people["olga"]

    async with live.stream(olga.headers) as stream:
        org_id = await create_org(live, olga, "Acme")
        frame = await stream.event()

    body = frame.json()
    assert frame.event == "org.created" == body["kind"]
    assert frame.id and frame.id == body["id"]
    assert body["data"] == {"org_id": org_id, "name": "Acme"}
    assert body["org_id"] == org_id and body["user_id"] == str(olga.id)
    assert body["ts"].endswith("+00:00")


async def test_members_see_their_orgs_events_and_not_other_orgs(live: Live, people: dict[str, Account]) -> None:
    olga, adam, mia = people["olga"], people["adam"], people["mia"]
    shared = await create_org(live, olga, "Shared")
    await add_member(live, olga, shared, adam, "admin")
    elsewhere = await create_org(live, mia, "Elsewhere")

    async with live.stream(adam.headers) as stream:
        await add_member(live, mia, elsewhere, olga)  # adam is not in Elsewhere
        await rename(live, mia, elsewhere, "Elsewhere Renamed")
        await add_member(live, olga, shared, mia)  # another member changes adam's org
        await create_org(live, adam, "Adam's own")
        received = await stream.events_until(org_created("Adam's own"))

    assert [summary(frame) for frame in received] == [
        ("org.member.added", str(mia.id)),
        ("org.created", "Adam's own"),
    ]
    assert all(frame.json()["org_id"] != elsewhere for frame in received)


async def test_an_administrator_sees_every_orgs_events(live: Live, people: dict[str, Account]) -> None:
    root, olga, mia = people["root"], people["olga"], people["mia"]

    async with live.stream(root.headers) as stream:
        org_id = await create_org(live, olga, "Acme")
        await add_member(live, olga, org_id, mia)
        await rename(live, olga, org_id, "Acme Labs")
        received = [await stream.event() for _ in range(3)]

    assert [summary(frame) for frame in received] == [
        ("org.created", "Acme"),
        ("org.member.added", str(mia.id)),
        ("org.updated", "Acme Labs"),
    ]


async def test_events_addressed_to_a_user_reach_them_and_nobody_else(live: Live, people: dict[str, Account]) -> None:
    olga, mia = people["olga"], people["mia"]

    async with live.stream(mia.headers) as mine, live.stream(olga.headers) as theirs:
        await live.platform.bus.publish([Event("user.notice", {"text": "hello mia"}, user_id=mia.id)])
        await create_org(live, olga, "Marker")
        got_mine = await mine.event()
        got_theirs = await theirs.event()

    assert (got_mine.event, got_mine.json()["data"]) == ("user.notice", {"text": "hello mia"})
    assert summary(got_theirs) == ("org.created", "Marker")


async def test_a_user_added_mid_stream_starts_receiving_that_orgs_events(
    live: Live, people: dict[str, Account]
) -> None:
    olga, mia = people["olga"], people["mia"]
    org_id = await create_org(live, olga, "Acme")

    async with live.stream(mia.headers) as stream:
        await rename(live, olga, org_id, "Before mia")
        await add_member(live, olga, org_id, mia)
        await rename(live, olga, org_id, "After mia")
        await create_org(live, mia, "Mia's own")
        received = await stream.events_until(org_created("Mia's own"))

    assert [summary(frame) for frame in received] == [
        ("org.member.added", str(mia.id)),
        ("org.updated", "After mia"),
        ("org.created", "Mia's own"),
    ]


async def test_a_removed_member_sees_their_removal_and_then_nothing_of_the_org(
    live: Live, people: dict[str, Account]
) -> None:
    olga, mia = people["olga"], people["mia"]
    org_id = await create_org(live, olga, "Acme")
    await add_member(live, olga, org_id, mia)

    async with live.stream(mia.headers) as stream:
        removed = await live.http.delete(f"/api/orgs/{org_id}/members/{mia.id}", headers=olga.headers)
        assert removed.status_code == 204
        await rename(live, olga, org_id, "Without mia")
        await create_org(live, mia, "Mia's own")
        received = await stream.events_until(org_created("Mia's own"))

    assert [summary(frame) for frame in received] == [
        ("org.member.removed", str(mia.id)),
        ("org.created", "Mia's own"),
    ]


async def test_disabling_an_account_ends_its_open_stream(live: Live, people: dict[str, Account]) -> None:
    root, mia = people["root"], people["mia"]

    async with live.stream(mia.headers) as stream:
        disabled = await live.http.patch(f"/api/users/{mia.id}", json={"is_active": False}, headers=root.headers)
        assert disabled.status_code == 200, disabled.text
        await create_org(live, root, "Root's org")  # would reach an administrator; mia must not get it either
        after = await stream.rest(within=5)

    assert after == []
    assert_error(await live.http.get(STREAM_PATH, headers=mia.headers), 401)


async def test_signing_out_ends_the_open_stream_of_that_session(live: Live, people: dict[str, Account]) -> None:
    mia = people["mia"]

    async with live.stream(mia.headers) as stream:
        signed_out = await live.http.post("/api/auth/logout", headers=mia.headers)
        assert signed_out.status_code == 204
        after = await stream.rest(within=5)

    assert after == []


async def test_a_demoted_administrator_stops_seeing_other_orgs_events(live: Live, people: dict[str, Account]) -> None:
    root, olga, mia = people["root"], people["olga"], people["mia"]
    promoted = await live.http.patch(f"/api/users/{olga.id}", json={"role": "admin"}, headers=root.headers)
    assert promoted.status_code == 200, promoted.text

    async with live.stream(olga.headers) as stream:
        await create_org(live, mia, "Seen while admin")
        demoted = await live.http.patch(f"/api/users/{olga.id}", json={"role": "user"}, headers=root.headers)
        assert demoted.status_code == 200, demoted.text
        await create_org(live, mia, "Not for olga any more")
        await create_org(live, olga, "Olga's own")
        received = await stream.events_until(org_created("Olga's own"))

    assert [summary(frame) for frame in received] == [
        ("org.created", "Seen while admin"),
        ("user.updated", None),
        ("org.created", "Olga's own"),
    ]


async def test_reconnecting_with_last_event_id_resumes_with_the_missed_events(
    live: Live, people: dict[str, Account]
) -> None:
    olga, adam, mia = people["olga"], people["adam"], people["mia"]

    async with live.stream(olga.headers) as stream:
        org_id = await create_org(live, olga, "Acme")
        seen = await stream.event()
    # While olga is away: two events of her org, one of an org she is not in.
    await add_member(live, olga, org_id, adam)
    await create_org(live, mia, "Not olga's")
    await rename(live, olga, org_id, "Acme Labs")

    assert seen.id is not None
    async with live.stream(olga.headers, last_event_id=seen.id) as resumed:
        await create_org(live, olga, "Live again")
        received = await resumed.events_until(org_created("Live again"))

    assert [summary(frame) for frame in received] == [
        ("org.member.added", str(adam.id)),
        ("org.updated", "Acme Labs"),
        ("org.created", "Live again"),
    ]


async def test_a_client_too_slow_for_its_queue_is_cut_off_and_resumes_without_losing_events(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path / "home", database_url, events={"backend": "memory", "subscriber_queue": 4})
    async with running(settings) as live:
        root = await sign_up(live.http, "root@example.com")
        burst = [Event("test.burst", {"n": n}) for n in range(10)]

        async with live.stream(root.headers) as stream:
            await live.platform.bus.publish(burst)  # all at once: more than the queue holds
            first = await stream.rest()
        assert len(first) == 4 and first[-1].id is not None

        async with live.stream(root.headers, last_event_id=first[-1].id) as stream:
            second = await stream.rest()
        assert second[-1].id is not None

        async with live.stream(root.headers, last_event_id=second[-1].id) as stream:
            await live.platform.bus.publish([Event("test.marker")])
            third = await stream.events_until(lambda frame: frame.event == "test.marker")

    received = [frame.json()["data"]["n"] for frame in first + second + third[:-1]]
    assert received == list(range(10))
    assert kinds(third)[-1] == "test.marker"


async def test_the_stream_ends_when_the_server_shuts_down(tmp_path: Path, database_url: str) -> None:
    async with running(make_settings(tmp_path / "home", database_url)) as live:
        root = await sign_up(live.http, "root@example.com")
        async with live.stream(root.headers) as stream:
            live.platform.bus.fanout.close_all()  # what the server does first when it shuts down
            remaining = await stream.rest()

    assert remaining == []
