"""The supervisor of this node's vector databases: one task per database keeps its Chroma server running (start,
wait until it answers with its token, watch it, restart it after a crash with exponential backoff) and records what
it sees (status, port, pid, restarts, last error) on the database's row. A database whose row is gone is stopped and
its files removed. After a platform restart, a server the previous process left running is adopted when it still
answers with the database's token; otherwise a new one starts. It also keeps the Unix socket bridge of each published
database in its search server's data directory (``bridge``).

The server is a process (``process``) or a container (``container``), as ``vectors.runtime`` says, chosen at each
start. The row has no column for which: a container leaves ``pid`` empty, and the logs and error messages say which
("as a process (pid N)", "in the container NAME"). A server of the other kind left by an earlier run (the setting
changed) is stopped before a new one starts on the same files: at the first pass, Chroma containers of databases
that no longer exist here (or of every database, when they run as processes now) are removed.

It runs in the process that hosts servers (``runtime.host``), which has the data directories."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import sqlalchemy as sa

from mcphost.db.session import Database
from mcphost.models import Server, VectorDatabase, VectorDbStatus
from mcphost.runtimes.registry import Runtimes
from mcphost.security.keys import KeyRing
from mcphost.servers.launch import data_dir
from mcphost.services.loop import ServiceLoop
from mcphost.settings import Settings
from mcphost.vectors.bridge import Bridge
from mcphost.vectors.chroma import ChromaClient
from mcphost.vectors.embedding import embedder_for
from mcphost.vectors.process import ChromaProcess, ChromaStartFailed, db_dir, remove_dir

if TYPE_CHECKING:
    from mcphost.runtimes.docker.engine import Engine
    from mcphost.vectors.container import ChromaImages

log = logging.getLogger(__name__)
UNHEALTHY_CHECKS = 3
Kind = Literal["process", "docker"]


def token_context(vector_db_id: uuid.UUID) -> str:
    return f"vector-db:{vector_db_id}:token"


class SupervisorParts(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def keys(self) -> KeyRing: ...

    @property
    def runtimes(self) -> Runtimes: ...


class ChromaServer(Protocol):
    """A running Chroma server, a process (``ChromaProcess``) or a container (``ChromaContainer``)."""

    @property
    def port(self) -> int: ...

    @property
    def pid(self) -> int | None: ...

    @property
    def returncode(self) -> int | None: ...

    def describe(self) -> str: ...

    async def alive(self) -> bool: ...

    def log_tail(self, lines: int = 5) -> str: ...

    async def stop(self, grace: float = 5.0) -> None: ...


def docker_in_use(settings: Settings) -> bool:
    """Whether this installation uses Docker (what ``vectors.runtime = auto`` asks, with an engine that answers)."""
    return settings.docker.default_for_images or settings.runtime.default == "docker"


@dataclass
class _Kept:
    task: asyncio.Task[None]
    token: str
    process: ChromaServer | None = None
    ready: bool = False
    bridge: Bridge | None = field(default=None)


class VectorSupervisor(ServiceLoop):
    name = "vector-supervisor"

    def __init__(self, parts: SupervisorParts) -> None:
        self.settings = parts.settings
        super().__init__(self.settings.vectors.check_interval_seconds)
        self.db = parts.db
        self.keys = parts.keys
        self.runtimes = parts.runtimes
        self._kept: dict[uuid.UUID, _Kept] = {}
        self._images: ChromaImages | None = None
        self._swept = False

    async def run_once(self) -> None:
        node = self.settings.runtime.node_name
        async with self.db.session_scope() as session:
            rows = list(await session.scalars(sa.select(VectorDatabase).where(VectorDatabase.node == node)))
            published = {
                row.id: (server, row.published_collection)
                for row in rows
                if row.server_id is not None
                and row.published_collection
                and (server := await session.get(Server, row.server_id)) is not None
            }
        wanted = {row.id for row in rows}
        if not self._swept:
            self._swept = True
            await self._sweep({str(vector_db_id) for vector_db_id in wanted})
        for gone in set(self._kept) - wanted:
            await self._forget(gone, remove=True)
        for row in rows:
            if row.id not in self._kept:
                token = self.keys.secrets.decrypt(row.token, token_context(row.id))
                kept = _Kept(task=asyncio.create_task(asyncio.sleep(0)), token=token)
                self._kept[row.id] = kept
                kept.task = asyncio.create_task(self._keep(row.id, row.pid, row.port), name=f"vector-db:{row.id}")
            await self._bridge(row.id, published.get(row.id))

    async def _bridge(self, vector_db_id: uuid.UUID, target: tuple[Server, str | None] | None) -> None:
        kept = self._kept[vector_db_id]
        if kept.bridge is not None and (
            target is None
            or kept.bridge.data_dir != data_dir(self.settings.home, target[0])
            or kept.bridge.collection != target[1]
            or not kept.bridge.serving()
        ):
            await kept.bridge.stop()
            kept.bridge = None
        if target is None or kept.bridge is not None:
            return
        server, collection = target
        ingestion = self.settings.ingestion
        embedder = embedder_for(
            ingestion.embedding_model_path,
            ingestion.embedding_tokenizer_path,
            ingestion.embedding_threads,
            ingestion.embedding_batch_size,
        )
        bridge = Bridge(
            data_dir(self.settings.home, server), collection or "", self._connection(vector_db_id), embedder
        )
        try:
            await bridge.start()
        except OSError:
            log.exception("vector database %s: the search socket could not be opened", vector_db_id)
            return
        kept.bridge = bridge

    def _connection(self, vector_db_id: uuid.UUID):  # type: ignore[no-untyped-def]
        async def current() -> tuple[int, str] | None:
            kept = self._kept.get(vector_db_id)
            if kept is None or not kept.ready or kept.process is None:
                return None
            return kept.process.port, kept.token

        return current

    async def _keep(self, vector_db_id: uuid.UUID, pid: int | None, port: int | None) -> None:
        """Run one database's server for as long as the database exists here."""
        settings = self.settings.vectors
        directory = db_dir(self.settings.home, vector_db_id)
        kept = self._kept[vector_db_id]
        failures = 0
        first = True
        while True:
            process: ChromaServer | None = None
            adopted = False
            error: str | None = None
            try:
                kind = await self._kind()
                if first:  # adopt only once, at the start
                    process = await self._adopt(kind, directory, vector_db_id, pid, port)
                    adopted = process is not None
                if process is None:
                    await self._record(vector_db_id, status=VectorDbStatus.STARTING)
                    process = await self._start(kind, directory, vector_db_id, kept.token)
            except (OSError, ChromaStartFailed) as exc:
                error = f"Chroma could not be started: {exc}"
            first = False
            if process is not None:
                kept.process = process
                if await self._ready(process, kept.token, settings.start_timeout_seconds):
                    kept.ready = True
                    failures = 0
                    await self._record(
                        vector_db_id, status=VectorDbStatus.RUNNING, port=process.port, pid=process.pid, error=None
                    )
                    log.info(
                        "vector database %s %s %s on port %d",
                        vector_db_id,
                        "adopted" if adopted else "started",
                        process.describe(),
                        process.port,
                    )
                    error = await self._watch(process, kept.token)
                else:
                    error = (
                        f"Chroma ({process.describe()}) did not answer within {settings.start_timeout_seconds:g}s: "
                        f"{process.log_tail()}"
                    )
                kept.ready = False
                await process.stop()
            failures += 1
            delay = min(settings.restart_backoff_seconds * 2 ** (failures - 1), settings.restart_backoff_max_seconds)
            log.warning("vector database %s: %s; restarting in %.1fs", vector_db_id, error, delay)
            await self._record(vector_db_id, status=VectorDbStatus.FAILED, error=error, restarted=True)
            await asyncio.sleep(delay)

    # which runtime

    def _engine(self) -> Engine:
        """The Docker runtime's engine (one client and thread pool for the platform)."""
        from mcphost.runtimes.docker.engine import Engine

        engine = getattr(self.runtimes.get("docker"), "engine", None)
        assert isinstance(engine, Engine)
        return engine

    async def _kind(self) -> Kind:
        """Where the next server runs: ``vectors.runtime``, with ``auto`` resolved now (raises when docker is asked
        for and no engine answers)."""
        wanted = self.settings.vectors.runtime
        if wanted == "process" or (wanted == "auto" and not docker_in_use(self.settings)):
            return "process"
        problem = await asyncio.to_thread(self._engine().problem)
        if problem is None:
            return "docker"
        if wanted == "docker":
            raise ChromaStartFailed(f"{problem} (vectors.runtime is docker)")
        return "process"

    async def _adopt(
        self, kind: Kind, directory: Path, vector_db_id: uuid.UUID, pid: int | None, port: int | None
    ) -> ChromaServer | None:
        """The server an earlier run left for this database, if it is of ``kind``; one of the other kind is stopped
        (two servers must never share the files)."""
        process = ChromaProcess.adoptable(directory, pid, port)
        if kind == "process":
            return process
        if process is not None:
            log.info(
                "vector database %s: stopping its %s: it runs in a container now", vector_db_id, process.describe()
            )
            await process.stop()
        from mcphost.vectors.container import ChromaContainer

        return await ChromaContainer.adoptable(self._engine(), directory, vector_db_id, self.settings)

    async def _start(self, kind: Kind, directory: Path, vector_db_id: uuid.UUID, token: str) -> ChromaServer:
        if kind == "process":
            return await ChromaProcess.start(directory, token, self.settings.vectors.python)
        from mcphost.vectors.container import ChromaContainer, ChromaImages

        engine = self._engine()
        if self._images is None:
            base, timeout = self.settings.vectors.container_base_image, self.settings.builds.build_timeout_seconds
            self._images = ChromaImages(engine, base, timeout)
        image = await self._images.ensure()
        return await ChromaContainer.start(
            engine, image, directory, token, vector_db_id=vector_db_id, settings=self.settings
        )

    async def _sweep(self, wanted: set[str]) -> None:
        """Once, at the first pass: remove Chroma containers of databases gone from this node (all of them when the
        databases run as processes now: two servers must never share the files). Without an engine, nothing to do."""
        engine = self._engine()
        if await asyncio.to_thread(engine.problem) is not None:
            return
        from docker.errors import DockerException

        from mcphost.vectors.container import remove_leftovers

        keep = wanted if await self._kind() == "docker" else set()
        try:
            await engine.run(remove_leftovers, engine, self.settings, keep)
        except DockerException as exc:
            log.warning("cannot look for Chroma containers left by an earlier run: %s", exc)

    async def _ready(self, process: ChromaServer, token: str, within: float) -> bool:
        deadline = asyncio.get_running_loop().time() + within
        async with ChromaClient(process.port, token, timeout=5) as chroma:
            while asyncio.get_running_loop().time() < deadline and await process.alive():
                if await chroma.heartbeat():
                    return True
                await asyncio.sleep(0.25)
        return False

    async def _watch(self, process: ChromaServer, token: str) -> str:
        """Wait until the server exits or stops answering; say which."""
        misses = 0
        async with ChromaClient(process.port, token, timeout=10) as chroma:
            while True:
                await asyncio.sleep(self.settings.vectors.check_interval_seconds)
                if not await process.alive():
                    return f"Chroma ({process.describe()}) exited (status {process.returncode}): {process.log_tail()}"
                misses = 0 if await chroma.heartbeat() else misses + 1
                if misses >= UNHEALTHY_CHECKS:
                    return f"Chroma ({process.describe()}) stopped answering ({misses} checks in a row)"

    async def _record(
        self,
        vector_db_id: uuid.UUID,
        *,
        status: VectorDbStatus,
        port: int | None = None,
        pid: int | None = None,
        error: str | None = "",
        restarted: bool = False,
    ) -> None:
        values: dict[str, object] = {"status": status}
        if port is not None:
            values |= {"port": port, "pid": pid}
        if error != "":
            values["last_error"] = error[:2000] if error else None
        if restarted:
            values["restarts"] = VectorDatabase.restarts + 1
        with contextlib.suppress(Exception):
            async with self.db.session_scope() as session:
                await session.execute(sa.update(VectorDatabase).where(VectorDatabase.id == vector_db_id).values(values))

    async def _forget(self, vector_db_id: uuid.UUID, *, remove: bool) -> None:
        kept = self._kept.pop(vector_db_id, None)
        if kept is None:
            return
        kept.task.cancel()
        await asyncio.gather(kept.task, return_exceptions=True)
        if kept.bridge is not None:
            await kept.bridge.stop()
        if kept.process is not None:
            await kept.process.stop()
        if remove:
            await asyncio.to_thread(remove_dir, db_dir(self.settings.home, vector_db_id))

    async def on_stop(self) -> None:
        """Stop every server at a clean shutdown; the next start runs them again."""
        for vector_db_id in list(self._kept):
            await self._forget(vector_db_id, remove=False)
