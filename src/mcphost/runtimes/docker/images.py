"""Images: taking a named image from the engine or pulling it (with the registry's login), reading what it says of
itself (digest, exposed ports, user), and streaming an engine's JSON progress (pulls and builds) as progress lines."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.utils import parse_repository_tag

from mcphost.runtimes.base import PrepareFailed, Progress
from mcphost.runtimes.docker.engine import Engine

__all__ = ["ImageFacts", "auth_for", "image_facts", "local_image", "pull", "registry_of", "stream_json"]

_ERROR_LINES = 15


@dataclass(frozen=True)
class ImageFacts:
    """What an image says of itself."""

    id: str
    digest: str
    user: str
    exposed: tuple[int, ...]
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()

    @property
    def command(self) -> dict[str, list[str]]:
        """The image's entry point and command, as recorded in an artifact's details."""
        return {"entrypoint": list(self.entrypoint), "cmd": list(self.cmd)}


def registry_of(reference: str) -> str:
    """The registry host of an image reference (Docker Hub: docker.io)."""
    repository: str = parse_repository_tag(reference)[0]
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def auth_for(reference: str, registries: dict[str, tuple[str, str]], own: tuple[str, str] | None) -> dict[str, str]:
    """The login for pulling ``reference``: the source's own, else the configured one of its registry."""
    login = own or registries.get(registry_of(reference))
    if registry_of(reference) == "docker.io" and login is None:
        login = registries.get("index.docker.io") or registries.get("https://index.docker.io/v1/")
    return {"username": login[0], "password": login[1]} if login else {}


async def local_image(engine: Engine, reference: str) -> dict[str, Any] | None:
    """The engine's inspection of a local image, or None when it has none by that name."""
    try:
        found: dict[str, Any] = await engine.run(engine.api.inspect_image, reference)
    except (ImageNotFound, NotFound):
        return None
    except APIError as exc:
        if exc.status_code == 404:
            return None
        raise PrepareFailed(f"cannot look up the image {reference}: {exc.explanation or exc}") from None
    return found


async def pull(engine: Engine, reference: str, auth: dict[str, str], progress: Progress, limit: float) -> None:
    """Pull ``reference`` (a tag or a digest), reporting the engine's progress (one line per layer step)."""
    repository, tag = parse_repository_tag(reference)
    await progress(f"pulling {reference}")

    def start() -> Iterator[dict[str, Any]]:
        stream: Iterator[dict[str, Any]] = engine.api.pull(
            repository, tag=tag or "latest", stream=True, decode=True, auth_config=auth or None
        )
        return stream

    try:
        async with asyncio.timeout(limit):
            await stream_json(engine, start, progress, what=f"pulling {reference}", layer_steps=True)
    except TimeoutError:
        raise PrepareFailed(f"pulling {reference} took longer than {limit:g} s (docker.pull_timeout_seconds)") from None


async def stream_json(
    engine: Engine,
    start: Callable[[], Iterator[dict[str, Any]]],
    progress: Progress,
    *,
    what: str,
    layer_steps: bool = False,
) -> list[dict[str, Any]]:
    """Run a streaming engine call (pull, build) on the engine's threads; each message's text goes to ``progress``.
    An ``error`` message, or an SDK error, raises PrepareFailed with the last lines. Returns every message."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any] | BaseException | None] = asyncio.Queue()
    stopped = False

    def produce() -> None:
        try:
            for message in start():
                if stopped:
                    return
                loop.call_soon_threadsafe(queue.put_nowait, message)
        except (DockerException, OSError, ValueError) as exc:
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    producer = asyncio.ensure_future(engine.run(produce))
    messages: list[dict[str, Any]] = []
    last: deque[str] = deque(maxlen=_ERROR_LINES)
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise PrepareFailed(f"{what} failed: {_explain(item)}")
            messages.append(item)
            if "error" in item or "errorDetail" in item:
                error = item.get("error") or (item.get("errorDetail") or {}).get("message") or "unknown error"
                earlier = "\n".join(last)
                raise PrepareFailed(f"{what} failed: {error}" + (f"\n{earlier}" if earlier else ""))
            line = _line(item, layer_steps)
            if line:
                last.append(line)
                await progress(line)
    finally:
        stopped = True
        producer.cancel()
    return messages


def _line(message: dict[str, Any], layer_steps: bool) -> str:
    if "stream" in message:
        return str(message["stream"]).rstrip()
    status = str(message.get("status") or "")
    if not status:
        return ""
    if layer_steps and message.get("progressDetail"):
        return ""  # "Downloading [==>   ]" many times a second: the step's start and end are enough
    return f"{message['id']}: {status}" if message.get("id") else status


def _explain(exc: BaseException) -> str:
    if isinstance(exc, APIError):
        return str(exc.explanation or exc)
    return str(exc) or type(exc).__name__


def image_facts(inspection: dict[str, Any], reference: str) -> ImageFacts:
    """Digest (the registry's, else the image id), user, exposed TCP ports, environment and working directory."""
    config = inspection.get("Config") or {}
    repository, _ = parse_repository_tag(reference)
    digests = [str(d) for d in inspection.get("RepoDigests") or []]
    mine = [d for d in digests if d.split("@", 1)[0] in (repository, f"docker.io/{repository}", _short(repository))]
    digest = (mine or digests or [str(inspection["Id"])])[0]
    exposed = sorted(
        int(port.split("/", 1)[0])
        for port in (config.get("ExposedPorts") or {})
        if port.endswith("/tcp") or "/" not in port
    )
    env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
    return ImageFacts(
        id=str(inspection["Id"]),
        digest=digest,
        user=str(config.get("User") or ""),
        exposed=tuple(exposed),
        env=env,
        working_dir=str(config.get("WorkingDir") or ""),
        entrypoint=tuple(str(part) for part in config.get("Entrypoint") or ()),
        cmd=tuple(str(part) for part in config.get("Cmd") or ()),
    )


def _short(repository: str) -> str:
    return repository.removeprefix("docker.io/").removeprefix("library/")


async def has_path(engine: Engine, image: str, path: str) -> bool:
    """Whether an image has ``path`` (a file or a link), seen from a container that is created and never started."""
    api = engine.api

    def look() -> bool:
        container = api.create_container(image, command=["/nonexistent"], entrypoint=[], network_disabled=True)
        try:
            chunks, _ = api.get_archive(container["Id"], path)
            for _chunk in chunks:  # a link, or one file: read to the end so the connection is reused
                pass
            return True
        except NotFound:
            return False
        finally:
            api.remove_container(container["Id"], force=True)

    try:
        return await engine.run(look)
    except (DockerException, OSError):
        return False


async def read_file(engine: Engine, image: str, path: str, limit: int = 1 << 20) -> bytes | None:
    """A file of an image, read from a container that is created for it and never started (None: no such file)."""
    api = engine.api

    def read() -> bytes | None:
        container = api.create_container(image, command=["/nonexistent"], entrypoint=[], network_disabled=True)
        try:
            try:
                chunks, _ = api.get_archive(container["Id"], path)
            except NotFound:
                return None
            archive = io.BytesIO()
            for chunk in chunks:
                archive.write(chunk)
                if archive.tell() > limit * 2:
                    return None
            archive.seek(0)
            with tarfile.open(fileobj=archive) as tar:
                member = next((m for m in tar.getmembers() if m.isfile()), None)
                handle = tar.extractfile(member) if member is not None else None
                return handle.read(limit) if handle is not None else None
        finally:
            api.remove_container(container["Id"], force=True)

    try:
        return await engine.run(read)
    except (DockerException, tarfile.TarError, OSError):
        return None


async def numeric_user(engine: Engine, image: str, user: str) -> str | None:
    """``uid:gid`` for an image's user (``name``, ``uid``, ``name:group``…), from its /etc/passwd and /etc/group;
    None when it cannot be told."""
    name, _, group = user.partition(":")
    uid: int | None = int(name) if name.isdigit() else None
    gid: int | None = int(group) if group.isdigit() else None
    if uid is not None and gid is not None:
        return f"{uid}:{gid}"
    passwd = (await read_file(engine, image, "/etc/passwd") or b"").decode(errors="replace")
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and (fields[0] == name or (uid is not None and fields[2] == str(uid))):
            uid = int(fields[2]) if fields[2].isdigit() else uid
            if gid is None and not group and fields[3].isdigit():
                gid = int(fields[3])
            break
    if group and gid is None:
        groups = (await read_file(engine, image, "/etc/group") or b"").decode(errors="replace")
        for line in groups.splitlines():
            fields = line.split(":")
            if len(fields) >= 3 and fields[0] == group and fields[2].isdigit():
                gid = int(fields[2])
    if uid is None:
        return None
    return f"{uid}:{gid if gid is not None else uid}"


def json_lines(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
