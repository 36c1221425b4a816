"""The PostgreSQL bus: replicas sharing one database see each other's events, survive a lost listener
connection, and degrade oversized events instead of failing."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from mcphost.events import Event, Subscription
from mcphost.events.postgres import PostgresEventBus
from tests.conftest import make_settings
from tests.events.streams import Live, running
from tests.support import databases
from tests.support.accounts import Account, sign_up

WAIT = 15.0


@pytest.fixture(scope="module")
def events_database(postgres_server: str) -> Iterator[str]:
    """A migrated database of this module's own, so no other test's LISTEN connection shares it."""
    url = asyncio.run(databases.create_postgres_database(postgres_server, "events"))
    yield url
    asyncio.run(databases.drop_postgres_database(postgres_server, url))


@pytest.fixture
async def shared_database(events_database: str) -> str:
    """The database every app instance of a test shares, empty."""
    await databases.empty_postgres_database(events_database)
    return events_database


def instance(tmp_path: Path, url: str, name: str) -> AbstractAsyncContextManager[Live]:
    return running(make_settings(tmp_path / name, url, events={"backend": "postgres"}))


async def create_org(live: Live, owner: Account, name: str) -> str:
    response = await live.http.post("/api/orgs", json={"name": name}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def listener_pids(url: str) -> set[int]:
    """Backends of the database idle after a LISTEN: the bus's listening connections."""
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND state = 'idle' AND query LIKE 'LISTEN %'",
            make_url(url).database,
        )
        return {row["pid"] for row in rows}
    finally:
        await connection.close()


async def new_listener(url: str, instead_of: int) -> None:
    async with asyncio.timeout(WAIT):
        while True:
            pids = await listener_pids(url)
            if pids and instead_of not in pids:
                return
            await asyncio.sleep(0.05)


async def terminate(url: str, pid: int) -> None:
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        assert await connection.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await connection.close()


async def test_an_action_on_one_instance_reaches_streams_on_another(tmp_path: Path, shared_database: str) -> None:
    async with instance(tmp_path, shared_database, "a") as a, instance(tmp_path, shared_database, "b") as b:
        root = await sign_up(a.http, "root@example.com")
        olga = await sign_up(a.http, "olga@example.com")
        mia = await sign_up(b.http, "mia@example.com")

        async with (
            b.stream(root.headers) as admin_on_b,
            b.stream(olga.headers) as olga_on_b,
            b.stream(mia.headers) as mia_on_b,
            a.stream(olga.headers) as olga_on_a,
        ):
            org_id = await create_org(a, olga, "Made on A")
            await create_org(a, mia, "Mia's marker")  # on A as well; mia is not in olga's org

            for stream in (admin_on_b, olga_on_b, olga_on_a):
                frame = await stream.event()
                assert (frame.event, frame.json()["org_id"]) == ("org.created", org_id)
            first_for_mia = await mia_on_b.event()
            assert first_for_mia.json()["data"]["name"] == "Mia's marker"


async def test_resuming_on_another_instance_replays_what_was_missed(tmp_path: Path, shared_database: str) -> None:
    """Behind a load balancer the reconnect often lands on another replica; it has the same events."""
    async with instance(tmp_path, shared_database, "a") as a, instance(tmp_path, shared_database, "b") as b:
        olga = await sign_up(a.http, "olga@example.com")

        async with a.stream(olga.headers) as stream:
            await create_org(a, olga, "First")
            seen = await stream.event()
        await create_org(a, olga, "Missed on A")
        await create_org(b, olga, "Missed on B")

        assert seen.id is not None
        async with b.stream(olga.headers, last_event_id=seen.id) as resumed:
            names = [(await resumed.event()).json()["data"]["name"] for _ in range(2)]

    assert names == ["Missed on A", "Missed on B"]


async def test_the_listener_reconnects_after_its_connection_is_killed(tmp_path: Path, shared_database: str) -> None:
    async with instance(tmp_path, shared_database, "a") as live:
        root = await sign_up(live.http, "root@example.com")
        [old] = await listener_pids(shared_database)

        async with live.stream(root.headers) as stream:
            await terminate(shared_database, old)
            await new_listener(shared_database, instead_of=old)

            org_id = await create_org(live, root, "After the outage")
            frame = await stream.event()

    assert (frame.event, frame.json()["org_id"]) == ("org.created", org_id)


async def test_an_event_too_large_for_notify_arrives_marked_truncated(tmp_path: Path, shared_database: str) -> None:
    async with instance(tmp_path, shared_database, "a") as a, instance(tmp_path, shared_database, "b") as b:
        root = await sign_up(a.http, "root@example.com")
        large = Event("test.large", {"blob": "x" * 10_000})
        multibyte = Event("test.multibyte", {"blob": "é" * 4_000})  # 4,000 characters, but 8,000 bytes
        fitting = Event("test.fitting", {"blob": "y" * 7_000})

        async with b.stream(root.headers) as stream:
            await a.platform.bus.publish([large, multibyte, fitting])
            received = [await stream.event() for _ in range(3)]

    assert [(frame.id, frame.event) for frame in received] == [
        (large.id, "test.large"),
        (multibyte.id, "test.multibyte"),
        (fitting.id, "test.fitting"),
    ]
    assert [frame.json()["data"] for frame in received] == [
        {"truncated": True},
        {"truncated": True},
        {"blob": "y" * 7_000},
    ]


class StallingProxy:
    """A TCP proxy to PostgreSQL that can make its open connections go silent, forwarding nothing and closing
    nothing: how a connection dropped by a NAT, a load balancer or a vanished host looks to both ends."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.connections = 0
        self._stalled: list[asyncio.Event] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> StallingProxy:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.listen_port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    def stall(self) -> None:
        """Open connections stop forwarding; new ones work."""
        for stalled in self._stalled:
            stalled.set()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        self.connections += 1
        stalled = asyncio.Event()
        self._stalled.append(stalled)
        self._writers += [client_writer, upstream_writer]

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(65536):
                if stalled.is_set():
                    await asyncio.Event().wait()  # silence, until the proxy shuts down
                writer.write(data)
                await writer.drain()
            writer.close()  # pass the end of the connection on

        self._tasks += [
            asyncio.create_task(pump(client_reader, upstream_writer)),
            asyncio.create_task(pump(upstream_reader, client_writer)),
        ]


async def test_a_listener_connection_gone_silent_is_noticed_and_replaced(shared_database: str) -> None:
    server = make_url(shared_database)
    async with StallingProxy(server.host or "localhost", server.port or 5432) as proxy:
        proxied = create_async_engine(server.set(host="127.0.0.1", port=proxy.listen_port))
        direct = create_async_engine(shared_database)
        listening = PostgresEventBus(proxied, check_seconds=0.2)
        publisher = PostgresEventBus(direct)  # publishing needs no listener
        await listening.start()
        try:
            subscription = listening.subscribe()
            await publisher.publish([Event("test.before")])
            assert await next_kind(subscription) == "test.before"

            proxy.stall()
            # NOTIFY keeps nothing for an absent listener: publish until one arrives over the new connection.
            async with asyncio.timeout(WAIT):
                while (event := await subscription.get(timeout=0.1)) is None:
                    await publisher.publish([Event("test.after")])
            assert event.kind == "test.after"
            assert proxy.connections > 1
        finally:
            await listening.stop()
            await proxied.dispose()
            await direct.dispose()


async def test_a_notify_that_fails_after_the_commit_still_reaches_this_processes_subscribers() -> None:
    """The events' transaction has committed: failing to notify must not turn a success into an error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    engine = create_async_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{closed_port}/nothing")
    bus = PostgresEventBus(engine)
    subscription = bus.subscribe()
    try:
        await bus.publish([Event("test.committed")])
    finally:
        await engine.dispose()

    assert await next_kind(subscription) == "test.committed"


async def next_kind(subscription: Subscription) -> str:
    event = await subscription.get(timeout=WAIT)
    assert event is not None, "no event arrived"
    return event.kind
