"""A stdio-to-Streamable-HTTP relay: MCP messages read as lines are POSTed to a hosted endpoint, and every message
the endpoint sends back (in a JSON body, in an SSE stream answering a POST, or on the session's GET stream) is
written as one line.

Requests do not wait for each other: each is POSTed in its own task. Notifications and responses (the client's
answers to the server's requests) are POSTed in the order they are read. Lines are written whole, from the event
loop's thread only. Nothing but MCP messages goes to the output; diagnostics go to ``log``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

__all__ = ["Bridge"]

POST_TIMEOUT = httpx.Timeout(10.0, read=600.0)
STREAM_TIMEOUT = httpx.Timeout(10.0, read=None)
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)
DRAIN_SECONDS = 10.0


class Bridge:
    def __init__(
        self,
        endpoint: str,
        key: str,
        *,
        read_line: Callable[[], Awaitable[bytes]],
        write_line: Callable[[bytes], None],
        log: Callable[[str], None],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.read_line = read_line
        self.write_line = write_line
        self.log = log
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self._http = httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, transport=transport)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stream: asyncio.Task[None] | None = None
        self._stream_state = _StreamState()
        #: The initialize request under way: other messages wait for it, which needs the session it opens.
        self._initializing: asyncio.Task[None] | None = None

    # -- the loop ----------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Relay until the input ends; then finish the requests under way and end the session."""
        try:
            while line := await self.read_line():
                line = line.strip()
                if not line:
                    continue
                try:
                    message = orjson.loads(line)
                except orjson.JSONDecodeError:
                    self.log("a line of the input is not JSON; answered with a parse error")
                    self._emit({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}})
                    continue
                if _is_request(message):
                    task = asyncio.create_task(self._post(message))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                    if isinstance(message, dict) and message.get("method") == "initialize":
                        self._initializing = task
                else:
                    await self._post(message)
            if self._tasks:
                _, pending = await asyncio.wait(set(self._tasks), timeout=DRAIN_SECONDS)
                for task in pending:
                    task.cancel()
        finally:
            if self._stream is not None:
                self._stream.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._stream
            await self._end_session()
            await self._http.aclose()

    # -- POST --------------------------------------------------------------------------------------------

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept}
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        return headers

    async def _post(self, message: Any) -> None:
        initialize = isinstance(message, dict) and message.get("method") == "initialize"
        if not initialize and self._initializing is not None and not self._initializing.done():
            await asyncio.wait([self._initializing])
        headers = self._headers("application/json, text/event-stream") | {"Content-Type": "application/json"}
        try:
            request = self._http.build_request(
                "POST", self.endpoint, content=orjson.dumps(message), headers=headers, timeout=POST_TIMEOUT
            )
            response = await self._http.send(request, stream=True)
            try:
                if initialize and response.is_success:
                    self.session_id = response.headers.get("mcp-session-id") or self.session_id
                await self._relay_answer(message, response, initialize=initialize)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            self.log(f"{self.endpoint}: {reason}")
            self._fail(message, f"MCP Host is unreachable: {reason}")
        except asyncio.CancelledError:
            self._fail(message, "the bridge stopped before the answer came")
            raise

    async def _relay_answer(self, message: Any, response: httpx.Response, *, initialize: bool) -> None:
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if response.status_code == 202:
            return
        if not _is_request(message) and not response.is_success:
            # A notification or a response: there is nobody to answer; the client learns nothing from an error.
            raw = await response.aread()
            detail: Any = raw.decode(errors="replace")
            with contextlib.suppress(orjson.JSONDecodeError):
                detail = _error_detail(orjson.loads(raw)) or detail
            self.log(f"HTTP {response.status_code} from {self.endpoint} for a notification or response: {detail}")
            return
        if content_type == "text/event-stream" and response.is_success:
            answered = False
            async for data in _events(response, _StreamState(), self.log):
                answered = answered or _answers(data, message)
                self._answer(data, initialize=initialize)
            if not answered:
                self._fail(message, "the answer's stream ended before the result")
            return
        body = await response.aread()
        parsed: Any = None
        with contextlib.suppress(orjson.JSONDecodeError):
            parsed = orjson.loads(body) if body else None
        if _is_jsonrpc(parsed):
            self._answer(parsed, initialize=initialize)
            if not response.is_success:
                self.log(f"HTTP {response.status_code} from {self.endpoint}")
            return
        if response.is_success:
            if body:
                self.log(f"an answer of {self.endpoint} is not JSON-RPC; dropped")
            return
        detail = _error_detail(parsed) or response.reason_phrase or "error"
        hint = " (the access key was refused)" if response.status_code in (401, 403) else ""
        self.log(f"HTTP {response.status_code} from {self.endpoint}: {detail}{hint}")
        self._fail(message, f"MCP Host answered HTTP {response.status_code}: {detail}{hint}")

    def _answer(self, message: Any, *, initialize: bool) -> None:
        if initialize and isinstance(message, dict) and isinstance(message.get("result"), dict):
            version = message["result"].get("protocolVersion")
            if isinstance(version, str):
                self.protocol_version = version
            if self.session_id and self._stream is None:
                self._stream = asyncio.create_task(self._listen())
        self._emit(message)

    def _fail(self, message: Any, text: str) -> None:
        """Answer each request of ``message`` with an error, so that the client does not wait forever."""
        for item in message if isinstance(message, list) else [message]:
            if _is_request(item):
                self._emit({"jsonrpc": "2.0", "id": item["id"], "error": {"code": -32603, "message": text}})

    def _emit(self, message: Any) -> None:
        try:
            self.write_line(orjson.dumps(message))
        except OSError as exc:  # the client closed its end: what it would have read is lost either way
            self.log(f"cannot write a message: {exc}")

    # -- the session's GET stream ------------------------------------------------------------------------

    async def _listen(self) -> None:
        """Hold the session's stream of server messages, reconnecting (with Last-Event-ID) when it drops."""
        failures = 0
        state = self._stream_state
        while True:
            headers = self._headers("text/event-stream")
            if state.last_event_id:
                headers["Last-Event-ID"] = state.last_event_id
            try:
                request = self._http.build_request("GET", self.endpoint, headers=headers, timeout=STREAM_TIMEOUT)
                response = await self._http.send(request, stream=True)
                try:
                    if response.status_code == 405:
                        return  # the server offers no stream of its own
                    if response.status_code in (401, 403, 404):
                        self.log(f"the session's stream ended: HTTP {response.status_code}")
                        return
                    if response.is_success:
                        async for data in _events(response, state, self.log):
                            failures = 0
                            self._emit(data)
                    else:
                        self.log(f"the session's stream got HTTP {response.status_code}; retrying")
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                self.log(f"the session's stream dropped ({str(exc) or type(exc).__name__}); retrying")
            delay = state.retry_seconds or RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
            failures += 1
            await asyncio.sleep(delay)

    async def _end_session(self) -> None:
        if not self.session_id:
            return
        with contextlib.suppress(httpx.HTTPError):
            await self._http.delete(self.endpoint, headers=self._headers("application/json"), timeout=5.0)


@dataclass
class _StreamState:
    """What an SSE stream said about resuming it."""

    last_event_id: str | None = None
    retry_seconds: float | None = None


async def _events(response: httpx.Response, state: _StreamState, log: Callable[[str], None]) -> AsyncIterator[Any]:
    """The JSON messages of an SSE body, in order; the last event id and retry delay go to ``state``."""
    data: list[str] = []
    event = "message"
    async for line in response.aiter_lines():
        if line == "":
            if data and event == "message":
                text = "\n".join(data)
                try:
                    yield orjson.loads(text)
                except orjson.JSONDecodeError:
                    log("an event of the stream is not JSON; dropped")
            data, event = [], "message"
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "event":
            event = value or "message"
        elif field == "id":
            state.last_event_id = value or None
        elif field == "retry" and value.isdigit():
            state.retry_seconds = int(value) / 1000
    if data and event == "message":
        with contextlib.suppress(orjson.JSONDecodeError):
            yield orjson.loads("\n".join(data))


def _is_request(message: Any) -> bool:
    if isinstance(message, list):
        return any(_is_request(item) for item in message)
    return isinstance(message, dict) and "method" in message and message.get("id") is not None


def _answers(data: Any, message: Any) -> bool:
    """Whether ``data`` holds the response to the request ``message`` (a batch counts as answered)."""
    if not isinstance(message, dict):
        return True
    items = data if isinstance(data, list) else [data]
    return any(isinstance(i, dict) and "method" not in i and i.get("id") == message.get("id") for i in items)


def _is_jsonrpc(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_is_jsonrpc(item) for item in value)
    return isinstance(value, dict) and value.get("jsonrpc") == "2.0"


def _error_detail(body: Any) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return None
