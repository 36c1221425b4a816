"""The in-process bus: fan-out to every subscriber in order, replay by event id, bounded slow consumers."""

from __future__ import annotations

import asyncio

from mcphost.events import Event, Subscription
from mcphost.events.memory import MemoryEventBus

WAIT = 5.0


def numbered(count: int, kind: str = "test.numbered") -> list[Event]:
    return [Event(kind, {"n": n}) for n in range(count)]


async def take(subscription: Subscription, count: int) -> list[Event]:
    """The next ``count`` events, failing rather than hanging when fewer arrive."""
    received: list[Event] = []
    async with asyncio.timeout(WAIT):
        async for event in subscription:
            received.append(event)
            if len(received) == count:
                break
    return received


async def drain(subscription: Subscription) -> list[Event]:
    """Everything until the subscription ends."""
    async with asyncio.timeout(WAIT):
        return [event async for event in subscription]


async def test_every_subscriber_gets_every_event_in_order() -> None:
    bus = MemoryEventBus()
    first, second = bus.subscribe(), bus.subscribe()
    events = numbered(5)

    await bus.publish(events[:2])
    await bus.publish(events[2:])

    assert [e.data["n"] for e in await take(first, 5)] == [0, 1, 2, 3, 4]
    assert [e.id for e in await take(second, 5)] == [e.id for e in events]


async def test_subscribers_receive_events_published_while_they_wait() -> None:
    bus = MemoryEventBus()
    subscription = bus.subscribe()
    waiting = asyncio.create_task(take(subscription, 2))
    await asyncio.sleep(0)  # the consumer is now blocked on an empty queue

    await bus.publish(numbered(2))

    assert [e.data["n"] for e in await waiting] == [0, 1]


async def test_a_closed_subscription_ends_and_receives_nothing_more() -> None:
    bus = MemoryEventBus()
    kept, closed = bus.subscribe(), bus.subscribe()
    await bus.publish([Event("test.before")])
    consumer = asyncio.create_task(drain(closed))
    await asyncio.sleep(0)

    closed.close()
    await bus.publish([Event("test.after")])

    assert [e.kind for e in await consumer] == ["test.before"]
    assert closed.ended
    assert [e.kind for e in await take(kept, 2)] == ["test.before", "test.after"]
    assert bus.fanout.subscriber_count == 1


async def test_leaving_the_context_closes_the_subscription() -> None:
    bus = MemoryEventBus()
    async with bus.subscribe() as subscription:
        assert bus.fanout.subscriber_count == 1

    assert subscription.ended and bus.fanout.subscriber_count == 0


async def test_stopping_the_bus_ends_every_open_stream() -> None:
    bus = MemoryEventBus()
    consumers = [asyncio.create_task(drain(bus.subscribe())) for _ in range(3)]
    await asyncio.sleep(0)

    await bus.stop()

    assert await asyncio.gather(*consumers) == [[], [], []]


async def test_subscribing_with_a_last_event_id_replays_what_came_after_it() -> None:
    bus = MemoryEventBus()
    events = numbered(6)
    await bus.publish(events)

    resumed = bus.subscribe(last_event_id=events[2].id)
    await bus.publish([Event("test.live")])

    replayed = await take(resumed, 4)
    assert [e.data.get("n") for e in replayed] == [3, 4, 5, None]
    assert replayed[-1].kind == "test.live"


async def test_a_last_event_id_older_than_the_replay_buffer_resumes_from_the_oldest_kept() -> None:
    """A client reconnecting after its last event left the buffer still gets every event the server kept."""
    bus = MemoryEventBus(replay_size=3)
    events = numbered(6)
    await bus.publish(events)

    resumed = bus.subscribe(last_event_id=events[0].id)
    await bus.publish([Event("test.live")])

    assert [e.data.get("n") for e in await take(resumed, 4)] == [3, 4, 5, None]


async def test_an_unknown_last_event_id_replays_nothing_but_live_events_still_arrive() -> None:
    bus = MemoryEventBus()
    await bus.publish(numbered(3))

    subscription = bus.subscribe(last_event_id="not-an-event-id")
    await bus.publish([Event("test.live")])

    assert [e.kind for e in await take(subscription, 1)] == ["test.live"]


async def test_a_subscriber_that_falls_behind_is_cut_off_after_its_queue_and_resumes_by_id() -> None:
    bus = MemoryEventBus(replay_size=100, queue_size=3)
    slow, fast = bus.subscribe(), bus.subscribe()
    fast_received = asyncio.create_task(take(fast, 10))
    events = numbered(10)

    for event in events:  # one at a time, so the fast consumer keeps up
        await bus.publish([event])
        await asyncio.sleep(0)

    assert slow.lagged
    kept = await drain(slow)
    assert [e.data["n"] for e in kept] == [0, 1, 2]  # its queue, nothing more: memory stays bounded
    assert slow.ended and bus.fanout.subscriber_count == 1
    assert len(await fast_received) == 10 and not fast.lagged

    # Resuming replays what it missed, a queueful at a time: seven events to replay overflow a queue of three.
    resumed = bus.subscribe(last_event_id=kept[-1].id)
    assert resumed.lagged
    assert [e.data["n"] for e in await drain(resumed)] == [3, 4, 5]
    again = bus.subscribe(last_event_id=events[5].id)
    assert [e.data["n"] for e in await drain(again)] == [6, 7, 8]
    last = bus.subscribe(last_event_id=events[8].id)
    assert [e.data["n"] for e in await take(last, 1)] == [9] and not last.lagged


async def test_get_returns_a_queued_event_at_once_and_none_after_its_timeout() -> None:
    bus = MemoryEventBus()
    subscription = bus.subscribe()

    assert await subscription.get(timeout=0.01) is None

    await bus.publish([Event("test.ready")])
    event = await subscription.get(timeout=0)
    assert event is not None and event.kind == "test.ready"


async def test_events_survive_a_json_round_trip() -> None:
    import uuid

    event = Event("org.updated", {"name": "Ünïcode", "nested": {"list": [1, 2]}}, uuid.uuid4(), uuid.uuid4())

    assert Event.from_json(event.to_json()) == event
