"""A server's pod while it serves: where the gateway reaches it (always Streamable HTTP: the server's own endpoint or
its stdio bridge's), its log streamed from the API server, and its exit, watched from the pod's status.

The kubelet would restart a container that exits; MCP Host's lifecycle decides instead (one lifecycle for every
runtime: crash counts, backoff, the crash-loop verdict), so the first exit of the server's container ends the instance
with its code and reason (``OOMKilled`` included), and the next start adopts or replaces the workload."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

from mcphost.runtimes.base import Instance, Transport
from mcphost.runtimes.kubernetes.cluster import FAILURES, Cluster, explain, is_missing
from mcphost.runtimes.kubernetes.pod_status import Exit, exit_of, restarts

__all__ = ["KubernetesInstance"]

log = logging.getLogger(__name__)
WATCH_INTERVAL_SECONDS = 2.0
MAX_LINE = 64 * 1024


class KubernetesInstance(Instance):
    transport: Transport = "streamable-http"

    def __init__(
        self,
        cluster: Cluster,
        *,
        name: str,
        pod: dict[str, Any],
        url: str,
        headers: dict[str, str],
        retire: Callable[[float], Awaitable[str | None]],
        max_log_lines: int = 10_000,
    ) -> None:
        self.id = name
        self.cluster = cluster
        self.pod_name = str(pod["metadata"]["name"])
        self._url = url
        self._headers = headers
        self._retire = retire
        self._restarts = restarts(pod)
        self._exit: Exit | None = None
        self._exited = asyncio.Event()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue(maxsize=max_log_lines)
        self._follow = _LogFollower(cluster, self.pod_name, self._lines)
        self._follow.start(asyncio.get_running_loop())
        self._watcher = asyncio.create_task(self._watch(), name=f"kubernetes-watch:{name}")

    @property
    def stdio(self) -> tuple[Any, Any] | None:
        return None

    @property
    def url(self) -> str | None:
        return self._url

    @property
    def headers(self) -> dict[str, str]:
        return self._headers

    @property
    def reach(self) -> Literal["host", "cluster"]:
        """Every replica in the cluster resolves the Service's name; a pod's IP (``kubernetes.address: pod``) is
        counted as reachable from this machine only."""
        return "cluster" if self._url.split("//", 1)[-1].split(":", 1)[0].endswith(".svc") else "host"

    @property
    def exit_code(self) -> int | None:
        return self._exit.code if self._exit is not None else None

    @property
    def exit_reason(self) -> str | None:
        return self._exit.reason if self._exit is not None else None

    async def log_lines(self) -> AsyncIterator[str]:
        while (line := await self._lines.get()) is not None:
            yield line

    async def wait(self) -> int:
        await self._exited.wait()
        assert self._exit is not None
        return self._exit.code

    def _ended(self, code: int, reason: str) -> None:
        if self._exit is None:
            self._exit = Exit(code, reason)
            self._exited.set()
            self._follow.stop()

    async def _watch(self) -> None:
        """Until the server's container exits or the pod goes away."""
        while self._exit is None:
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)
            try:
                pod = await self.cluster.read(
                    self.cluster.core.read_namespaced_pod, self.pod_name, self.cluster.namespace
                )
            except FAILURES as exc:
                if is_missing(exc):
                    self._say("the pod was deleted")
                    self._ended(-1, "its pod was deleted outside MCP Host")
                    return
                log.warning("cannot read the pod %s: %s", self.pod_name, explain(exc))
                continue
            ended = exit_of(pod, self._restarts)
            if ended is not None:
                self._say(ended.reason)
                self._ended(ended.code, ended.reason)

    def _say(self, line: str) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._lines.put_nowait(f"[kubernetes] {line}")

    async def stop(self, grace: float) -> int:
        self._watcher.cancel()
        await asyncio.gather(self._watcher, return_exceptions=True)
        problem = await self._retire(grace)
        if problem is not None:
            self._say(problem)
        self._ended(0, "stopped")
        return self.exit_code or 0


class _LogFollower:
    """Follows the server container's log in a thread of its own (the client's stream blocks), line by line into
    the instance's queue; ``stop`` closes the stream."""

    def __init__(self, cluster: Cluster, pod: str, lines: asyncio.Queue[str | None]) -> None:
        self.cluster = cluster
        self.pod = pod
        self.lines = lines
        self._response: Any = None
        self._stopped = threading.Event()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        threading.Thread(target=self._run, args=(loop,), name=f"kubernetes-log:{self.pod}", daemon=True).start()

    def stop(self) -> None:
        """Stop following. The stream is closed from a thread of its own: closing a TLS connection waits for the
        follower's blocked read, which ends only when the API server ends the stream (the pod stops)."""
        self._stopped.set()
        response = self._response
        if response is not None:
            threading.Thread(target=_close_quietly, args=(response,), daemon=True).start()

    def _put(self, loop: asyncio.AbstractEventLoop, line: str | None) -> None:
        if self._stopped.is_set() and line is not None:
            return

        def put() -> None:
            with contextlib.suppress(asyncio.QueueFull):
                self.lines.put_nowait(line)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody reads any more
            loop.call_soon_threadsafe(put)

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        pending = b""
        try:
            self._response = self.cluster.core.read_namespaced_pod_log(
                self.pod, self.cluster.namespace, container="server", follow=True, _preload_content=False
            )
            if self._stopped.is_set():
                self._response.close()
                return
            for chunk in self._response.stream(4096):
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    self._put(loop, line[:MAX_LINE].decode(errors="replace").rstrip("\r"))
        except Exception as exc:  # a log stream that breaks ends the log, never the instance
            if not self._stopped.is_set():
                self._put(loop, f"[kubernetes] the log stream ended: {explain(exc)}")
        finally:
            if pending:
                self._put(loop, pending.decode(errors="replace"))
            self._put(loop, None)


def _close_quietly(response: Any) -> None:
    with contextlib.suppress(Exception):
        response.close()
