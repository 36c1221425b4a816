"""One Chroma server in a container (``vectors.runtime``: docker, or auto when Docker is in use): the same server as
``process`` (the ``chromadb`` package's FastAPI app with token authentication, ``chroma_env``), with the same
interface (start, adoptable, alive, log_tail, stop, port), so the supervisor treats both alike.

- **The image** ``mcphost-chroma:VERSION`` is built on first use (``ChromaImages``) FROM
  ``vectors.container_base_image`` with the server's packages at this installation's versions (``requirements``;
  uv when the base has it, else pip, with the host's CA bundle so a TLS-inspecting proxy is trusted as on the host).
  Nothing is pulled but the base, when the engine lacks it.
- **Hardened like server containers** (``runtimes.docker.container_spec``): a non-root user (``docker.default_user``
  when MCP Host runs as root and gives it the database's directory, else MCP Host's own uid), a read-only root file
  system with a size-limited ``/tmp``, every capability dropped, no new privileges, ``--init``, memory and PID limits
  (``vectors.container_*``), on the servers' bridge network (``docker.network``, containers cannot reach each other).
- **Its files**: the database's directory bind-mounted at ``/chroma`` (data in ``/chroma/data``, output in
  ``/chroma/chroma.log``), exactly where the process keeps them: switching runtimes keeps the data.
- **Its port** is published on 127.0.0.1 only, on a port the engine picks; the token keeps other local processes out.
- **Labels** (database id, node, home; the token is never in a label) let a restarted platform adopt a container that
  still runs (the supervisor then checks it answers with the token) and remove those of deleted databases
  (``remove_leftovers``). They are not the server containers' labels: the Docker runtime's own sweep leaves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import io
import logging
import os
import secrets
import tarfile
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.errors import DockerException, ImageNotFound, NotFound
from docker.types import LogConfig

from mcphost.runtimes.base import PrepareFailed
from mcphost.runtimes.docker import images
from mcphost.runtimes.docker.container_spec import home_label
from mcphost.runtimes.docker.engine import Engine
from mcphost.runtimes.docker.network import ensure_network
from mcphost.settings import Settings
from mcphost.vectors.process import ChromaStartFailed, chroma_env, log_tail

__all__ = ["ChromaContainer", "ChromaImages", "ContainerFailed", "chroma_version", "image_tag", "remove_leftovers"]

log = logging.getLogger(__name__)

IMAGE_REPOSITORY = "mcphost-chroma"
LABEL_DB = "org.mcphost.vector-db"
LABEL_NODE = "org.mcphost.vector-db.node"
LABEL_HOME = "org.mcphost.vector-db.home"
LABEL_REQUIREMENTS = "org.mcphost.chroma-requirements"
LABEL_BASE = "org.mcphost.chroma-base"
#: What the server needs besides chromadb (its FastAPI app is no longer a dependency of chromadb 1.x).
SERVER_PACKAGES = ("chromadb", "fastapi", "opentelemetry-instrumentation-fastapi")
INSIDE = "/chroma"
PORT = 8000
VENV = "/opt/chroma"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


class ContainerFailed(ChromaStartFailed):
    """The image could not be built, or the container made or started; the message says why."""


def chroma_version() -> str:
    """The chromadb version of this installation: the container runs the same server."""
    return importlib.metadata.version("chromadb")


def requirements() -> str:
    """The server's packages pinned to this installation's versions: the container runs what the process would."""
    return " ".join(f"{name}=={importlib.metadata.version(name)}" for name in SERVER_PACKAGES)


def image_tag(version: str) -> str:
    return f"{IMAGE_REPOSITORY}:{version}"


def _dockerfile(base: str, wanted: str, with_ca: bool) -> str:
    # The versions come from installed package metadata; they are passed in an ARG, not spliced into shell code.
    certs = f"export SSL_CERT_FILE={VENV}-ca.crt PIP_CERT={VENV}-ca.crt; " if with_ca else ""
    install = (
        f"{certs}if command -v uv >/dev/null; then UV_PYTHON_DOWNLOADS=never uv venv --python python3 {VENV} "
        f"&& uv pip install --no-cache --python {VENV}/bin/python $PACKAGES; "
        f"else python3 -m venv {VENV} && {VENV}/bin/pip install --no-cache-dir $PACKAGES; fi"
    )
    lines = [f"FROM {base}", "USER root", f'ARG PACKAGES="{wanted}"']
    if with_ca:
        lines.append(f"COPY host-ca.crt {VENV}-ca.crt")
    lines += [
        f"RUN {install}",
        f"ENV PATH={VENV}/bin:/usr/local/bin:/usr/bin:/bin",
        f"WORKDIR {INSIDE}",
    ]
    return "\n".join(lines) + "\n"


def _context(base: str, wanted: str) -> io.BytesIO:
    """The build context: the Dockerfile and, when this host has one, its CA bundle."""
    with_ca = HOST_CA.is_file()
    files = {"Dockerfile": _dockerfile(base, wanted, with_ca).encode()}
    if with_ca:
        files["host-ca.crt"] = HOST_CA.read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


class ChromaImages:
    """Builds the Chroma image once (concurrent starts wait for the same build) and reuses it while its base is the
    configured one."""

    def __init__(self, engine: Engine, base: str, timeout: float) -> None:
        self.engine = engine
        self.base = base
        self.timeout = timeout
        self._lock = asyncio.Lock()

    async def ensure(self) -> str:
        tag, wanted = image_tag(chroma_version()), requirements()
        async with self._lock:
            try:
                found = await images.local_image(self.engine, tag)
            except PrepareFailed as exc:
                raise ContainerFailed(str(exc)) from None
            labels = ((found or {}).get("Config") or {}).get("Labels") or {}
            if found is not None and (labels.get(LABEL_BASE), labels.get(LABEL_REQUIREMENTS)) == (self.base, wanted):
                return tag
            await self._build(tag, wanted)
        return tag

    async def _build(self, tag: str, wanted: str) -> None:
        log.info("building the Chroma image %s FROM %s (%s; first use)", tag, self.base, wanted)
        context = await asyncio.to_thread(_context, self.base, wanted)
        api = self.engine.api

        def start() -> Iterator[dict[str, Any]]:
            stream: Iterator[dict[str, Any]] = api.build(
                fileobj=context,
                custom_context=True,
                tag=tag,
                rm=True,
                forcerm=True,
                decode=True,
                pull=False,
                labels={LABEL_REQUIREMENTS: wanted, LABEL_BASE: self.base},
            )
            return stream

        async def progress(line: str) -> None:
            log.debug("%s: %s", tag, line)

        try:
            async with asyncio.timeout(self.timeout):
                await images.stream_json(self.engine, start, progress, what=f"building {tag} FROM {self.base}")
        except TimeoutError:
            raise ContainerFailed(
                f"building {tag} took longer than {self.timeout:g} s (builds.build_timeout_seconds)"
            ) from None
        except PrepareFailed as exc:
            raise ContainerFailed(str(exc)) from None
        log.info("built the Chroma image %s", tag)


def _labels(settings: Settings) -> dict[str, str]:
    return {LABEL_NODE: settings.runtime.node_name, LABEL_HOME: home_label(str(settings.home))}


def _filters(settings: Settings, vector_db_id: object | None = None) -> dict[str, list[str]]:
    wanted = [f"{key}={value}" for key, value in _labels(settings).items()]
    if vector_db_id is not None:
        wanted.append(f"{LABEL_DB}={vector_db_id}")
    return {"label": wanted}


def _published(ports: Any) -> int | None:
    """The host port of Chroma's port on 127.0.0.1, from an inspection's ``NetworkSettings.Ports`` (a dict) or a
    listing's ``Ports`` (a list)."""
    if isinstance(ports, dict):
        bindings = ports.get(f"{PORT}/tcp") or []
        found = [b.get("HostPort") for b in bindings if b.get("HostIp") == "127.0.0.1" and b.get("HostPort")]
    else:
        found = [p.get("PublicPort") for p in ports or [] if (p.get("PrivatePort"), p.get("IP")) == (PORT, "127.0.0.1")]
    return int(found[0]) if found and found[0] else None


def _give_directory(directory: Path, default_user: str) -> str:
    """Create the database's directory and give it to the container's user (``uid:gid``, returned). As another user
    than root MCP Host cannot give files away: the container runs as MCP Host's own uid, the directory's owner."""
    (directory / "data").mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.geteuid() != 0:
        return f"{os.getuid()}:{os.getgid()}"
    uid_text, _, gid_text = default_user.partition(":")
    uid, gid = int(uid_text), int(gid_text or uid_text)
    if (directory.stat().st_uid, directory.stat().st_gid) != (uid, gid):
        for root, dirs, files in os.walk(directory):
            for name in (*dirs, *files):
                with contextlib.suppress(OSError):
                    os.lchown(os.path.join(root, name), uid, gid)
        os.chown(directory, uid, gid)
    return default_user


@dataclass
class ChromaContainer:
    engine: Engine
    container_id: str
    name: str
    port: int
    directory: Path
    #: The container's exit status, once it has stopped.
    returncode: int | None = None

    @property
    def pid(self) -> None:
        """No process of this host's to record (the row keeps none): a container is found by its labels."""
        return None

    def describe(self) -> str:
        return f"in the container {self.name}"

    @classmethod
    async def start(
        cls, engine: Engine, image: str, directory: Path, token: str, *, vector_db_id: uuid.UUID, settings: Settings
    ) -> ChromaContainer:
        docker, limits = settings.docker, settings.vectors
        user = await asyncio.to_thread(_give_directory, directory, docker.default_user)
        name = f"mcphost-chroma-{str(vector_db_id)[:8]}-{secrets.token_hex(3)}"
        command = (
            f"exec {VENV}/bin/python -m uvicorn chromadb.app:app --host 0.0.0.0 --port {PORT} "
            f"--log-level warning --no-access-log >>{INSIDE}/chroma.log 2>&1"
        )
        api = engine.api

        def create() -> tuple[str, int | None]:
            ensure_network(engine, docker)
            host_config = api.create_host_config(
                binds={str(directory): {"bind": INSIDE, "mode": "rw"}},
                port_bindings={PORT: ("127.0.0.1",)},
                init=True,
                security_opt=["no-new-privileges"],
                cap_drop=["ALL"],
                read_only=True,
                tmpfs={"/tmp": f"rw,nosuid,nodev,size={docker.tmpfs_mib}m,mode=1777"},  # noqa: S108 (its own tmpfs)
                pids_limit=limits.container_pids_limit,
                mem_limit=f"{limits.container_memory_mib}m",
                memswap_limit=f"{limits.container_memory_mib}m",
                ipc_mode="private",
                network_mode=docker.network,
                # The server writes to chroma.log; the engine keeps only what the shell says before that (bounded).
                log_config=LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
            )
            created = api.create_container(
                image,
                entrypoint=["/bin/sh", "-c", command],
                name=name,
                environment={"TMPDIR": "/tmp"} | chroma_env(INSIDE, token),  # noqa: S108 (its own tmpfs)
                labels=_labels(settings) | {LABEL_DB: str(vector_db_id)},
                user=user,
                ports=[PORT],
                working_dir=INSIDE,
                detach=True,
                host_config=host_config,
            )
            container_id = str(created["Id"])
            try:
                api.start(container_id)
                inspection = api.inspect_container(container_id)
            except DockerException:
                with contextlib.suppress(DockerException):
                    api.remove_container(container_id, force=True, v=True)
                raise
            return container_id, _published((inspection.get("NetworkSettings") or {}).get("Ports"))

        # A cancelled start (the database was deleted meanwhile) still finishes on the engine's thread: the container
        # it made is removed then rather than left running.
        made = asyncio.ensure_future(engine.run(create))
        try:
            container_id, port = await asyncio.shield(made)
        except asyncio.CancelledError:
            made.add_done_callback(lambda done: _discard(engine, done))
            raise
        except ImageNotFound:
            raise ContainerFailed(f"the image {image} is no longer on the engine") from None
        except DockerException as exc:
            raise ContainerFailed(f"the container could not be started: {_explain(exc)}") from None
        if port is None:
            await _remove(engine, container_id)
            raise ContainerFailed("the engine published no port on 127.0.0.1 for the container")
        return cls(engine, container_id, name, port, directory)

    @classmethod
    async def adoptable(
        cls, engine: Engine, directory: Path, vector_db_id: uuid.UUID, settings: Settings
    ) -> ChromaContainer | None:
        """The container a previous platform process left running for this database, if any (the supervisor then
        checks that it answers with the database's token). Stopped ones, and extra ones, are removed."""
        try:
            found = await engine.run(engine.api.containers, all=True, filters=_filters(settings, vector_db_id))
        except DockerException as exc:
            log.warning("vector database %s: cannot look for its container: %s", vector_db_id, _explain(exc))
            return None
        adopted = None
        for listed in found:
            port = _published(listed.get("Ports"))
            if adopted is None and listed.get("State") == "running" and port is not None:
                name = str((listed.get("Names") or ["/?"])[0]).lstrip("/")
                adopted = cls(engine, str(listed["Id"]), name, port, directory)
            else:
                await _remove(engine, str(listed["Id"]))
        return adopted

    async def alive(self) -> bool:
        try:
            inspection = await self.engine.run(self.engine.api.inspect_container, self.container_id)
        except NotFound:
            return False
        except DockerException:
            return True  # the engine did not answer: the supervisor's heartbeat tells whether Chroma does
        state = inspection.get("State") or {}
        if state.get("Running"):
            return True
        self.returncode = state.get("ExitCode")
        return False

    def log_tail(self, lines: int = 5) -> str:
        return log_tail(self.directory, lines)

    async def stop(self, grace: float = 5.0) -> None:
        with contextlib.suppress(DockerException):
            await self.engine.run(self.engine.api.stop, self.container_id, timeout=max(1, round(grace)))
        await _remove(self.engine, self.container_id)


def remove_leftovers(engine: Engine, settings: Settings, keep: Collection[str]) -> list[str]:
    """Remove this node's (and home's) Chroma containers of databases not in ``keep``; their names (blocking)."""
    removed = []
    for listed in engine.api.containers(all=True, filters=_filters(settings)):
        if (listed.get("Labels") or {}).get(LABEL_DB) in keep:
            continue
        with contextlib.suppress(NotFound):
            try:
                engine.api.remove_container(listed["Id"], force=True, v=True)
            except DockerException as exc:
                log.warning("cannot remove the Chroma container %s: %s", str(listed["Id"])[:12], _explain(exc))
                continue
            removed.append(str((listed.get("Names") or [listed["Id"]])[0]).lstrip("/"))
    if removed:
        log.info("removed %d Chroma container(s) of deleted or moved databases: %s", len(removed), ", ".join(removed))
    return removed


async def _remove(engine: Engine, container_id: str) -> None:
    with contextlib.suppress(DockerException):
        await engine.run(engine.api.remove_container, container_id, force=True, v=True)


def _discard(engine: Engine, done: asyncio.Future[tuple[str, int | None]]) -> None:
    if done.cancelled() or done.exception() is not None:
        return
    container_id = done.result()[0]
    asyncio.ensure_future(_remove(engine, container_id))  # noqa: RUF006 (fire and forget: best effort)


def _explain(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc) or type(exc).__name__
