"""A client connection to a Streamable HTTP MCP server (protocol 2025-03-26 to 2025-11-25).

Each request is a POST; the answer comes as ``application/json`` or as a ``text/event-stream`` that carries
notifications, server→client requests (answered by POSTing the handler's reply) and, last, the response. The
session id the server assigns at ``initialize`` and the negotiated protocol version are sent with every later
request; ``close()`` ends the session with DELETE. ``listen()`` holds the optional GET stream for server messages
outside requests."""

# ruff: noqa: ASYNC109 -- timeouts are per request, as in the stdio connection.
from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import orjson

from mcphost.mcp.jsonrpc import (
    INTERNAL_ERROR,
    METHOD_NOT_FOUND,
    ConnectionClosed,
    JsonRpcError,
    Message,
    error_response,
    result_response,
)

log = logging.getLogger(__name__)
SESSION_HEADER = "mcp-session-id"
LISTEN_RETRY_SECONDS = 0.5
LISTEN_RETRY_MAX_SECONDS = 30.0
_LISTEN_TIMEOUT = httpx.Timeout(30.0, read=None)  # a GET stream may be quiet for as long as it likes
VERSION_HEADER = "mcp-protocol-version"


class HttpConnection:
    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        headers: dict[str, str] | None = None,
        first_id: int = 1,
    ):
        """``first_id``: where this connection's request ids start (connections sharing one upstream session, one
        per gateway replica, each use their own range)."""
        self.url = url
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))
        self._owns_client = client is None
        self._headers = dict(headers or {})
        self._ids = itertools.count(first_id)
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self._on_notification: Callable[[Message], object] | None = None
        self._on_request: Callable[[Message], Awaitable[dict[str, Any]]] | None = None
        self._serving: dict[Any, asyncio.Task[None]] = {}
        self._listener: asyncio.Task[None] | None = None
        self.closed = False

    def on_notification(self, handler: Callable[[Message], object] | None) -> None:
        self._on_notification = handler

    def on_request(self, handler: Callable[[Message], Awaitable[dict[str, Any]]] | None) -> None:
        """Set the handler of server→client requests that arrive on response streams (-32601 without one)."""
        self._on_request = handler

    async def roundtrip(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None) -> Message:
        """Send a request and return the whole response message, error answers included (for relaying)."""
        request_id = next(self._ids)
        message: Message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        return await self._exchange(message, request_id, timeout)

    async def send_raw(self, message: Message) -> None:
        """POST a notification or a response as it is."""
        response = await self._post(message, timeout=30)
        await response.aclose()
        if response.status_code >= 400:
            raise ConnectionClosed(f"the server refused the message: HTTP {response.status_code}")

    async def request(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None
    ) -> dict[str, Any]:
        request_id = next(self._ids)
        message: Message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        response = await self._exchange(message, request_id, timeout)
        if "error" in response:
            raise JsonRpcError.from_response(response)
        result = response.get("result") or {}
        if method == "initialize" and isinstance(result, dict):
            self.protocol_version = result.get("protocolVersion")
        return dict(result)

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        message: Message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        response = await self._post(message, timeout=30)
        await response.aclose()
        if response.status_code >= 400:
            raise ConnectionClosed(f"the server refused the notification: HTTP {response.status_code}")

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for task in [*self._serving.values(), *([self._listener] if self._listener else [])]:
            task.cancel()
        try:
            if self.session_id is not None:
                await self._client.delete(self.url, headers=self._request_headers(), timeout=5)
        except httpx.HTTPError:
            pass
        finally:
            if self._owns_client:
                await self._client.aclose()

    def _request_headers(self) -> dict[str, str]:
        headers = {**self._headers, "accept": "application/json, text/event-stream", "content-type": "application/json"}
        if self.session_id is not None:
            headers[SESSION_HEADER] = self.session_id
        if self.protocol_version is not None:
            headers[VERSION_HEADER] = self.protocol_version
        return headers

    async def _post(self, message: Message, *, timeout: float | None) -> httpx.Response:
        if self.closed:
            raise ConnectionClosed("the connection was closed")
        try:
            request = self._client.build_request(
                "POST", self.url, content=orjson.dumps(message), headers=self._request_headers(), timeout=timeout
            )
            return await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"no answer from {self.url} in time") from exc
        except httpx.HTTPError as exc:
            raise ConnectionClosed(f"cannot reach {self.url}: {exc}") from exc

    async def _exchange(self, message: Message, request_id: int, timeout: float | None) -> Message:
        response = await self._post(message, timeout=timeout)
        try:
            if response.status_code == 404 and self.session_id is not None:
                raise ConnectionClosed("the server ended the session (HTTP 404)")
            if response.status_code >= 400:
                body = (await response.aread())[:500].decode(errors="replace")
                raise ConnectionClosed(f"the server answered HTTP {response.status_code}: {body}")
            if session := response.headers.get(SESSION_HEADER):
                self.session_id = session
            kind = response.headers.get("content-type", "")
            if kind.startswith("text/event-stream"):
                return await self._from_stream(response, request_id)
            answer = orjson.loads(await response.aread())
            if not isinstance(answer, dict):
                raise ConnectionClosed("the server answered with something that is not a JSON-RPC response")
            return answer
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"no answer from {self.url} in time") from exc
        except httpx.HTTPError as exc:
            raise ConnectionClosed(f"the connection to {self.url} failed: {exc}") from exc
        finally:
            await response.aclose()

    async def _from_stream(self, response: httpx.Response, request_id: int) -> Message:
        async for _, message in _events(response):
            if message.get("id") == request_id and "method" not in message:
                return message
            if "method" in message:
                self._server_message(message)
        raise ConnectionClosed("the server's event stream ended without the response")

    def listen(self) -> None:
        """Hold the server's GET stream, where it sends what belongs to no request (list changes, resource
        updates), reconnecting with ``Last-Event-ID`` while the session lives. Call after ``initialize``."""
        if self._listener is None and not self.closed:
            self._listener = asyncio.get_running_loop().create_task(self._listen_forever(), name=f"mcp-get:{self.url}")

    async def _listen_forever(self) -> None:
        delay, last_event_id = LISTEN_RETRY_SECONDS, None
        while not self.closed:
            headers = {key: value for key, value in self._request_headers().items() if key != "content-type"}
            headers["accept"] = "text/event-stream"
            if last_event_id is not None:
                headers["last-event-id"] = last_event_id
            try:
                async with self._client.stream("GET", self.url, headers=headers, timeout=_LISTEN_TIMEOUT) as response:
                    if response.status_code in (404, 405):  # no GET stream here, or the session is over
                        return
                    if response.status_code < 400:
                        delay = LISTEN_RETRY_SECONDS
                        async for event_id, message in _events(response):
                            last_event_id = event_id or last_event_id
                            if "method" in message:
                                self._server_message(message)
            except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
                log.debug("the GET stream of %s ended: %r", self.url, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, LISTEN_RETRY_MAX_SECONDS)

    def _server_message(self, message: Message) -> None:
        if "id" not in message:
            if message["method"] == "notifications/cancelled":
                params = message.get("params")
                task = self._serving.get(params.get("requestId")) if isinstance(params, dict) else None
                if task is not None:
                    task.cancel()
            if self._on_notification is not None:
                self._on_notification(message)
            return
        task = asyncio.get_running_loop().create_task(self._serve(message))
        self._serving[message["id"]] = task
        task.add_done_callback(lambda _: self._serving.pop(message["id"], None))

    async def _serve(self, message: Message) -> None:
        request_id = message["id"]
        handler = self._on_request
        if message["method"] == "ping":
            reply = result_response(request_id, {})
        elif handler is None:
            reply = error_response(request_id, JsonRpcError(METHOD_NOT_FOUND, f"Method not found: {message['method']}"))
        else:
            try:
                reply = result_response(request_id, await handler(message))
            except JsonRpcError as exc:
                reply = error_response(request_id, exc)
            except Exception:
                log.exception("the request handler failed on %s", message["method"])
                reply = error_response(request_id, JsonRpcError(INTERNAL_ERROR, "Internal error"))
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            await self.send_raw(reply)


async def _events(response: httpx.Response) -> AsyncIterator[tuple[str | None, Message]]:
    """The JSON-RPC messages of an event stream with their event ids (priming events without data skipped)."""
    data: list[str] = []
    event_id: str | None = None
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line == "":
            text = "\n".join(data)
            data.clear()
            if text.strip():
                message = orjson.loads(text)
                if isinstance(message, dict):
                    yield event_id, message
