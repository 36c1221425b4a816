"""The MCP stdio transport, client side: newline-delimited JSON-RPC over a server's stdin/stdout pipes.

One ``StdioConnection`` owns one (reader, writer) pair. A single reader task parses every line the server writes and
routes it: responses complete the request waiting for that id, notifications go to one callback, server→client
requests go to another (``ping`` is answered here). Requests get connection-unique integer ids, so many callers
(and, later, many gateway sessions) share one connection concurrently.

Design points, each for a reason:

- The reader never waits on the writer (its own replies are written without ``drain``): a server that is blocked
  writing to us while not reading its stdin cannot deadlock the connection.
- A request goes straight into the pipe when nothing is queued; otherwise writers queue on one lock and wait for the
  pipe to drain, within their deadline. Deadlines share one timer (see ``_Deadlines``).
- Lines that are not JSON-RPC are counted, logged and skipped; servers print banners and log lines to stdout.
- A line longer than the reader's limit (``asyncio.StreamReader(limit=…)``) is dropped chunk by chunk, never held in
  memory whole; if it was the answer to a pending request, that request fails with ``MessageTooLarge``.
- When the server's output ends (exit, crash) or ``close()`` is called, every waiting request fails at once with
  ``ConnectionClosed``, and so does every later one.
"""

# ruff: noqa: ASYNC109 -- a request's timeout is part of the protocol: on expiry the server is told to cancel it.
from __future__ import annotations

import asyncio
import contextlib
import heapq
import inspect
import itertools
import logging
import math
import re
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Final

import orjson

from mcphost.mcp.jsonrpc import (
    INTERNAL_ERROR,
    METHOD_NOT_FOUND,
    ConnectionClosed,
    InvalidMessage,
    JsonRpcError,
    Message,
    MessageTooLarge,
    RequestId,
    classify,
    encode,
    error_response,
    result_response,
)

__all__ = ["NotificationHandler", "RequestHandler", "StdioConnection"]

log = logging.getLogger(__name__)

#: Called with each server notification, in order, on the reader task. Keep it quick; if it returns an awaitable,
#: that runs as a separate task (so slow handlers don't hold up responses).
NotificationHandler = Callable[[Message], object]
#: Called with each server→client request (sampling, elicitation, roots…) in its own task; returns the ``result``
#: or raises ``JsonRpcError``. If the server cancels the request, the task is cancelled and nothing is answered.
RequestHandler = Callable[[Message], Awaitable[dict[str, Any]]]

_CLOCK_SLACK: Final = 0.001  # asyncio runs timers up to its clock resolution early
_SKIPPED_LINES_LOGGED: Final = 10  # then only every 1000th, so a chatty server can't flood the logs
_PREVIEW: Final = 120
# The id of a dropped oversized line, when it can be told for sure: the first member (or the one after "jsonrpc"),
# or the last member before the closing brace (how the TypeScript SDK serialises).
_HEAD_ID: Final = re.compile(rb'\A\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(\d+)\s*,')
_TAIL_ID: Final = re.compile(rb',\s*"id"\s*:\s*(\d+)\s*\}\s*\Z')


class StdioConnection:
    """A JSON-RPC 2.0 connection to one stdio MCP server. Use as ``async with`` or ``start()`` … ``close()``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, name: str = "server") -> None:
        self.name = name
        #: Lines skipped because they were not JSON-RPC, and lines dropped for being over the limit.
        self.skipped_lines = 0
        self.dropped_lines = 0
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Message]] = {}
        self._deadlines = _Deadlines(self._pending)
        self._write_lock = asyncio.Lock()
        self._closed: ConnectionClosed | None = None
        self._closed_event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._on_notification: NotificationHandler | None = None
        self._on_request: RequestHandler | None = None
        self._serving: dict[RequestId, asyncio.Task[None]] = {}
        self._background: set[asyncio.Future[Any]] = set()

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> StdioConnection:
        """Start reading the server's output (needs a running event loop)."""
        if self._reader_task is None:
            self._loop = asyncio.get_running_loop()
            self._reader_task = self._loop.create_task(self._read_loop(), name=f"mcp-stdio-reader:{self.name}")
        return self

    async def __aenter__(self) -> StdioConnection:
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._closed is not None

    async def wait_closed(self) -> None:
        """Wait until the connection has ended, for whatever reason."""
        await self._closed_event.wait()

    async def close(self) -> None:
        """Close the server's stdin (the MCP way to ask a stdio server to exit) and fail what is waiting.
        Idempotent; stopping the process itself is the runtime's job."""
        self._shutdown("the connection was closed")
        tasks = [task for task in (self._reader_task, *self._serving.values()) if task is not None and not task.done()]
        if current := asyncio.current_task():
            tasks = [task for task in tasks if task is not current]
        if tasks:  # cancelled by _shutdown; a handler that ignores cancellation is not waited for long
            await asyncio.wait(tasks, timeout=5)

    # -- handlers -------------------------------------------------------------------------------------------------

    def on_notification(self, handler: NotificationHandler | None) -> None:
        """Set (or clear) the callback for server notifications (list_changed, message, progress…)."""
        self._on_notification = handler

    def on_request(self, handler: RequestHandler | None) -> None:
        """Set (or clear) the callback for server→client requests; without one they get -32601 (``ping`` is always
        answered here)."""
        self._on_request = handler

    # -- sending --------------------------------------------------------------------------------------------------

    async def request(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None
    ) -> dict[str, Any]:
        """Send a request and return its ``result`` (an object, as every MCP result is). Raises ``JsonRpcError`` for
        an error answer, ``TimeoutError`` (after telling the server with ``notifications/cancelled``), or
        ``ConnectionClosed``. ``timeout`` is in seconds; ``None`` waits as long as the connection lives."""
        response = await self.roundtrip(method, params, timeout=timeout)
        result = response.get("result")
        if type(result) is dict:
            return result
        if "error" in response:
            raise JsonRpcError.from_response(response)
        if result is None:  # "result": null, from servers sloppy about empty results (ping)
            return {}
        raise JsonRpcError(INTERNAL_ERROR, f"{self.name}: the result of {method} is not an object: {result!r:.100}")

    async def roundtrip(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None) -> Message:
        """Send a request and return the whole response message, error answers included (for relaying: the id in
        it is this connection's, not the caller's). Raises ``TimeoutError`` or ``ConnectionClosed``.

        Cancelling the awaiting task cancels the request on the server too (``notifications/cancelled``)."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("StdioConnection.start() was not called")
        if self._closed is not None:
            raise ConnectionClosed(str(self._closed))
        request_id = next(self._ids)
        message: Message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        data = encode(message)
        future: asyncio.Future[Message] = loop.create_future()
        self._pending[request_id] = future
        deadline = None
        if timeout is not None:
            deadline = loop.time() + timeout
            self._deadlines.add(deadline, request_id)
        writer = self._writer
        sent = False
        try:
            if self._write_lock.locked() or writer.transport.get_write_buffer_size() or writer.transport.is_closing():
                # The pipe is backed up (or broken): queue behind the other writers, within the same deadline.
                async with asyncio.timeout_at(deadline), self._write_lock:
                    if self._closed is not None:
                        raise ConnectionClosed(str(self._closed))
                    writer.write(data)
                    sent = True
                    await self._drain()
            else:  # the common case: the whole line goes straight into the pipe
                writer.write(data)
                sent = True
            return await future
        except BaseException as exc:
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()  # mark it read, so asyncio does not log it as forgotten
            if sent and isinstance(exc, TimeoutError | asyncio.CancelledError):
                self._cancel_on_server(
                    request_id, method, "timed out" if isinstance(exc, TimeoutError) else "cancelled by the client"
                )
            if isinstance(exc, TimeoutError):
                raise TimeoutError(f"{self.name}: no answer to {method} within {timeout} s") from None
            if isinstance(exc, RuntimeError) and not sent:
                # The server's input was closed (write_eof: it is being stopped) while this request was on its way.
                raise ConnectionClosed(f"{self.name}: its input is closed") from None
            raise
        finally:
            del self._pending[request_id]

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification."""
        message: Message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        await self.send_raw(message)

    async def send_raw(self, message: Message) -> None:
        """Send any message as it is (the gateway relays notifications and answers this way). Raises
        ``ConnectionClosed``. Waits while the server's stdin pipe is full: bound it with ``asyncio.timeout``."""
        data = encode(message)
        async with self._write_lock:
            if self._closed is not None:
                raise ConnectionClosed(str(self._closed))
            self._writer.write(data)
            await self._drain()

    async def _drain(self) -> None:
        try:
            await self._writer.drain()
        except (OSError, RuntimeError) as exc:  # the pipe broke: the server is gone
            self._shutdown(f"writing to the server failed: {exc!r}")
            raise ConnectionClosed(str(self._closed)) from exc

    def _write_nowait(self, message: Message) -> None:
        """Write without waiting for the pipe to drain: for the reader task's own small replies."""
        if self._closed is None:
            self._writer.write(encode(message))

    def _cancel_on_server(self, request_id: int, method: str, reason: str) -> None:
        if method != "initialize":  # the spec forbids cancelling initialize
            params = {"requestId": request_id, "reason": reason}
            self._write_nowait({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params})

    # -- receiving ------------------------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        reader = self._reader
        reason = "the server closed its output"
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError as exc:  # end of output; maybe a last line without newline
                    if exc.partial.strip():
                        self._receive(exc.partial)
                    break
                except asyncio.LimitOverrunError as exc:
                    await self._drop_long_line(exc.consumed)
                    continue
                self._receive(line)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the pipe itself failed; nothing more can be read
            reason = f"reading from the server failed: {exc!r}"
            log.warning("%s: %s", self.name, reason)
        finally:
            self._shutdown(reason)

    def _receive(self, line: bytes) -> None:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            if not line.isspace():
                self._skip(line, "not JSON")
            return
        if type(message) is dict:
            self._dispatch(message, line)
        elif type(message) is list and message and all(type(item) is dict for item in message):
            for item in message:  # a batch (2025-03-26 allowed them)
                self._dispatch(item, line)
        else:
            self._skip(line, "JSON that is not a JSON-RPC message")

    def _dispatch(self, message: Message, line: bytes) -> None:
        try:
            kind = classify(message)
        except InvalidMessage as exc:
            self._skip(line, str(exc))
            return
        if kind == "response":
            request_id = message["id"]
            future = self._pending.get(request_id) if type(request_id) is int else None
            if future is not None:
                if not future.done():
                    future.set_result(message)
            elif request_id is None and "error" in message:
                log.warning("%s: error without a request id: %s", self.name, str(message["error"])[:_PREVIEW])
            else:
                log.debug("%s: discarded an answer to %r, which is no longer awaited", self.name, request_id)
        elif kind == "notification":
            self._notification(message)
        else:
            self._server_request(message)

    def _notification(self, message: Message) -> None:
        if message["method"] == "notifications/cancelled":
            params = message.get("params")
            request_id = params.get("requestId") if isinstance(params, dict) else None
            if type(request_id) in (int, str):
                task = self._serving.get(request_id)  # type: ignore[arg-type]
                if task is not None:
                    task.cancel()
        handler = self._on_notification
        if handler is None:
            return
        try:
            outcome = handler(message)
        except Exception:
            log.exception("%s: the notification handler failed on %s", self.name, message["method"])
            return
        if inspect.isawaitable(outcome):
            self._track(asyncio.ensure_future(outcome))

    def _server_request(self, message: Message) -> None:
        request_id: RequestId = message["id"]
        method: str = message["method"]
        handler = self._on_request
        if method == "ping":
            self._write_nowait(result_response(request_id, {}))
        elif handler is None:
            error = JsonRpcError(METHOD_NOT_FOUND, f"Method not found: {method}")
            self._write_nowait(error_response(request_id, error))
        else:
            task = asyncio.get_running_loop().create_task(self._serve(handler, message))
            self._serving[request_id] = task
            self._track(task)

    async def _serve(self, handler: RequestHandler, message: Message) -> None:
        request_id: RequestId = message["id"]
        try:
            reply = result_response(request_id, await handler(message))
        except JsonRpcError as exc:
            reply = error_response(request_id, exc)
        except asyncio.CancelledError:  # the server withdrew the request, or we are closing: no answer
            raise
        except Exception:
            log.exception("%s: the request handler failed on %s", self.name, message["method"])
            reply = error_response(request_id, JsonRpcError(INTERNAL_ERROR, "Internal error"))
        finally:
            if self._serving.get(request_id) is asyncio.current_task():
                del self._serving[request_id]
        with contextlib.suppress(ConnectionClosed):
            await self.send_raw(reply)

    def _track(self, future: asyncio.Future[Any]) -> None:
        self._background.add(future)
        future.add_done_callback(self._untrack)

    def _untrack(self, future: asyncio.Future[Any]) -> None:
        self._background.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("%s: a handler task failed", self.name, exc_info=future.exception())

    async def _drop_long_line(self, consumed: int) -> None:
        """Discard a line longer than the reader's limit without ever holding it whole."""
        reader = self._reader
        head = await reader.readexactly(consumed)
        size, last = consumed, head[-_PREVIEW:]
        while True:
            try:
                chunk = await reader.readuntil(b"\n")
            except asyncio.LimitOverrunError as exc:
                chunk = await reader.readexactly(exc.consumed)
            except asyncio.IncompleteReadError as exc:  # the output ended inside the line
                size, last = size + len(exc.partial), (last + exc.partial)[-_PREVIEW:]
                break
            size, last = size + len(chunk), (last + chunk)[-_PREVIEW:]
            if chunk.endswith(b"\n"):
                break
        self.dropped_lines += 1
        log.warning("%s: dropped a %d-byte line over the size limit: %r…", self.name, size, bytes(head[:_PREVIEW]))
        if b'"method"' in head[:64]:  # a request or notification, not an answer
            return
        match = _HEAD_ID.match(head) or _TAIL_ID.search(last)
        future = self._pending.get(int(match.group(1))) if match else None
        if future is not None and not future.done():
            future.set_exception(MessageTooLarge(size))

    def _skip(self, line: bytes, why: str) -> None:
        self.skipped_lines += 1
        if self.skipped_lines <= _SKIPPED_LINES_LOGGED or self.skipped_lines % 1000 == 0:
            preview = bytes(line[:_PREVIEW]).rstrip()
            log.warning("%s: skipped a line on stdout (%s; %d so far): %r", self.name, why, self.skipped_lines, preview)

    # -- ending ---------------------------------------------------------------------------------------------------

    def _shutdown(self, reason: str) -> None:
        """End the connection once: fail every waiting request, stop serving, close the server's stdin."""
        if self._closed is not None:
            return
        self._closed = ConnectionClosed(f"{self.name}: {reason}")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionClosed(str(self._closed)))
        self._deadlines.close()
        for serving in list(self._serving.values()):
            serving.cancel()
        reader = self._reader_task
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
        try:
            self._writer.close()
        except (OSError, RuntimeError) as exc:  # already broken: nothing to flush
            log.debug("%s: closing stdin failed: %r", self.name, exc)
        self._closed_event.set()


class _Deadlines:
    """The deadlines of the pending requests, on one timer armed for the earliest: a heap of (when, id) whose entries
    for answered requests are dropped lazily. A TimerHandle per request costs about a quarter of the client's CPU per
    call (asyncio's own timer heap compares handles in Python); this costs a tuple and a heappush."""

    def __init__(self, pending: dict[int, asyncio.Future[Message]]) -> None:
        self._pending = pending
        self._heap: list[tuple[float, int]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._when = math.inf

    def add(self, when: float, request_id: int) -> None:
        heapq.heappush(self._heap, (when, request_id))
        if when < self._when:
            self._arm(when)
        if len(self._heap) > 2 * len(self._pending) + 64:  # mostly answered requests: keep memory bounded
            self._heap = [entry for entry in self._heap if entry[1] in self._pending]
            heapq.heapify(self._heap)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._when, self._heap = None, math.inf, []

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._when = when
        self._timer = asyncio.get_running_loop().call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer, self._when = None, math.inf
        now = asyncio.get_running_loop().time() + _CLOCK_SLACK
        heap, pending = self._heap, self._pending
        while heap and (heap[0][0] <= now or heap[0][1] not in pending):
            request_id = heapq.heappop(heap)[1]
            future = pending.get(request_id)
            if future is not None and not future.done():
                future.set_exception(TimeoutError())
        if heap:
            self._arm(heap[0][0])
