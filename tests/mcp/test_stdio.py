"""StdioConnection against real subprocesses: the fixture server and small ad-hoc servers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from mcphost.mcp import ConnectionClosed, JsonRpcError, MessageTooLarge
from mcphost.mcp.jsonrpc import Message

from .conftest import Server

Start = Callable[..., AbstractAsyncContextManager[Server]]


def text_of(result: dict[str, Any]) -> str:
    return str(result["content"][0]["text"])


async def echo(connection: Any, value: str, within: float = 10) -> str:
    params = {"name": "echo", "arguments": {"text": value}}
    return text_of(await connection.request("tools/call", params, timeout=within))


# An ad-hoc server that reports the cancellations it receives as log notifications and never answers "hang".
CANCEL_REPORTER = """
for message in messages():
    method = message.get("method")
    if method == "notifications/cancelled":
        report = {"level": "info", "data": message["params"]}
        send({"jsonrpc": "2.0", "method": "notifications/message", "params": report})
    elif method != "hang" and "id" in message:
        answer(message, {"method": method})
"""

# An ad-hoc server that, asked to "probe", sends the client the request named in the params, and answers the probe
# with whatever reply it got (or with "no reply" if the probe was to be cancelled).
ASKING = """
for message in messages():
    if message.get("method") != "probe":
        continue
    params = message["params"]
    send({"jsonrpc": "2.0", "id": "srv-1", "method": params["method"], "params": {}})
    if params.get("cancel"):
        time.sleep(0.2)
        send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "srv-1"}})
        answer(message, {"reply": None})
        continue
    answer(message, {"reply": next(messages())})
"""


async def test_concurrent_requests_each_get_their_own_answer(fixture_server: Start) -> None:
    async with asyncio.timeout(30), fixture_server() as (_, connection):
        texts = [f"message {index} " + "é" * (index % 7) for index in range(200)]
        answers = await asyncio.gather(*(echo(connection, text) for text in texts))
        assert answers == texts
        assert await echo(connection, "still fine") == "still fine"


async def test_an_error_answer_raises_json_rpc_error(fixture_server: Start) -> None:
    async with asyncio.timeout(10), fixture_server() as (_, connection):
        with pytest.raises(JsonRpcError) as caught:
            await connection.request("tools/call", {"name": "no_such_tool", "arguments": {}}, timeout=5)
        assert caught.value.code == -32602
        assert "no_such_tool" in caught.value.message
        with pytest.raises(JsonRpcError) as caught:
            await connection.request("no/such/method", timeout=5)
        assert caught.value.code == -32601
        relayed = await connection.roundtrip("no/such/method", timeout=5)  # as the gateway relays it: not raised
        assert relayed["error"]["code"] == -32601
        assert isinstance(relayed["id"], int)
        assert await echo(connection, "after errors") == "after errors"


async def test_a_timeout_discards_the_late_answer_and_the_connection_keeps_working(fixture_server: Start) -> None:
    async with asyncio.timeout(20), fixture_server() as (_, connection):
        # Raising at all proves the deadline won: the answer, had it been waited for, would have been returned.
        with pytest.raises(TimeoutError):
            await connection.request("tools/call", {"name": "sleep", "arguments": {"seconds": 0.6}}, timeout=0.2)
        await asyncio.sleep(0.6)  # the late "slept" answer arrives meanwhile and must go nowhere
        assert await echo(connection, "next") == "next"
        assert not connection.closed


QUICK_DEADLINE = 3.0


async def test_each_request_times_out_at_its_own_deadline(adhoc_server: Start) -> None:
    async with asyncio.timeout(10), adhoc_server(CANCEL_REPORTER) as (_, connection):
        loop = asyncio.get_running_loop()
        started = loop.time()
        timed_out: list[float] = []

        async def hang(seconds: float) -> None:
            with pytest.raises(TimeoutError):
                await connection.request("hang", timeout=seconds)
            timed_out.append(seconds)
            assert loop.time() - started >= seconds - 0.01

        # Its deadline lies among the others' but is generous (a loaded machine answers late): once answered, the
        # deadline passes without effect.
        answered = asyncio.create_task(connection.request("quick", timeout=QUICK_DEADLINE))
        forever = asyncio.create_task(connection.request("hang", timeout=None))
        await asyncio.gather(hang(0.6), hang(0.2), hang(0.4), hang(0.2), hang(QUICK_DEADLINE + 0.2))
        assert timed_out == [0.2, 0.2, 0.4, 0.6, QUICK_DEADLINE + 0.2]
        assert answered.done()
        assert await answered == {"method": "quick"}
        assert not forever.done()
        forever.cancel()
        with pytest.raises(asyncio.CancelledError):
            await forever


async def test_a_timeout_tells_the_server_to_cancel(adhoc_server: Start) -> None:
    async with asyncio.timeout(10), adhoc_server(CANCEL_REPORTER) as (_, connection):
        reports: asyncio.Queue[Message] = asyncio.Queue()
        connection.on_notification(reports.put_nowait)
        with pytest.raises(TimeoutError):
            await connection.request("hang", timeout=0.1)
        cancelled = (await reports.get())["params"]["data"]
        assert cancelled["reason"] == "timed out"
        assert isinstance(cancelled["requestId"], int)
        assert await connection.request("after", timeout=5) == {"method": "after"}


async def test_cancelling_the_caller_cancels_on_the_server(adhoc_server: Start) -> None:
    async with asyncio.timeout(10), adhoc_server(CANCEL_REPORTER) as (_, connection):
        reports: asyncio.Queue[Message] = asyncio.Queue()

        async def report(message: Message) -> None:  # an async handler runs as its own task
            await reports.put(message)

        connection.on_notification(report)
        waiting = asyncio.create_task(connection.request("hang", timeout=None))
        await asyncio.sleep(0.2)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        cancelled = (await reports.get())["params"]["data"]
        assert cancelled["reason"] == "cancelled by the client"


async def test_a_crash_mid_call_fails_every_waiting_request_at_once(fixture_server: Start) -> None:
    async with asyncio.timeout(10), fixture_server() as (process, connection):
        call = {"name": "sleep", "arguments": {"seconds": 30}}
        waiting = [asyncio.create_task(connection.request("tools/call", call, timeout=60)) for _ in range(3)]
        await asyncio.sleep(0.3)
        started = time.monotonic()
        process.kill()
        results = await asyncio.gather(*waiting, return_exceptions=True)
        assert time.monotonic() - started < 2
        assert all(isinstance(result, ConnectionClosed) for result in results), results
        assert connection.closed
        await connection.wait_closed()
        with pytest.raises(ConnectionClosed):
            await echo(connection, "too late")


async def test_the_crash_tool_fails_its_call_and_the_ones_queued_behind_it(fixture_server: Start) -> None:
    async with asyncio.timeout(10), fixture_server() as (process, connection):
        crash = connection.request("tools/call", {"name": "crash", "arguments": {}}, timeout=30)
        results = await asyncio.gather(
            crash, *(echo(connection, str(n), within=30) for n in range(5)), return_exceptions=True
        )
        assert all(isinstance(result, ConnectionClosed) for result in results), results
        assert await process.wait() == 9


async def test_a_server_that_exits_after_n_calls(fixture_server: Start) -> None:
    async with asyncio.timeout(10), fixture_server(FIXTURE_EXIT_AFTER_CALLS="2") as (process, connection):
        assert [await echo(connection, "one"), await echo(connection, "two")] == ["one", "two"]
        with pytest.raises(ConnectionClosed):
            await echo(connection, "three")
        assert await process.wait() == 7
        with pytest.raises(ConnectionClosed):
            await connection.notify("notifications/initialized")


async def test_close_fails_waiting_requests_and_ends_the_server(adhoc_server: Start) -> None:
    async with asyncio.timeout(10), adhoc_server(CANCEL_REPORTER) as (process, connection):
        waiting = asyncio.create_task(connection.request("hang", timeout=None))
        await asyncio.sleep(0.1)
        await connection.close()
        with pytest.raises(ConnectionClosed):
            await waiting
        await connection.close()  # idempotent
        await connection.wait_closed()
        assert await process.wait() == 0  # stdin closed: the server's loop ended by itself


async def test_junk_on_stdout_is_skipped(adhoc_server: Start, caplog: pytest.LogCaptureFixture) -> None:
    body = """
raw("Starting the server, version 1.2\\n")
raw("\\n")
raw('{"level": "info", "msg": "listening"}\\n')
raw("[1, 2, 3]\\n")
raw("42\\n")
raw('{"jsonrpc": "2.0"}\\n')
for message in messages():
    if "id" in message:
        raw("log: got a request\\n")
        answer(message, {"echo": message["params"]})
"""
    caplog.set_level(logging.WARNING, logger="mcphost.mcp.stdio")
    async with asyncio.timeout(10), adhoc_server(body) as (_, connection):
        for index in range(3):
            assert await connection.request("echo", {"n": index}, timeout=5) == {"echo": {"n": index}}
        assert connection.skipped_lines == 5 + 3
        assert not connection.closed
    assert "Starting the server" in caplog.text


async def test_a_batch_and_a_last_line_without_newline_are_read(adhoc_server: Start) -> None:
    body = """
first, second, third = next(messages()), next(messages()), next(messages())
def reply(message, n):
    return {"jsonrpc": "2.0", "id": message["id"], "result": {"n": n}}
send([reply(second, 2), reply(first, 1)])
raw(json.dumps(reply(third, 3)))  # no newline, then exit
"""
    async with asyncio.timeout(10), adhoc_server(body) as (_, connection):
        answers = await asyncio.gather(*(connection.request(f"m{n}", timeout=5) for n in (1, 2, 3)))
        assert answers == [{"n": 1}, {"n": 2}, {"n": 3}]
        await connection.wait_closed()


async def test_a_line_over_the_limit_is_dropped_and_fails_only_its_request(adhoc_server: Start) -> None:
    body = """
for message in messages():
    method = message.get("method")
    if method == "big":
        answer(message, {"blob": "x" * 300000})
    elif method == "big_id_last":  # the TypeScript SDK puts the id last
        raw(json.dumps({"result": {"blob": "y" * 300000}, "jsonrpc": "2.0", "id": message["id"]}) + "\\n")
    elif method == "big_junk":
        raw("z" * 300000 + "\\n")
        answer(message, {"after": "junk"})
    else:
        answer(message, {"ok": method})
"""
    async with asyncio.timeout(10), adhoc_server(body, limit=64 * 1024) as (_, connection):
        slow = asyncio.create_task(connection.request("small", timeout=5))
        with pytest.raises(MessageTooLarge) as caught:
            await connection.request("big", timeout=5)
        assert caught.value.size > 300000
        with pytest.raises(MessageTooLarge):
            await connection.request("big_id_last", timeout=5)
        assert await connection.request("big_junk", timeout=5) == {"after": "junk"}
        assert await slow == {"ok": "small"}
        assert connection.dropped_lines == 3
        assert await connection.request("fine", timeout=5) == {"ok": "fine"}


async def test_notifications_arrive_in_order_before_the_answer(adhoc_server: Start) -> None:
    body = """
for message in messages():
    for n in range(3):
        send({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "t", "progress": n}})
    send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    answer(message, {})
"""
    seen: list[tuple[str, Any]] = []
    async with asyncio.timeout(10), adhoc_server(body) as (_, connection):
        connection.on_notification(lambda message: seen.append((message["method"], message.get("params"))))
        await connection.request("go", timeout=5)
    assert seen == [
        *(("notifications/progress", {"progressToken": "t", "progress": n}) for n in range(3)),
        ("notifications/tools/list_changed", None),
    ]


async def test_a_server_ping_is_answered(adhoc_server: Start) -> None:
    async with asyncio.timeout(10), adhoc_server(ASKING) as (_, connection):
        result = await connection.request("probe", {"method": "ping"}, timeout=5)
        assert result["reply"] == {"jsonrpc": "2.0", "id": "srv-1", "result": {}}


async def test_a_server_request_without_a_handler_is_method_not_found(adhoc_server: Start) -> None:
    async with asyncio.timeout(10), adhoc_server(ASKING) as (_, connection):
        result = await connection.request("probe", {"method": "roots/list"}, timeout=5)
        assert result["reply"]["id"] == "srv-1"
        assert result["reply"]["error"]["code"] == -32601


async def test_a_server_request_goes_to_the_handler(adhoc_server: Start) -> None:
    async def handler(message: Message) -> dict[str, Any]:
        if message["method"] == "roots/list":
            return {"roots": [{"uri": "file:///data", "name": "data"}]}
        if message["method"] == "elicitation/create":
            raise JsonRpcError(-32602, "not now")
        raise RuntimeError("a bug in the handler")

    async with asyncio.timeout(10), adhoc_server(ASKING) as (_, connection):
        connection.on_request(handler)
        roots = await connection.request("probe", {"method": "roots/list"}, timeout=5)
        assert roots["reply"]["result"] == {"roots": [{"uri": "file:///data", "name": "data"}]}
        refused = await connection.request("probe", {"method": "elicitation/create"}, timeout=5)
        assert refused["reply"]["error"] == {"code": -32602, "message": "not now"}
        broken = await connection.request("probe", {"method": "sampling/createMessage"}, timeout=5)
        assert broken["reply"]["error"]["code"] == -32603


async def test_a_server_can_cancel_its_request(adhoc_server: Start) -> None:
    handler_cancelled = asyncio.Event()

    async def handler(message: Message) -> dict[str, Any]:
        try:
            await asyncio.sleep(60)  # e.g. waiting for a user to answer an elicitation
        except asyncio.CancelledError:
            handler_cancelled.set()
            raise
        return {}

    async with asyncio.timeout(10), adhoc_server(ASKING) as (_, connection):
        connection.on_request(handler)
        assert await connection.request("probe", {"method": "elicitation/create", "cancel": True}, timeout=5) == {
            "reply": None
        }
        await handler_cancelled.wait()
