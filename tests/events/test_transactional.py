"""Events queued in a unit of work are published after it commits, and never when it rolls back."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from mcphost.db.session import queue_after_commit
from mcphost.events import Event, Subscription
from mcphost.models import Organization
from mcphost.platform import Platform

WAIT = 10.0


class Failed(Exception):
    pass


def platform_of(app: FastAPI) -> Platform:
    platform: Platform = app.state.platform
    return platform


async def next_event(subscription: Subscription) -> Event:
    event = await subscription.get(timeout=WAIT)
    assert event is not None, "no event arrived"
    return event


async def test_a_queued_event_arrives_only_once_its_transaction_has_committed(app: FastAPI) -> None:
    platform = platform_of(app)
    subscription = platform.bus.subscribe()

    async with platform.db.session_scope() as session:
        org = Organization(name="Acme", slug="acme", server_quota=1)
        session.add(org)
        await session.flush()
        queue_after_commit(session, Event("org.created", {"name": "Acme"}, org_id=org.id))
        # A probe published now, straight to the bus, arrives first: the queued event is still held back.
        await platform.bus.publish([Event("test.probe")])
        assert (await next_event(subscription)).kind == "test.probe"

    delivered = await next_event(subscription)
    assert delivered.kind == "org.created" and delivered.org_id == org.id
    # Whoever reacts to the event finds the committed row.
    async with platform.db.session_scope() as session:
        assert (await session.scalars(select(Organization.name).where(Organization.id == org.id))).one() == "Acme"


async def test_a_rolled_back_unit_of_work_delivers_nothing(app: FastAPI) -> None:
    platform = platform_of(app)
    subscription = platform.bus.subscribe()
    org_id = uuid.uuid4()

    async def failing_unit_of_work() -> None:
        async with platform.db.session_scope() as session:
            session.add(Organization(id=org_id, name="Doomed", slug="doomed", server_quota=1))
            await session.flush()
            queue_after_commit(session, Event("org.created", {"name": "Doomed"}, org_id=org_id))
            raise Failed

    with pytest.raises(Failed):
        await failing_unit_of_work()

    async with platform.db.session_scope() as session:
        queue_after_commit(session, Event("test.marker"))

    # Events arrive in order, so the marker coming next proves the rolled-back event was never published.
    assert (await next_event(subscription)).kind == "test.marker"
    async with platform.db.session_scope() as session:
        assert (await session.scalars(select(Organization).where(Organization.id == org_id))).first() is None


async def test_events_of_one_unit_of_work_arrive_together_in_the_order_queued(app: FastAPI) -> None:
    platform = platform_of(app)
    subscription = platform.bus.subscribe()

    async with platform.db.session_scope() as session:
        for n in range(5):
            queue_after_commit(session, Event("test.step", {"n": n}))

    async with asyncio.timeout(WAIT):
        received = [await next_event(subscription) for _ in range(5)]
    assert [event.data["n"] for event in received] == [0, 1, 2, 3, 4]
