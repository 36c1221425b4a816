"""A small HTTP/1.1 client for calls between replicas: keep-alive connections pooled per node, answers parsed with
httptools (uvicorn's C parser) and read chunk by chunk as they arrive.

Forwarding is on the request path of every call for a server hosted elsewhere; a general-purpose client (httpx)
costs about a millisecond of CPU per request here, this one a fraction of that. It knows only what forwarding needs:
a request with a body in one write, the answer's status, headers and body chunks (fixed length or chunked, which the
parser decodes), and whether its connection may carry the next request."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from typing import Final
from urllib.parse import urlsplit

import httptools

__all__ = ["Answer", "ConnectFailed", "Pool"]

READ_SIZE: Final = 65_536
#: Idle connections kept per node.
MAX_IDLE: Final = 64
Address = tuple[str, int]


class ConnectFailed(OSError):
    """The node could not be reached, or closed the connection before answering."""


class _Parsed:
    """httptools' callbacks: the answer's headers and body chunks as they are parsed."""

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: deque[bytes] = deque()
        self.headers_done = False
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.chunks.append(bytes(body))

    def on_message_complete(self) -> None:
        self.complete = True


class Answer:
    """An answer whose head has arrived; read its body with ``body()``, then ``release()`` the connection."""

    def __init__(
        self,
        pool: Pool,
        address: Address,
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        parser: httptools.HttpResponseParser,
        parsed: _Parsed,
    ) -> None:
        self._pool = pool
        self._address = address
        self._connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = connection
        self._parser = parser
        self._parsed = parsed
        self.status: int = parser.get_status_code()
        self.headers = parsed.headers

    async def body(self) -> AsyncIterator[bytes]:
        """The body's chunks (decoded from chunked transfer coding) as they arrive."""
        parsed = self._parsed
        while True:
            while parsed.chunks:
                yield parsed.chunks.popleft()
            if parsed.complete or self._connection is None:
                return
            data = await self._connection[0].read(READ_SIZE)
            if not data:
                raise ConnectionError("the node closed the connection before the end of its answer")
            self._parser.feed_data(data)

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.body()])

    def release(self) -> None:
        """Give the connection back (kept when the answer was read whole and the node keeps it alive)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._parsed.complete and self._parser.should_keep_alive():
            self._pool.give_back(self._address, connection)
        else:
            connection[1].close()


class Pool:
    def __init__(self, *, connect_timeout: float) -> None:
        self.connect_timeout = connect_timeout
        self._idle: defaultdict[Address, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = defaultdict(list)

    def give_back(self, address: Address, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        idle = self._idle[address]
        if len(idle) < MAX_IDLE and not connection[0].at_eof():
            idle.append(connection)
        else:
            connection[1].close()

    async def request(
        self, base_url: str, method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Answer:
        """Send a request and wait for the answer's head. Raises ``ConnectFailed`` when no byte of an answer came
        (a pooled connection the node had closed is replaced by a new one first)."""
        parts = urlsplit(base_url)
        address = (parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80))
        if parts.scheme != "http":
            raise ConnectFailed(f"only http:// internal addresses are supported, not {base_url}")
        lines = [f"{method} {target} HTTP/1.1".encode(), b"host: " + parts.netloc.encode()]
        lines += [name + b": " + value for name, value in headers]
        lines.append(b"content-length: %d" % len(body))
        request = b"\r\n".join(lines) + b"\r\n\r\n" + body
        while True:
            pooled = bool(self._idle[address])
            connection = self._idle[address].pop() if pooled else await self._connect(address)
            try:
                return await self._exchange(address, connection, request)
            except (OSError, ConnectionError, httptools.HttpParserError) as exc:
                connection[1].close()
                if not pooled:
                    raise ConnectFailed(str(exc) or type(exc).__name__) from exc

    async def _exchange(
        self, address: Address, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> Answer:
        reader, writer = connection
        writer.write(request)
        await writer.drain()
        parsed = _Parsed()
        parser = httptools.HttpResponseParser(parsed)
        while not parsed.headers_done:
            data = await reader.read(READ_SIZE)
            if not data:
                raise ConnectionError("the connection closed before an answer")
            parser.feed_data(data)
        return Answer(self, address, connection, parser, parsed)

    async def _connect(self, address: Address) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await asyncio.open_connection(*address, limit=READ_SIZE)
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(str(exc) or "connection timed out") from exc

    def close(self) -> None:
        for connections in self._idle.values():
            for _, writer in connections:
                with contextlib.suppress(Exception):
                    writer.close()
        self._idle.clear()
