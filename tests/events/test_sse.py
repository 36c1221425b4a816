"""Server-Sent Events framing, as an EventSource parses it, and keep-alive comments on idle streams."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcphost.events import Event
from mcphost.events.sse import ServerSentEvent, event_message
from tests.conftest import make_settings
from tests.events.streams import Live, running
from tests.support.accounts import sign_up
from tests.support.sse import parse_field


def parse(raw: bytes) -> list[dict[str, str]]:
    """Messages as the SSE specification's parser dispatches them (CR, LF and CRLF all end a line)."""
    messages: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    data: list[str] = []
    for line in re.split(r"\r\n|\r|\n", raw.decode()):
        if line == "":
            if fields or data:
                messages.append({**fields, **({"data": "\n".join(data)} if data else {})})
            fields, data = {}, []
        elif not line.startswith(":"):
            name, value = parse_field(line)
            if name == "data":
                data.append(value)
            else:
                fields[name] = value
    return messages


def test_a_message_has_its_fields_and_ends_with_a_blank_line() -> None:
    raw = ServerSentEvent(data='{"a": 1}', event="org.created", id="abc123", retry_ms=2000).encode()

    assert raw == b'id: abc123\nevent: org.created\nretry: 2000\ndata: {"a": 1}\n\n'
    assert parse(raw) == [{"id": "abc123", "event": "org.created", "retry": "2000", "data": '{"a": 1}'}]


@pytest.mark.parametrize(
    "data",
    ["one\ntwo\nthree", "trailing newline\n", "", "carriage\rreturn", "windows\r\nline", "mixed\r\n\n\rend"],
)
def test_multi_line_data_reaches_the_client_unchanged(data: str) -> None:
    raw = ServerSentEvent(data=data, event="note").encode()

    assert parse(raw) == [{"event": "note", "data": data.replace("\r\n", "\n").replace("\r", "\n")}]


def test_data_cannot_inject_fields_or_messages() -> None:
    raw = ServerSentEvent(data="x\revent: forged\r\rid: forged", event="note", id="1").encode()

    messages = parse(raw)
    assert len(messages) == 1
    assert messages[0]["event"] == "note" and messages[0]["id"] == "1"


def test_event_and_id_stay_on_one_line() -> None:
    raw = ServerSentEvent(data="d", event="a\nevent: b", id="1\r\ndata: forged").encode()

    assert parse(raw) == [{"id": "1  data: forged", "event": "a event: b", "data": "d"}]


def test_an_event_is_framed_with_its_id_kind_and_json_body() -> None:
    event = Event("org.created", {"name": "Acme"}, org_id=uuid.uuid4())

    [message] = parse(event_message(event).encode())

    assert message["id"] == event.id and message["event"] == "org.created"
    assert Event.from_json(message["data"]) == event


@pytest.fixture
async def live(tmp_path: Path, database_url: str) -> AsyncIterator[Live]:
    async with running(make_settings(tmp_path / "home", database_url, events={"sse_heartbeat_seconds": 0.2})) as live:
        yield live


async def test_an_idle_stream_gets_keep_alive_comments(live: Live) -> None:
    root = await sign_up(live.http, "root@example.com")

    async with live.stream(root.headers) as stream:
        frames = [await stream.frame(within=5) for _ in range(2)]

    assert all(frame is not None and frame.comments == ["keep-alive"] and not frame.fields for frame in frames)


async def test_keep_alives_continue_while_only_events_for_others_flow(live: Live) -> None:
    """A quiet user on a busy platform must still get keep-alives, or proxies close the idle connection."""
    await sign_up(live.http, "root@example.com")
    user = await sign_up(live.http, "user@example.com")
    others = uuid.uuid4()

    quiet = asyncio.Event()

    async def busy() -> None:
        while not quiet.is_set():
            await live.platform.bus.publish([Event("org.updated", {"name": "not yours"}, org_id=others)])
            await asyncio.sleep(0.02)

    async with live.stream(user.headers) as stream:
        traffic = asyncio.create_task(busy())
        try:
            frame = await stream.frame(within=5)
        finally:
            quiet.set()
            await traffic

    assert frame is not None and frame.comments == ["keep-alive"] and not frame.fields
