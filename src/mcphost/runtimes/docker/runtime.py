"""The Docker runtime: hosted servers as containers on a Docker engine, one container per instance.

``prepare`` turns a source into an image: an image source is taken from the engine or pulled (``images``), a package
source is installed into an image of its own (``packages``), a git source is built (``mcphost.builds``). ``start``
creates a hardened container (``container_spec``) for a launch spec, attaches to it, starts it and hands back a
``DockerInstance``: stdio servers speak MCP over the attach socket, streamable-http servers at the container's
address on the servers' bridge network (``network``). Containers carry labels (server, instance, node, home) so a
later run removes what an earlier one left (``adoption``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from mcphost.builds import build_from_git
from mcphost.runtimes import fifo
from mcphost.runtimes.base import (
    Artifact,
    Instance,
    LaunchSpec,
    Limits,
    PrepareFailed,
    Progress,
    Runtime,
    StartFailed,
    Transport,
)
from mcphost.runtimes.docker import adoption, images
from mcphost.runtimes.docker.container_spec import ContainerPlan, plan_container
from mcphost.runtimes.docker.engine import Engine
from mcphost.runtimes.docker.instance import STDIO_LIMIT, DockerInstance, attach
from mcphost.runtimes.docker.network import network_problem
from mcphost.runtimes.docker.packages import PackageImages
from mcphost.settings import Settings

__all__ = ["DockerRuntime"]

log = logging.getLogger(__name__)

_ROOT = frozenset({"", "0", "root"})


class DockerRuntime(Runtime):
    """Runs servers as containers; see the module documentation."""

    type: ClassVar[str] = "docker"
    source_types: ClassVar[frozenset[str]] = frozenset({"image", "package", "git"})
    enforces: ClassVar[frozenset[str]] = frozenset({"cpu", "memory", "network_none", "pids"})

    def __init__(self, settings: Settings, *, max_log_lines: int = 10_000) -> None:
        self.settings = settings
        self.options = settings.docker
        self.engine = Engine(self.options)
        self.packages = PackageImages(self.engine, settings.builds)
        self.node = settings.runtime.node_name
        self.home = str(settings.home)
        self.max_log_lines = max_log_lines
        self._instances: dict[str, DockerInstance] = {}
        self._shells: dict[str, bool] = {}
        self._ready: asyncio.Task[str | None] | None = None

    # what holds on this engine

    def problem(self) -> str | None:
        """Why this runtime cannot run anything here (no engine), or None."""
        return self.engine.problem()

    @property
    def warnings(self) -> list[str]:
        problem = self.problem()
        if problem is not None:
            return [f"cannot run: {problem}"]
        if self._ready is not None and self._ready.done() and not self._ready.cancelled():
            isolation = self._ready.result()
            return [isolation] if isolation else []
        return []

    def gpu_supported(self) -> bool:
        """Whether the engine can give containers NVIDIA GPUs (the NVIDIA container runtime is registered)."""
        try:
            runtimes = self.engine.info().get("Runtimes") or {}
        except DockerException:
            return False
        return "nvidia" in runtimes

    def warnings_for(self, limits: Limits, artifact: Artifact | None = None) -> list[str]:
        messages = list(self.warnings)
        if artifact is not None:
            messages += [f"build: {warning}" for warning in artifact.details.get("build_warnings") or ()]
        if limits.gpu > 0 and not self.gpu_supported():
            messages.append(
                f"GPU: {limits.gpu} requested (recorded on the container as org.mcphost.gpu) but this Docker engine "
                "has no NVIDIA runtime; the server runs without a GPU"
            )
        return messages

    # prepare

    async def prepare(self, source: dict[str, Any], progress: Progress) -> Artifact:
        problem = await asyncio.to_thread(self.problem)
        if problem is not None:
            raise PrepareFailed(problem)
        kind = source.get("type")
        if kind == "image":
            return await self._prepare_image(source, progress)
        if kind == "package":
            return await self.packages.prepare(source, progress, user=self._user_for, shell=self._has_shell)
        if kind == "git":
            return await self._prepare_git(source, progress)
        raise PrepareFailed(f"the docker runtime cannot run {kind!r} sources; it runs images, packages and git builds")

    async def _prepare_image(self, source: dict[str, Any], progress: Progress) -> Artifact:
        reference = str(source.get("image") or "").strip()
        if not reference:
            raise PrepareFailed("an image source needs the image to run")
        transport = _transport(source.get("transport"))
        inspection = None if source.get("refresh") else await images.local_image(self.engine, reference)
        if inspection is None:
            login = source.get("registry_auth") or None
            own = (str(login["username"]), str(login["password"])) if login and login.get("password") else None
            configured = {
                host: (cred.username, cred.password.get_secret_value())
                for host, cred in self.options.registries.items()
            }
            try:
                await images.pull(
                    self.engine,
                    reference,
                    images.auth_for(reference, configured, own),
                    progress,
                    self.options.pull_timeout_seconds,
                )
            except PrepareFailed as exc:
                fallback = await images.local_image(self.engine, reference) if source.get("refresh") else None
                if fallback is None:
                    raise PrepareFailed(_unknown_image(reference, str(exc))) from None
                await progress(f"{exc}; using the local image {reference}")
            inspection = await images.local_image(self.engine, reference)
            if inspection is None:
                raise PrepareFailed(f"the image {reference} is not on the engine after pulling it")
        else:
            await progress(f"using the local image {reference}")
        facts = images.image_facts(inspection, reference)
        port = source.get("port")
        details: dict[str, Any] = {
            "image": reference,
            "image_id": facts.id,
            "digest": facts.digest,
            "user": await self._user_for(facts.id, facts.user, progress),
        }
        url = None
        if transport == "streamable-http":
            port = port or _exposed_port(reference, facts.exposed)
            path = str(source.get("path") or "/mcp")
            details.update(port=int(port), path=path)
        if transport == "stdio":
            details |= facts.command | {"shell": await self._has_shell(facts.id)}
        await progress(f"image {reference} is {facts.digest}")
        command = tuple(str(part) for part in source.get("command") or ())
        return Artifact(argv=command, transport=transport, url=url, image=facts.id, details=details)

    async def _prepare_git(self, source: dict[str, Any], progress: Progress) -> Artifact:
        """Build the repository's image (``mcphost.builds``), then run that image as an image source would."""
        built = await build_from_git(source, self.engine.client, self.settings.builds, progress)
        image_source = {
            "type": "image",
            "image": built.local_tag,
            "transport": built.transport,
            "port": built.port,
            "path": source.get("path") or "/mcp",
            "command": source.get("command"),
        }
        artifact = await self._prepare_image(image_source, progress)
        build = {
            "commit": built.commit,
            "dockerfile": built.dockerfile,
            "build_warnings": list(built.warnings),
            "cached": built.cached,
        }
        if built.pushed:
            build |= {"pushed": built.image, "digest": built.digest}
        return replace(artifact, details=artifact.details | build)

    async def _has_shell(self, image_id: str) -> bool:
        """Whether an image has the shell that MCP over FIFOs needs (``fifo``); remembered per image id."""
        if image_id not in self._shells:
            self._shells[image_id] = await images.has_path(self.engine, image_id, fifo.SHELL)
        return self._shells[image_id]

    async def _user_for(self, image: str, user: str, progress: Progress) -> str:
        """The uid:gid to run an image as: its own user unless that is root, else the default (nobody)."""
        name = user.partition(":")[0]
        if name in _ROOT:
            return self.options.default_user
        found = await images.numeric_user(self.engine, image, user)
        if found is None or found.partition(":")[0] == "0":
            await progress(
                f"the image's user {user!r} is not in its /etc/passwd; running as {self.options.default_user}"
            )
            return self.options.default_user
        return found

    # start

    async def _prepare_engine(self) -> str | None:
        """Once per runtime: the servers' network (and its isolation) and the removal of an earlier run's leftovers."""
        problem = await self.engine.run(network_problem, self.engine, self.options)
        await self.engine.run(adoption.remove_orphans, self.engine, self.node, self.home, list(self._instances))
        return problem

    async def ready(self) -> str | None:
        if self._ready is None:
            self._ready = asyncio.ensure_future(self._prepare_engine())
        return await asyncio.shield(self._ready)

    async def start(self, spec: LaunchSpec) -> Instance:
        artifact = spec.artifact
        problem = await asyncio.to_thread(self.problem)
        if problem is not None:
            raise StartFailed(problem)
        if not artifact.image:
            raise StartFailed(f"cannot start {spec.slug}: the artifact names no image")
        if artifact.transport == "streamable-http" and spec.limits.network == "none":
            raise StartFailed("network: none cannot be used with a streamable-http server (it must be reachable)")
        try:
            await self.ready()
        except DockerException as exc:
            raise StartFailed(f"cannot prepare the Docker engine: {exc}") from None
        user = await asyncio.to_thread(self._data_dir_for, spec, str(artifact.details.get("user") or ""))
        plan = plan_container(
            spec,
            self.options,
            node=self.node,
            home=self.home,
            user=user,
            gpu_supported=spec.limits.gpu > 0 and self.gpu_supported(),
            fifo_root=self.fifo_root if self.options.stdio_channel == "fifo" else None,
        )
        if plan.fifo_dir is not None:
            await asyncio.to_thread(self._make_fifos, plan.fifo_dir, user)
        try:
            container_id = await self._create(spec, plan)
        except StartFailed:
            if plan.fifo_dir is not None:
                await asyncio.to_thread(fifo.remove_fifos, plan.fifo_dir)
            raise
        channel = None
        try:
            attached = await attach(self.engine, container_id, stdin=plan.stdin)
            if plan.fifo_dir is not None:
                channel = await fifo.open_output(plan.fifo_dir, STDIO_LIMIT)
        except (DockerException, OSError) as exc:
            await self._discard(container_id, plan)
            raise StartFailed(f"cannot attach to {spec.slug}'s container: {exc}") from None
        try:
            await self.engine.run(self.engine.api.start, container_id)
            url = await self._url(container_id, plan, artifact) if artifact.transport == "streamable-http" else None
            if channel is not None and plan.fifo_dir is not None:
                await self._open_input(channel, plan.fifo_dir, attached.ended)
        except (DockerException, OSError) as exc:
            attached.close()
            if channel is not None:
                channel.close()
            await self._discard(container_id, plan)
            raise StartFailed(f"cannot start {spec.slug}'s container: {_explain(exc)}") from None
        instance = DockerInstance(
            self.engine,
            container_id=container_id,
            name=plan.name,
            transport=artifact.transport,
            url=url,
            attached=attached,
            channel=channel,
            max_log_lines=self.max_log_lines,
            after_removal=self._removed(plan),
        )
        self._instances[container_id] = instance
        return instance

    async def _open_input(self, channel: fifo.FifoChannel, directory: Path, ended: asyncio.Event) -> None:
        limit = self.settings.runtime.start_timeout_seconds
        try:
            async with asyncio.timeout(limit):
                await fifo.open_input(channel, directory, ended)
        except TimeoutError:
            raise OSError(f"the server did not open its input (a FIFO) within {limit:.0f} s") from None

    @property
    def fifo_root(self) -> Path:
        """Where the FIFO directories of containers' stdio are made (one per container, removed with it)."""
        return Path(self.home) / "run" / "docker-stdio"

    def _make_fifos(self, directory: Path, user: str) -> None:
        uid, _, gid = user.partition(":")
        owner = (int(uid), int(gid or uid)) if os.geteuid() == 0 and uid.isdigit() else (None, None)
        fifo.remove_fifos(directory)
        fifo.make_fifos(directory, *owner)

    def _data_dir_for(self, spec: LaunchSpec, user: str) -> str:
        """Create the data directory and give it to the container's user; as another user than root, containers run
        as MCP Host's own uid (the owner of the directory) instead."""
        spec.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        user = user or self.options.default_user
        if os.geteuid() != 0:
            return f"{os.getuid()}:{os.getgid()}"
        uid, _, gid = user.partition(":")
        _own_tree(spec.data_dir, int(uid), int(gid or uid))
        return user

    async def _create(self, spec: LaunchSpec, plan: ContainerPlan) -> str:
        api = self.engine.api

        def create() -> str:
            host_config = api.create_host_config(**plan.host)
            networking = (
                # The stubs say one EndpointConfig; the engine API (and the SDK) take them by network name.
                api.create_networking_config({plan.network: api.create_endpoint_config()})  # type: ignore[arg-type]
                if plan.network != "none"
                else None
            )
            created = api.create_container(
                plan.image,
                command=plan.command,
                entrypoint=plan.entrypoint,
                name=plan.name,
                environment=plan.environment,
                labels=plan.labels,
                user=plan.user,
                stdin_open=plan.stdin,
                detach=not plan.stdin,  # attached stdin: StdinOnce, so closing our side ends the server's input
                tty=False,
                working_dir=plan.working_dir,
                host_config=host_config,
                networking_config=networking,
            )
            return str(created["Id"])

        try:
            return await self.engine.run(create)
        except ImageNotFound:
            raise StartFailed(f"cannot start {spec.slug}: its image {plan.image} is no longer on the engine") from None
        except (DockerException, OSError) as exc:
            raise StartFailed(f"cannot create {spec.slug}'s container: {_explain(exc)}") from None

    async def _url(self, container_id: str, plan: ContainerPlan, artifact: Artifact) -> str:
        inspection = await self.engine.run(self.engine.api.inspect_container, container_id)
        networks = (inspection.get("NetworkSettings") or {}).get("Networks") or {}
        address = (networks.get(plan.network) or {}).get("IPAddress")
        if not address:
            raise OSError(f"the container has no address on the network {plan.network}")
        path = str(artifact.details.get("path") or "/mcp")
        return f"http://{address}:{artifact.details['port']}{path if path.startswith('/') else '/' + path}"

    async def _discard(self, container_id: str, plan: ContainerPlan) -> None:
        with contextlib.suppress(DockerException, NotFound):
            await self.engine.run(self.engine.api.remove_container, container_id, force=True, v=True)
        if plan.fifo_dir is not None:
            await asyncio.to_thread(fifo.remove_fifos, plan.fifo_dir)
        if plan.host.get("runtime"):
            await asyncio.to_thread(adoption.kill_runsc_leftovers, [container_id])

    def _removed(self, plan: ContainerPlan) -> Any:
        gvisor = bool(plan.host.get("runtime"))

        def removed(container_id: str) -> None:
            self._instances.pop(container_id, None)
            if plan.fifo_dir is not None:
                fifo.remove_fifos(plan.fifo_dir)
            if gvisor:
                adoption.kill_runsc_leftovers([container_id])

        return removed

    async def remove_leftovers(self) -> None:
        """At node start: remove the containers an earlier run of this platform left (when an engine answers)."""
        if await asyncio.to_thread(self.problem) is None:
            try:
                await self.engine.run(adoption.remove_orphans, self.engine, self.node, self.home, list(self._instances))
            except DockerException as exc:
                log.warning("cannot look for containers left by an earlier run: %s", exc)

    async def close(self) -> None:
        """Stop every container still running: nothing outlives the runtime."""
        instances = list(self._instances.values())
        grace = self.settings.runtime.stop_grace_seconds
        await asyncio.gather(*(instance.stop(grace) for instance in instances), return_exceptions=True)
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
        self.engine.close()


def _transport(value: Any) -> Transport:
    if value in (None, "", "stdio"):
        return "stdio"
    if value == "streamable-http":
        return "streamable-http"
    raise PrepareFailed(f"unknown transport {value!r}; use stdio or streamable-http")


def _exposed_port(reference: str, exposed: tuple[int, ...]) -> int:
    if len(exposed) == 1:
        return exposed[0]
    if not exposed:
        raise PrepareFailed(
            f"the image {reference} exposes no port (EXPOSE) and the source gives none: a streamable-http server "
            "needs the port it listens on ('port')"
        )
    listed = ", ".join(str(port) for port in exposed)
    raise PrepareFailed(f"the image {reference} exposes several ports ({listed}); choose the MCP one with 'port'")


def _unknown_image(reference: str, failure: str) -> str:
    return f"the image {reference} is not on this Docker engine and could not be pulled: {failure}"


def _explain(exc: BaseException) -> str:
    if isinstance(exc, APIError):
        return str(exc.explanation or exc)
    return str(exc) or type(exc).__name__


def _own_tree(path: Path, uid: int, gid: int) -> None:
    """Give the data directory (and what is in it) to the container's user (walked only when it is not theirs)."""
    info = path.stat()
    if (info.st_uid, info.st_gid) == (uid, gid):
        return
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            with contextlib.suppress(OSError):
                os.lchown(os.path.join(root, name), uid, gid)
    os.chown(path, uid, gid)
