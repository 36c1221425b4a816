"""A round-robin HTTP/1.1 proxy on loopback, as a load balancer in front of several replicas.

Each request from a client (its keep-alive connection is kept) goes to the next backend in turn, over a keep-alive
connection to that backend (a pool per backend). A backend that refuses the connection, or closes it before the first
byte of its answer, is marked down for ``down_seconds`` and the request goes to the next one, as nginx does with
``proxy_next_upstream error non_idempotent``: a replica that dies costs no request that it had not started to answer
(the request may then have run twice). Once a backend has started answering, a failure is the client's (its
connection is closed). Answers are relayed as they arrive, chunk by chunk, so event streams flow through.

It counts, per backend, the requests answered and the retries, for tests and benchmarks to report."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Final

MAX_HEAD: Final = 65_536
CONNECT_TIMEOUT: Final = 2.0
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class _BackendFailed(Exception):
    """The backend did not start answering: the request may go to another one."""


@dataclass
class RoundRobinProxy:
    backends: list[tuple[str, int]]
    down_seconds: float = 5.0
    answered: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    failed: int = 0
    _next: int = 0
    _down_until: dict[int, float] = field(default_factory=dict)
    _idle: defaultdict[int, list[Connection]] = field(default_factory=lambda: defaultdict(list))
    _server: asyncio.base_events.Server | None = None
    _clients: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", port, limit=MAX_HEAD)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)
            for connections in self._idle.values():
                for _, writer in connections:
                    writer.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def _order(self) -> list[int]:
        """The backends to try for the next request: the next one in turn first, those marked down last."""
        count = len(self.backends)
        start, self._next = self._next, (self._next + 1) % count
        ordered = [(start + offset) % count for offset in range(count)]
        now = time.monotonic()
        return [i for i in ordered if self._down_until.get(i, 0) <= now] + [
            i for i in ordered if self._down_until.get(i, 0) > now
        ]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                if not await self._forward(request, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return
        except asyncio.CancelledError:  # the proxy stops: the connection just ends (asyncio would log the cancel)
            return
        finally:
            self._clients.discard(task)
            writer.close()

    async def _forward(self, request: bytes, client: asyncio.StreamWriter) -> bool:
        """Relay one request; whether the client's connection may carry another."""
        for attempt, index in enumerate(self._order()):
            try:
                complete = await self._relay(index, request, client)
            except _BackendFailed:
                self._down_until[index] = time.monotonic() + self.down_seconds
                if attempt + 1 < len(self.backends):
                    self.retries += 1
                continue
            self.answered[index] += 1
            return complete
        self.failed += 1
        client.write(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
        await client.drain()
        return True

    async def _relay(self, index: int, request: bytes, client: asyncio.StreamWriter) -> bool:
        """Relay one answer; whether the client's connection may carry another. A pooled connection the backend
        closed meanwhile is replaced by a new one before the backend counts as failed."""
        while True:
            pooled = bool(self._idle[index])
            reader, writer = self._idle[index].pop() if pooled else await self._connect(index)
            if pooled and (writer.is_closing() or reader.at_eof()):
                writer.close()
                continue
            try:
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                break
            # uvloop raises RuntimeError when writing to a connection its peer has just reset
            except (OSError, RuntimeError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                writer.close()
                if not pooled:
                    raise _BackendFailed from exc
        reusable = True
        try:
            client.write(head)
            length, chunked, closes = _framing(head)
            if length is not None:
                await _copy(reader, client, length)
            elif chunked:
                await _copy_chunked(reader, client)
            elif not _no_body(head):  # ends with the connection: the client's ends too
                while chunk := await reader.read(65_536):
                    client.write(chunk)
                    await client.drain()
                reusable = False
                return False
            reusable = not closes
            return True
        except BaseException:
            reusable = False
            raise
        finally:
            if reusable:
                self._idle[index].append((reader, writer))
            else:
                writer.close()

    async def _connect(self, index: int) -> Connection:
        host, port = self.backends[index]
        try:
            return await asyncio.wait_for(asyncio.open_connection(host, port, limit=MAX_HEAD), CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise _BackendFailed from exc


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request (head without its hop-by-hop headers, and its body), or None when the client closed."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head[:-4].split(b"\r\n")
    kept = [lines[0]]
    length, chunked = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value.strip())
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        if lowered not in (b"connection", b"keep-alive"):
            kept.append(line)
    body = await reader.readexactly(length) if length else b""
    if chunked:
        body = await _read_chunked(reader)
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked body, passed on chunked as it came."""
    parts = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        parts.append(size_line)
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            parts.append(await reader.readuntil(b"\r\n"))
            return b"".join(parts)
        parts.append(await reader.readexactly(size + 2))


def _framing(head: bytes) -> tuple[int | None, bool, bool]:
    """(Content-Length, chunked, Connection: close) of an answer head."""
    length, chunked, closes = None, False, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        lowered, value = name.strip().lower(), value.strip().lower()
        if lowered == b"content-length":
            length = int(value)
        elif lowered == b"transfer-encoding" and b"chunked" in value:
            chunked = True
        elif lowered == b"connection" and value == b"close":
            closes = True
    return length, chunked, closes


def _no_body(head: bytes) -> bool:
    status = head.split(b" ", 2)[1]
    return status in (b"204", b"304") or status.startswith(b"1")


async def _copy(reader: asyncio.StreamReader, client: asyncio.StreamWriter, length: int) -> None:
    while length > 0:
        chunk = await reader.read(min(length, 65_536))
        if not chunk:
            raise ConnectionError("the backend closed before the end of its answer")
        client.write(chunk)
        length -= len(chunk)
    await client.drain()


async def _copy_chunked(reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
    """Relay a chunked body chunk by chunk, as the backend writes it (event streams)."""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        client.write(size_line)
        if size == 0:
            while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                client.write(trailer)
            client.write(b"\r\n")
            await client.drain()
            return
        client.write(await reader.readexactly(size + 2))
        await client.drain()


async def _serve_forever(port: int, backends: list[tuple[str, int]]) -> None:
    """Run as a process of its own (benchmarks): prints ``listening`` once ready and its counters as JSON when
    it gets SIGTERM."""
    import json
    import signal

    proxy = RoundRobinProxy(backends)
    await proxy.start(port)
    print("listening", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    counters = {"answered": dict(proxy.answered), "retries": proxy.retries, "failed": proxy.failed}
    print(json.dumps(counters), flush=True)
    await proxy.stop()


if __name__ == "__main__":  # python tests/support/round_robin.py PORT HOST:PORT [HOST:PORT...]
    import sys

    listen, *targets = sys.argv[1:]
    pairs = [(host, int(port)) for host, _, port in (target.rpartition(":") for target in targets)]
    try:
        import uvloop

        uvloop.run(_serve_forever(int(listen), pairs))
    except ImportError:
        asyncio.run(_serve_forever(int(listen), pairs))
