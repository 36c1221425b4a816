"""A server's container while it runs: its MCP channel over the attach socket, its log lines, its exit, and its
removal once the exit code is known (nothing is left behind: ``auto_remove`` is off so the code can be read first).

The attach socket is the engine's hijacked HTTP connection (``POST /containers/{id}/attach``), opened before the
container starts so no output is lost. Without a TTY the engine multiplexes stdout and stderr on it in frames (an
8-byte header: stream, 0, 0, 0, size as a big-endian u32); what is written to it goes to the server's stdin, as is.
The container is created with ``StdinOnce``: closing our side of the socket for writing ends the server's input,
the first step of the MCP stdio shutdown. The stream ends when the container exits (the engine closes it).

When MCP goes over FIFOs (``fifo``: images with a shell), the attach socket carries only the logs (stdout and stderr
merged, the server's stdout being the FIFO) and still tells when the container exits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
from collections.abc import Callable
from typing import Any

from docker.errors import APIError, DockerException, NotFound

from mcphost.runtimes.base import Transport
from mcphost.runtimes.docker.engine import Engine
from mcphost.runtimes.fifo import FifoChannel
from mcphost.runtimes.watched import WatchedInstance

__all__ = ["STDIO_LIMIT", "Attached", "DockerInstance", "attach"]

log = logging.getLogger(__name__)

STDIO_LIMIT = 16 * 1024 * 1024
_HEADER = 8
_STDOUT = 1
_SIGNAL_BASE = 128  # docker-init (tini) reports a server killed by signal N as 128 + N
_KILL_WAIT = 20.0


class _Demux(asyncio.StreamReaderProtocol):
    """Splits the engine's multiplexed attach stream: stdout frames to the MCP reader (unless ``merge``), stderr
    frames (and stdout's too, with ``merge``) to the log reader."""

    def __init__(self, stdout: asyncio.StreamReader, logs: asyncio.StreamReader, *, merge: bool) -> None:
        super().__init__(stdout)
        self._stdout = stdout
        self._logs = logs
        self._merge = merge
        self._pending = bytearray()
        self.closed = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        pending = self._pending
        pending += data
        while len(pending) >= _HEADER:
            size = int.from_bytes(pending[4:_HEADER], "big")
            if len(pending) < _HEADER + size:
                break
            kind = pending[0]
            payload = bytes(pending[_HEADER : _HEADER + size])
            del pending[: _HEADER + size]
            (self._stdout if kind == _STDOUT and not self._merge else self._logs).feed_data(payload)

    def eof_received(self) -> bool:
        self._logs.feed_eof()
        self.closed.set()
        super().eof_received()
        return True  # keep our side open: the socket is closed by whoever owns the writer

    def connection_lost(self, exc: Exception | None) -> None:
        self._logs.feed_eof()
        self.closed.set()
        super().connection_lost(exc)


class Attached:
    """The open attach socket: the MCP channel (stdio servers), the log stream, and when the stream ended."""

    def __init__(
        self, transport: asyncio.Transport, protocol: _Demux, stdout: asyncio.StreamReader, logs: asyncio.StreamReader
    ) -> None:
        self.transport = transport
        self.protocol = protocol
        self.logs = logs
        self.reader = stdout
        self.writer = asyncio.StreamWriter(transport, protocol, stdout, asyncio.get_running_loop())

    @property
    def ended(self) -> asyncio.Event:
        return self.protocol.closed

    def end_input(self) -> None:
        """Close the server's stdin (our write side; the container was created with StdinOnce)."""
        with contextlib.suppress(OSError, RuntimeError):
            if not self.transport.is_closing() and self.transport.can_write_eof():
                self.transport.write_eof()

    def close(self) -> None:
        self.transport.close()


async def attach(engine: Engine, container_id: str, *, stdin: bool) -> Attached:
    """Open the attach socket of a created container (before it starts: nothing it writes is lost)."""
    api = engine.api
    if str(api.base_url).startswith("https://"):
        raise OSError("attaching over a TLS engine URL is not supported; use the engine's unix socket")

    def open_socket() -> socket.socket:
        params = {"stdin": int(stdin), "stdout": 1, "stderr": 1, "stream": 1}
        raw: Any = api.attach_socket(container_id, params=params)
        inner = getattr(raw, "_sock", raw)
        try:
            # Our own descriptor of the connection: the SDK's objects (and their buffering) are dropped.
            return socket.socket(fileno=socket.dup(inner.fileno()))
        finally:
            raw.close()
            with contextlib.suppress(OSError):
                inner.close()

    sock = await engine.run(open_socket)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    stdout = asyncio.StreamReader(limit=STDIO_LIMIT)
    logs = asyncio.StreamReader(limit=STDIO_LIMIT)
    transport, protocol = await loop.create_connection(lambda: _Demux(stdout, logs, merge=not stdin), sock=sock)
    return Attached(transport, protocol, stdout, logs)


class DockerInstance(WatchedInstance):
    """One container of a server."""

    def __init__(
        self,
        engine: Engine,
        *,
        container_id: str,
        name: str,
        transport: Transport,
        url: str | None,
        attached: Attached,
        max_log_lines: int,
        channel: FifoChannel | None = None,
        after_removal: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(name=name, url=url, log_stream=attached.logs, max_log_lines=max_log_lines)
        self.id = name
        self.container_id = container_id
        self.transport = transport
        self.oom_killed = False
        self._engine = engine
        self._attached = attached
        #: MCP over FIFOs (``fifo``); None: over the attach socket.
        self._channel = channel
        self._after_removal = after_removal
        self._watch_task = asyncio.create_task(self._watch(), name=f"watch-{name}")

    @property
    def stdio(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        if self.transport != "stdio":
            return None
        if self._channel is not None and self._channel.writer is not None:
            return self._channel.reader, self._channel.writer
        return self._attached.reader, self._attached.writer

    async def stop(self, grace: float) -> int:
        """End of input first (stdio), then the engine's stop (SIGTERM, SIGKILL after the rest of ``grace``)."""
        if self._exited.is_set():
            return await self.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(grace, 0.0)
        if self.transport == "stdio" and grace > 0:
            (self._channel or self._attached).end_input()
            if await self._exits_within(grace / 2):
                return await self.wait()
        remaining = max(0, math.ceil(deadline - loop.time()))
        try:
            await self._engine.run(self._engine.api.stop, self.container_id, timeout=remaining)
        except NotFound:
            pass  # removed already (by the engine's owner, or a concurrent stop)
        except (APIError, DockerException) as exc:
            log.warning("stopping container %s failed: %s; killing it", self.id, exc)
            with contextlib.suppress(DockerException):
                await self._engine.run(self._engine.api.remove_container, self.container_id, force=True)
        if not await self._exits_within(_KILL_WAIT):
            log.error("container %s did not exit within %s s of being stopped; removing it", self.id, _KILL_WAIT)
            with contextlib.suppress(DockerException):
                await self._engine.run(self._engine.api.remove_container, self.container_id, force=True, v=True)
            await self._exited.wait()
        return await self.wait()

    async def _watch(self) -> None:
        """The attach stream ends when the container exits; then its exit code is read and it is removed."""
        api = self._engine.api
        try:
            await self._attached.ended.wait()
            try:
                result = await self._engine.run(api.wait, self.container_id, timeout=None)
                code = int(result.get("StatusCode", -1))
            except NotFound:
                code = -9  # removed while running: it was killed
            with contextlib.suppress(DockerException):
                state = (await self._engine.run(api.inspect_container, self.container_id)).get("State") or {}
                self.oom_killed = bool(state.get("OOMKilled"))
            if self.oom_killed:
                self._logs.put("[mcphost] the container was killed: it reached its memory limit")
            if _SIGNAL_BASE < code < _SIGNAL_BASE + 32:
                code = _SIGNAL_BASE - code
            self._code = code
        except (DockerException, OSError, RuntimeError) as exc:  # RuntimeError: the runtime closed meanwhile
            log.warning("watching container %s failed: %s", self.id, exc)
            self._code = -9 if self._code is None else self._code
        finally:
            with contextlib.suppress(DockerException, RuntimeError):
                await self._engine.run(api.remove_container, self.container_id, force=True, v=True)
            if self._after_removal is not None:
                self._after_removal(self.container_id)
            self._attached.close()
            if self._channel is not None:
                self._channel.close()
            await self._exited_with(-9)
