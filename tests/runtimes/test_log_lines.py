"""Log lines of a server: bounded, never blocking, overlong lines cut, drops announced."""

from __future__ import annotations

import asyncio

from mcphost.runtimes.log_lines import MAX_LINE_CHARS, LogBuffer, pump_lines


async def drain(buffer: LogBuffer) -> list[str]:
    return await asyncio.wait_for(_collect(buffer), 5)


async def _collect(buffer: LogBuffer) -> list[str]:
    return [line async for line in buffer.lines()]


async def test_lines_are_split_and_overlong_ones_cut() -> None:
    stream = asyncio.StreamReader()
    stream.feed_data(b"first\r\nsec")
    stream.feed_data(b"ond\n" + b"x" * (MAX_LINE_CHARS * 10) + b"\nafter the long one\n\xff\xfe bad utf-8\nno newline")
    stream.feed_eof()
    buffer = LogBuffer()
    await pump_lines(stream, buffer)
    lines = await drain(buffer)
    assert lines[:2] == ["first", "second"]
    assert lines[2] == "x" * MAX_LINE_CHARS + " …[line truncated]"
    assert lines[3:] == ["after the long one", "\ufffd\ufffd bad utf-8", "no newline"]


async def test_a_slow_reader_loses_the_oldest_lines_and_is_told() -> None:
    buffer = LogBuffer(max_lines=3)
    for index in range(10):
        buffer.put(f"line {index}")
    buffer.close()
    assert buffer.dropped == 7
    assert await drain(buffer) == [
        "[mcphost] 7 log lines dropped: the server wrote them faster than they were read",
        "line 7",
        "line 8",
        "line 9",
    ]
    assert buffer.tail(2) == ["line 8", "line 9"]


async def test_a_waiting_reader_gets_lines_as_they_come() -> None:
    buffer = LogBuffer()
    reader = asyncio.create_task(_collect(buffer))
    await asyncio.sleep(0)
    buffer.put("one")
    await asyncio.sleep(0)
    buffer.put("two")
    buffer.close()
    assert await asyncio.wait_for(reader, 5) == ["one", "two"]
