"""``mcphost bridge serve``: a stdio MCP server's Streamable HTTP endpoint inside its Kubernetes pod.

A stdio server runs in its own container; beside it, in the same pod, this bridge holds the other ends of its stdin
and stdout (two FIFOs on a shared in-memory volume, ``runtimes/fifo.py``) and serves them at ``/mcp`` for the one
client it has: the node agent of MCP Host, which wraps the connection in its upstream mux and relays every client
session through it (ADR 0006). The gateway in front keeps doing what it does for any server — both protocol eras,
sessions, ids, credentials —, so the bridge only carries messages, as the pipes of a local process would:

- POST: each message goes to the server's stdin as one line. Notifications and responses are answered 202; requests
  get an event stream that carries what the server sends meanwhile (progress, log messages, its own requests) and
  ends with their responses.
- GET: the stream of what the server sends when no request is open (buffered, bounded, until one is open).
- DELETE: ends the client's session (the server keeps running; the next ``initialize`` starts anew).
- ``/healthz``: 200 once both pipes are open, 503 before (the pod's readiness probe).

Every request to ``/mcp`` carries ``Authorization: Bearer <token>`` (the pod's Secret), compared in constant time:
other pods of the cluster reach the bridge's port but not the server."""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from collections import deque
from pathlib import Path
from typing import Any, Final

import orjson

from mcphost.gateway.asgi import (
    SSE_HEADERS,
    BodyTooLarge,
    Disconnected,
    Receive,
    Scope,
    Send,
    header,
    read_body,
    respond,
    respond_json,
    sse_event,
    until_disconnected,
)
from mcphost.mcp.jsonrpc import INTERNAL_ERROR, InvalidMessage, JsonRpcError, Message, classify, encode, error_response
from mcphost.runtimes import fifo

__all__ = ["StdioBridge"]

log = logging.getLogger(__name__)

MAX_BODY: Final = 16 * 1024 * 1024
MAX_LINE: Final = 16 * 1024 * 1024
BACKLOG: Final = 1000
SESSION_HEADER: Final = b"mcp-session-id"
_CLOSE: Final = object()


class StdioBridge:
    """The ASGI app of ``mcphost bridge serve``; ``run_pipes`` connects it to the server's FIFOs."""

    def __init__(self, token: str) -> None:
        self._token = f"Bearer {token}".encode()
        self._writer: asyncio.StreamWriter | None = None
        self._write_lock = asyncio.Lock()
        self._answers: dict[Any, asyncio.Queue[object]] = {}
        self._streams: list[asyncio.Queue[object]] = []  # open request streams, newest last
        self._listeners: list[asyncio.Queue[object]] = []
        self._backlog: deque[bytes] = deque(maxlen=BACKLOG)
        self._session = uuid.uuid4().hex
        self.ready = asyncio.Event()
        self.ended = asyncio.Event()

    # the server's side

    async def run_pipes(self, directory: Path, open_timeout: float) -> None:
        """Open the FIFOs (``out`` first, then ``in`` once the server's shell opened it) and carry the server's
        output."""
        channel = await fifo.open_output(directory, MAX_LINE)
        try:
            async with asyncio.timeout(open_timeout):
                await fifo.open_input(channel, directory, asyncio.Event())
        except TimeoutError:
            raise OSError(f"the server did not open its input within {open_timeout:.0f} s") from None
        self._writer = channel.writer
        self.ready.set()
        log.info("connected to the server's stdio at %s", directory)
        try:
            await self._read(channel.reader)
        finally:
            self.ready.clear()
            self.ended.set()
            channel.close()
            self._fail_open("the server's output ended")

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            if not line.strip():
                continue
            try:
                message = orjson.loads(line)
                kind = classify(message) if isinstance(message, dict) else "batch"
            except (orjson.JSONDecodeError, InvalidMessage):
                log.warning("the server wrote a line that is not a JSON-RPC message; dropped")
                continue
            if kind == "response" and (answers := self._answers.pop(message.get("id"), None)) is not None:
                answers.put_nowait(line.rstrip(b"\n"))
            else:
                self._outside(line.rstrip(b"\n"))

    def _outside(self, line: bytes) -> None:
        """What the server sends outside an answer: to the newest open request stream, else the GET stream."""
        target = self._streams[-1] if self._streams else (self._listeners[-1] if self._listeners else None)
        if target is None:
            self._backlog.append(line)
        else:
            target.put_nowait(line)

    def _fail_open(self, reason: str) -> None:
        for request_id, answers in list(self._answers.items()):
            answers.put_nowait(orjson.dumps(error_response(request_id, JsonRpcError(INTERNAL_ERROR, reason))))
        self._answers.clear()
        for queue in self._listeners:
            queue.put_nowait(_CLOSE)

    async def _write(self, body: bytes) -> None:
        if self._writer is None or self.ended.is_set():
            raise ConnectionError("the server's input is not open")
        async with self._write_lock:
            self._writer.write(body)
            await self._writer.drain()

    # the client's side

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/healthz":
            ok = self.ready.is_set()
            await respond(send, 200 if ok else 503, b"ok\n" if ok else b"the server's stdio is not open\n")
            return
        if path.rstrip("/") != "/mcp":
            await respond_json(send, 404, {"error": "not found: the bridge serves /mcp and /healthz"})
            return
        if not hmac.compare_digest(header(scope, b"authorization") or b"", self._token):
            await respond_json(send, 401, {"error": "a valid bearer token is required"})
            return
        if method == "POST":
            await self._post(scope, receive, send)
        elif method == "GET":
            await self._listen(receive, send)
        elif method == "DELETE":
            self._session = uuid.uuid4().hex
            await respond(send, 200)
        else:
            await respond_json(send, 405, {"error": f"{method} is not allowed; use POST, GET or DELETE"})

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await read_body(receive, header(scope, b"content-length"), MAX_BODY)
            parsed = orjson.loads(body)
            messages: list[Message] = parsed if isinstance(parsed, list) else [parsed]
            kinds = [classify(message) for message in messages]
        except BodyTooLarge:
            await respond_json(send, 413, {"error": f"the body is larger than {MAX_BODY} bytes"})
            return
        except Disconnected:
            return
        except (orjson.JSONDecodeError, InvalidMessage, TypeError) as exc:
            await respond_json(send, 400, {"error": f"not a JSON-RPC message: {exc}"})
            return
        ids = [message["id"] for message, kind in zip(messages, kinds, strict=True) if kind == "request"]
        if any(message.get("method") == "initialize" for message in messages):
            self._session = uuid.uuid4().hex
        session = [(SESSION_HEADER, self._session.encode())]
        answers: asyncio.Queue[object] = asyncio.Queue()
        for request_id in ids:
            self._answers[request_id] = answers
        try:
            await self._write(b"".join(encode(message) for message in messages))
        except (ConnectionError, OSError) as exc:
            for request_id in ids:
                self._answers.pop(request_id, None)
            await respond_json(send, 503, {"error": f"the server cannot take messages: {exc}"})
            return
        if not ids:
            await respond(send, 202, headers=session)
            return
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS + session})
        self._streams.append(answers)
        try:
            await until_disconnected(receive, self._stream(send, answers, len(ids)))
        finally:
            self._streams.remove(answers)
            for request_id in ids:
                self._answers.pop(request_id, None)

    async def _stream(self, send: Send, queue: asyncio.Queue[object], responses: int) -> None:
        while responses:
            item = await queue.get()
            assert isinstance(item, bytes)
            try:
                if classify(orjson.loads(item)) == "response":
                    responses -= 1
            except InvalidMessage:
                pass
            await send({"type": "http.response.body", "body": sse_event(item), "more_body": bool(responses)})
        await send({"type": "http.response.body", "body": b""})

    async def _listen(self, receive: Receive, send: Send) -> None:
        queue: asyncio.Queue[object] = asyncio.Queue()
        while self._backlog:
            queue.put_nowait(self._backlog.popleft())
        session = [(SESSION_HEADER, self._session.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS + session})
        self._listeners.append(queue)

        async def relay() -> None:
            while (item := await queue.get()) is not _CLOSE:
                assert isinstance(item, bytes)
                await send({"type": "http.response.body", "body": sse_event(item), "more_body": True})
            await send({"type": "http.response.body", "body": b""})

        try:
            await until_disconnected(receive, relay())
        finally:
            self._listeners.remove(queue)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def serve(directory: Path, host: str, port: int, token: str, open_timeout: float) -> int:
    """Serve until the container is told to stop (SIGTERM) or the pipes cannot be opened; the exit status.

    ``out`` is held open for reading and writing (``fifo.open_output``), so the server's exit shows as no end of its
    output here: MCP Host learns of it from the pod's status (the server's container terminated) and replaces the
    pod."""
    import uvicorn

    bridge = StdioBridge(token)
    server = uvicorn.Server(uvicorn.Config(bridge, host=host, port=port, log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve())
    pipes = asyncio.create_task(bridge.run_pipes(directory, open_timeout))
    await asyncio.wait({serving, pipes}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    pipes.cancel()
    results = await asyncio.gather(serving, pipes, return_exceptions=True)
    failure = results[1]
    if isinstance(failure, OSError):
        log.error("%s", failure)
        return 1
    return 0
