"""The load generator of the gateway benchmark: one client for every HTTP target.

A minimal HTTP/1.1 client over asyncio streams (keep-alive, one connection per worker, Content-Length or chunked
bodies), speaking Streamable HTTP: POST initialize, take ``Mcp-Session-Id``, POST notifications/initialized, then
N workers POST ``tools/call echo`` concurrently on that one session, each waiting for its answer (JSON or an SSE
stream) before the next. It parses only what it must, so on two cores it stays a small share of the CPU (its own
CPU per call is reported next to the gateway's).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

PROTOCOL_VERSION = "2025-11-25"
ECHO_PARAMS = {"name": "echo", "arguments": {"text": "hello from the benchmark"}}
CALL_TIMEOUT = 30.0


class HttpError(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:300].decode(errors='replace')}")
        self.status = status


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def message(self, wanted_id: int) -> dict[str, Any]:
        """The JSON-RPC answer to ``wanted_id``, from a JSON body or an SSE stream."""
        if self.status >= 300:
            raise HttpError(self.status, self.body)
        if self.headers.get("content-type", "").startswith("text/event-stream"):
            for event in self.body.replace(b"\r\n", b"\n").split(b"\n\n"):
                data = b"\n".join(line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:"))
                if data:
                    message = orjson.loads(data)
                    if isinstance(message, dict) and message.get("id") == wanted_id:
                        return message
            raise HttpError(self.status, b"no answer in the event stream: " + self.body)
        message = orjson.loads(self.body)
        if not isinstance(message, dict):
            raise HttpError(self.status, self.body)
        return message


class HttpConnection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes, headers: bytes = b"") -> Response:
        if self.writer is None or self.reader is None or self.reader.at_eof():
            await self.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(
            b"".join(
                (
                    self.prefix,
                    b"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n",
                    headers,
                    b"Content-Length: %d\r\n\r\n" % len(body),
                    body,
                )
            )
        )
        try:
            return await self._read()
        except BaseException:
            await self.close()
            raise

    async def _read(self) -> Response:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append((await self.reader.readexactly(size + 2))[:-2])
            await self.reader.readuntil(b"\r\n")  # the (empty) trailer
            body = b"".join(chunks)
        elif status in (202, 204, 304):
            body = b""
        else:
            body = await self.reader.read()
        if headers.get("connection", "").lower() == "close" or self.reader.at_eof():
            await self.close()
        return Response(status, headers, body)

    async def close(self) -> None:
        writer, self.writer, self.reader = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


@dataclass
class Session:
    """An MCP session on a Streamable HTTP endpoint, shared by every worker's connection."""

    url: str
    auth: str | None = None
    session_id: str | None = None
    protocol_version: str = PROTOCOL_VERSION
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def headers(self) -> bytes:
        lines = [f"MCP-Protocol-Version: {self.protocol_version}\r\n"]
        if self.session_id:
            lines.append(f"Mcp-Session-Id: {self.session_id}\r\n")
        if self.auth:
            lines.append(f"Authorization: {self.auth}\r\n")
        return "".join(lines).encode()

    async def open(self) -> dict[str, Any]:
        """initialize and notifications/initialized; the server's initialize result."""
        connection = HttpConnection(self.url)
        try:
            params = {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "mcphost-bench", "version": "1.0"},
            }
            request_id = next(self.ids)
            body = orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params})
            auth = f"Authorization: {self.auth}\r\n".encode() if self.auth else b""
            response = await connection.post(body, auth)
            answer = response.message(request_id)
            if "result" not in answer:
                raise RuntimeError(f"initialize failed: {answer}")
            self.session_id = response.headers.get("mcp-session-id")
            self.protocol_version = answer["result"].get("protocolVersion", PROTOCOL_VERSION)
            notified = await connection.post(
                orjson.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}), self.headers()
            )
            if notified.status >= 300:
                raise HttpError(notified.status, notified.body)
            return dict(answer["result"])
        finally:
            await connection.close()

    async def close(self) -> None:
        """End the session (DELETE), so gateways that keep a backend per session let it go."""
        if self.session_id is None:
            return
        connection = HttpConnection(self.url)
        connection.prefix = connection.prefix.replace(b"POST ", b"DELETE ", 1)
        try:
            await asyncio.wait_for(connection.post(b"", self.headers()), 5)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            await connection.close()


@dataclass
class Tally:
    latencies_ns: list[int] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    def error(self, what: object) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = str(what)[:300]


Call = Any  # an async callable: () -> None, raising on a failed call


def http_call(session: Session) -> Call:
    """A call function bound to a fresh connection of this worker."""
    connection = HttpConnection(session.url)
    headers = session.headers()

    async def call() -> None:
        request_id = next(session.ids)
        body = orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": ECHO_PARAMS})
        answer = (await connection.post(body, headers)).message(request_id)
        if "result" not in answer or answer["result"].get("isError"):
            raise RuntimeError(f"call failed: {answer}")

    call.close = connection.close  # type: ignore[attr-defined]
    return call


async def drive(calls: list[Call], seconds: float, tally: Tally) -> float:
    """Each worker calls until ``seconds`` have passed; returns the wall time until the last answer."""

    async def worker(call: Call) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter_ns()
            try:
                await asyncio.wait_for(call(), CALL_TIMEOUT)
            except Exception as exc:  # every failure counts as an error; the run goes on
                tally.error(exc)
                continue
            tally.latencies_ns.append(time.perf_counter_ns() - started)

    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(worker(call) for call in calls))
    return time.perf_counter() - started
