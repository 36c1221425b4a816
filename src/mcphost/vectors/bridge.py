"""The Unix socket through which a published vector database's search server (a hosted server, sandboxed) reaches
the database: ``.vectors.sock`` in that server's data directory, which every runtime mounts at ``/data``.

Why a socket and not Chroma's port: a sandboxed server cannot reach the host's loopback (and must not: opening
``runtime.host_loopback_ports`` would open it to every hosted server). The socket is visible only inside that one
server's data directory, answers only searches and reads of the one published collection, and the Chroma token never
enters the sandbox. One JSON request per line, one JSON answer per line:

- ``{"op": "search", "query": "...", "k": 5}`` -> ``{"results": [...]}``
- ``{"op": "documents"}`` -> ``{"documents": [...]}``
- ``{"op": "read", "source": "..."}`` -> ``{"text": "..."}``
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcphost.vectors import search as searching
from mcphost.vectors.chroma import ChromaClient
from mcphost.vectors.embedding import Embedder

log = logging.getLogger(__name__)

SOCKET_NAME = ".vectors.sock"
MAX_REQUEST = 64 * 1024

#: Gives the current Chroma port and token of a database (None while it is not running).
Connection = Callable[[], Awaitable[tuple[int, str] | None]]


class Bridge:
    def __init__(self, data_dir: Path, collection: str, connection: Connection, embedder: Embedder) -> None:
        self.data_dir = data_dir
        self.collection = collection
        self._connection = connection
        self._embedder = embedder
        self._server: asyncio.AbstractServer | None = None

    @property
    def path(self) -> Path:
        return self.data_dir / SOCKET_NAME

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        # A data directory can be deeper than a socket path may be long (108 bytes): bind through a directory fd.
        fd = os.open(self.data_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            short = f"/proc/self/fd/{fd}/{SOCKET_NAME}"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(short)
            self._server = await asyncio.start_unix_server(self._serve, path=short, limit=MAX_REQUEST)
            # The server runs as its own user in its sandbox; the directory around the socket is what keeps others out.
            os.chmod(short, 0o666)  # noqa: S103
        finally:
            os.close(fd)

    def serving(self) -> bool:
        return self._server is not None and self.path.exists()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None
        with contextlib.suppress(OSError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    answer = await self._answer(json.loads(line))
                except Exception as exc:  # every failure is the caller's answer, never the bridge's end
                    answer = {"error": str(exc) or type(exc).__name__}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    async def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        connection = await self._connection()
        if connection is None:
            return {"error": "the vector database is not running right now; try again shortly"}
        port, token = connection
        async with ChromaClient(port, token) as chroma:
            op = request.get("op")
            if op == "search":
                query = str(request.get("query") or "").strip()
                if not query:
                    return {"error": "query must be a non-empty string"}
                k = int(request.get("k") or 5)
                return {"results": await searching.search(chroma, self._embedder, self.collection, query, k)}
            if op == "documents":
                return {"documents": await searching.documents(chroma, self.collection)}
            if op == "read":
                text = await searching.document_text(chroma, self.collection, str(request.get("source") or ""))
                return {"text": text} if text is not None else {"error": "no such document"}
        return {"error": f"unknown op {op!r}"}
