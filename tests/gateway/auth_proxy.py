"""A tiny HTTP/1.1 reverse proxy that adds headers (an `Authorization: Bearer` key) to every request.

The conformance suite cannot send credentials, so tests put this in front of the gateway:

    async with AuthProxy(f"{gateway}/mcp/fixture", headers={"authorization": f"Bearer {key}"}) as proxy:
        await run_suite(proxy.url, version="0.1.16")   # proxy.url: http://127.0.0.1:<port>/mcp/fixture

Everything else passes through unchanged: method, target, query, body, every header (Host and Origin too, so the
gateway judges the client's own Host/Origin), status, response headers and the body framing. The bytes of a
response are relayed as they arrive, so SSE streams event by event. Each client connection gets its own upstream
connection and keeps it while both sides keep the connection alive: keep-alive, and closing, mirror the upstream.
Raw asyncio streams, no HTTP library: nothing is buffered, normalised or re-encoded on the way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import TracebackType
from urllib.parse import urlsplit

__all__ = ["AuthProxy"]

MAX_HEAD = 64 * 1024
READ_SIZE = 64 * 1024
NO_BODY_STATUSES = {204, 304}


class ProtocolError(Exception):
    """A peer sent something that is not HTTP/1.1 as this proxy understands it."""


class _Peer:
    """One side of a proxied connection: a reader with a push-back buffer, and its writer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = bytearray()

    async def fill(self) -> bool:
        """Read whatever arrives next into the buffer; False at end of stream."""
        data = await self.reader.read(READ_SIZE)
        self.buffer += data
        return bool(data)

    async def read_until(self, separator: bytes, limit: int = MAX_HEAD) -> bytes | None:
        """Up to and including `separator`; None when the stream ends cleanly before any byte of it."""
        while (end := self.buffer.find(separator)) < 0:
            if len(self.buffer) > limit:
                raise ProtocolError(f"no {separator!r} within {limit} bytes")
            if not await self.fill():
                if self.buffer:
                    raise ProtocolError("connection closed mid-message")
                return None
        end += len(separator)
        data = bytes(self.buffer[:end])
        del self.buffer[:end]
        return data

    async def read_some(self, most: int) -> bytes:
        """At least one byte and at most `most`, or b'' at end of stream."""
        if not self.buffer and not await self.fill():
            return b""
        data = bytes(self.buffer[:most])
        del self.buffer[:most]
        return data

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def close(self) -> None:
        self.writer.close()


class _Head:
    """A request or response head: its first line and its header fields, names as sent."""

    def __init__(self, start: bytes, fields: list[tuple[bytes, bytes]]) -> None:
        self.start = start
        self.fields = fields

    @classmethod
    def parse(cls, raw: bytes) -> _Head:
        lines = raw[:-4].split(b"\r\n")
        fields: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                raise ProtocolError(f"malformed header line {line!r}")
            fields.append((name, value.strip()))
        return cls(lines[0], fields)

    def get(self, name: str) -> str | None:
        wanted = name.encode().lower()
        values = [value.decode("latin-1") for key, value in self.fields if key.lower() == wanted]
        return ", ".join(values) if values else None

    def tokens(self, name: str) -> set[str]:
        return {token.strip().lower() for token in (self.get(name) or "").split(",") if token.strip()}

    def with_fields(self, replacements: Mapping[str, str]) -> _Head:
        """A copy whose fields named in `replacements` (any case) are replaced by those values."""
        names = {name.lower().encode() for name in replacements}
        kept = [field for field in self.fields if field[0].lower() not in names]
        added = [(name.encode(), value.encode("latin-1")) for name, value in replacements.items()]
        return _Head(self.start, kept + added)

    def encode(self) -> bytes:
        fields = b"".join(name + b": " + value + b"\r\n" for name, value in self.fields)
        return self.start + b"\r\n" + fields + b"\r\n"


async def _copy_exactly(source: _Peer, target: _Peer, size: int) -> None:
    while size > 0:
        data = await source.read_some(min(size, READ_SIZE))
        if not data:
            raise ProtocolError("connection closed mid-body")
        await target.send(data)
        size -= len(data)


async def _copy_chunked(source: _Peer, target: _Peer) -> None:
    """Relay a chunked body verbatim, chunk by chunk, up to and including the trailer section."""
    while True:
        line = await source.read_until(b"\r\n")
        if line is None:
            raise ProtocolError("connection closed mid-body")
        await target.send(line)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size line {line!r}") from None
        if size == 0:
            while (trailer := await source.read_until(b"\r\n")) not in (None, b"\r\n"):
                await target.send(trailer)
            await target.send(b"\r\n")
            return
        await _copy_exactly(source, target, size + 2)  # the chunk and its CRLF


async def _copy_body(source: _Peer, target: _Peer, head: _Head, *, request: bool) -> bool:
    """Relay the body `head` announces; True when the end of the connection delimits it (responses only: a
    request without Content-Length or chunked coding has no body, RFC 9112 6.3)."""
    if "chunked" in head.tokens("transfer-encoding"):
        await _copy_chunked(source, target)
        return False
    length = head.get("content-length")
    if length is not None:
        await _copy_exactly(source, target, int(length.split(",")[0]))
        return False
    return not request


class AuthProxy:
    """`async with AuthProxy(target_url, headers={...}) as proxy`: listens on 127.0.0.1 (a free port);
    `proxy.url` is `target_url` with the proxy's address in place of the target's."""

    def __init__(self, target_url: str, *, headers: Mapping[str, str]) -> None:
        parts = urlsplit(target_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"AuthProxy relays plain http:// targets, not {target_url!r}")
        self.target_host = parts.hostname
        self.target_port = parts.port or 80
        self._target = parts
        self.headers = dict(headers)
        self.url = ""
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> AuthProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = self._target._replace(netloc=f"127.0.0.1:{port}").geturl()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        client = _Peer(reader, writer)
        upstream: _Peer | None = None
        try:
            while True:
                request = await self._next_request(client, upstream)
                if request is None:
                    return
                if upstream is None:
                    try:
                        upstream = _Peer(*await asyncio.open_connection(self.target_host, self.target_port))
                    except OSError as error:
                        await client.send(_bad_gateway(f"AuthProxy: cannot reach the target: {error}"))
                        return
                await upstream.send(request.with_fields(self.headers).encode())
                await _copy_body(client, upstream, request, request=True)
                if not await self._relay_response(upstream, client, request):
                    return
        except (ProtocolError, OSError, ValueError, asyncio.IncompleteReadError):
            return  # either side broke the exchange: drop both connections, as a TCP proxy would
        except asyncio.CancelledError:
            # Only __aexit__ cancels a connection. Ending normally matters: asyncio's start_server callback calls
            # task.exception() on the finished task, which raises (and logs) for a cancelled one.
            return
        finally:
            self._connections.discard(task)
            for peer in (client, upstream):
                if peer is not None:
                    peer.close()

    async def _next_request(self, client: _Peer, upstream: _Peer | None) -> _Head | None:
        """The next request head, or None when either side ends the connection while it is idle."""
        reading = asyncio.ensure_future(client.read_until(b"\r\n\r\n"))
        if upstream is None:
            raw = await reading
            return None if raw is None else _Head.parse(raw)
        closing = asyncio.ensure_future(upstream.fill())  # the upstream ends an idle keep-alive connection
        try:
            await asyncio.wait({reading, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
            if not reading.done():
                reading.cancel()
            await asyncio.gather(reading, closing, return_exceptions=True)
        if closing.done() and not closing.cancelled():
            return None
        raw = reading.result()
        return None if raw is None else _Head.parse(raw)

    async def _relay_response(self, upstream: _Peer, client: _Peer, request: _Head) -> bool:
        """Relay the response (after any 1xx); True when both connections stay open for the next request."""
        while True:
            raw = await upstream.read_until(b"\r\n\r\n")
            if raw is None:
                raise ProtocolError("the upstream closed without a response")
            response = _Head.parse(raw)
            await client.send(raw)
            status = int(response.start.split(b" ", 2)[1])
            if not 100 <= status < 200:
                break
        bodiless = request.start.startswith(b"HEAD ") or status in NO_BODY_STATUSES
        # Relay the body while watching the client: a client that hangs up mid-stream (an SSE reader that is done)
        # ends the upstream request too, instead of leaving it streaming to nobody.
        relaying = asyncio.ensure_future(_copy_until_close(upstream, client, response, bodiless))
        hangup = asyncio.ensure_future(client.fill())
        try:
            done, _ = await asyncio.wait({relaying, hangup}, return_when=asyncio.FIRST_COMPLETED)
            if hangup in done and hangup.result():
                await asyncio.wait({relaying})  # the client already sent its next request: keep it buffered
            elif hangup in done:
                return False
        finally:
            hangup.cancel()
            relaying.cancel()
            await asyncio.gather(relaying, hangup, return_exceptions=True)
        until_close = relaying.result()
        close_asked = "close" in request.tokens("connection") | response.tokens("connection")
        return not until_close and not close_asked and not response.start.startswith(b"HTTP/1.0")


def _bad_gateway(message: str) -> bytes:
    body = message.encode()
    head = f"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


async def _copy_until_close(upstream: _Peer, client: _Peer, response: _Head, bodiless: bool) -> bool:
    """Relay a response body; True when the upstream delimited it by closing the connection."""
    if bodiless:
        return False
    if await _copy_body(upstream, client, response, request=False):
        while data := await upstream.read_some(READ_SIZE):
            await client.send(data)
        return True
    return False
