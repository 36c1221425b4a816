"""The Docker engine through the official SDK (``docker``): one client, its blocking calls run off the event loop on a
thread pool of the runtime's own (so a slow pull or a long ``wait`` never takes the threads the rest of the platform
uses for ``asyncio.to_thread``), and a cached answer to "is there an engine?"."""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import docker
from docker.errors import DockerException

from mcphost.settings import DockerSettings

__all__ = ["Engine", "no_engine"]

T = TypeVar("T")
#: A short answer is expected from a ping; a blackholed TCP engine URL should not hold a request for long.
_PING_TIMEOUT = 3.0
_PROBE_TTL = 30.0
_API_TIMEOUT = 120.0


def no_engine(detail: str) -> str:
    return f"no Docker engine: {detail}"


class Engine:
    """A Docker engine: the SDK client (created on first use) and the thread pool its calls run on."""

    def __init__(self, settings: DockerSettings, *, workers: int = 32) -> None:
        self.settings = settings
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="docker")
        self._probed: tuple[float, str | None] | None = None
        self._info: dict[str, Any] | None = None

    def _connect(self, timeout: float) -> docker.DockerClient:
        seconds = max(1, math.ceil(timeout))  # the SDK takes whole seconds
        if self.settings.engine_url:
            return docker.DockerClient(base_url=self.settings.engine_url, timeout=seconds)
        return docker.from_env(timeout=seconds)

    @property
    def client(self) -> docker.DockerClient:
        with self._lock:
            if self._client is None:
                self._client = self._connect(_API_TIMEOUT)
            return self._client

    @property
    def api(self) -> docker.APIClient:
        return self.client.api

    def problem(self) -> str | None:
        """Why no engine can be used (None: one answers); asked at most every 30 s."""
        now = time.monotonic()
        if self._probed is not None and now - self._probed[0] < _PROBE_TTL:
            return self._probed[1]
        try:
            probe = self._connect(_PING_TIMEOUT)
            try:
                probe.ping()
                self._info = probe.info()
            finally:
                probe.close()
            answer = None
        except DockerException as exc:
            answer = no_engine(_short(exc) + _where(self.settings.engine_url))
        except OSError as exc:
            answer = no_engine(f"{exc}{_where(self.settings.engine_url)}")
        self._probed = (now, answer)
        return answer

    def info(self) -> dict[str, Any]:
        """The engine's ``docker info`` (as of the last probe)."""
        if self._info is None:
            self._info = self.api.info()
        return self._info

    async def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking SDK call on the engine's thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(call, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _where(url: str | None) -> str:
    return f" (docker.engine_url = {url})" if url else " (set docker.engine_url, or start dockerd)"


def _short(exc: BaseException) -> str:
    """The useful end of an SDK error (they nest the whole chain of requests/urllib3 errors)."""
    text = str(exc)
    for marker in ("Error while fetching server API version: ", "Connection aborted.', "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip(" ()'\"") or type(exc).__name__
