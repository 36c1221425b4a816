"""The cluster as the Kubernetes runtime sees it: the official ``kubernetes`` client, configured from a kubeconfig
or the pod's service account, called from threads (the client is synchronous), with its errors in words.

Calls go to a thread pool of their own so that waiting on the API server never starves the event loop's default
executor; following a pod's log holds a thread for as long as the pod lives, so those get threads of their own."""

from __future__ import annotations

import asyncio
import functools
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from mcphost.settings import KubernetesSettings

__all__ = ["ApiException", "Cluster", "explain", "is_missing"]

T = TypeVar("T")
#: What a failed call raises: the API server's refusal, no answer, or no configuration.
FAILURES = (ApiException, HTTPError, OSError, ConfigException)


class Cluster:
    """The API groups the runtime uses, on one configured client."""

    def __init__(self, options: KubernetesSettings) -> None:
        self.options = options
        self.namespace = options.namespace
        self._api: client.ApiClient | None = None
        self._problem: str | None = None
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="kubernetes")

    def _connect(self) -> client.ApiClient:
        if self._api is None:
            configuration = client.Configuration()
            if self.options.kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
                config.load_incluster_config(client_configuration=configuration)
            else:
                config.load_kube_config(
                    config_file=self.options.kubeconfig,
                    context=self.options.context,
                    client_configuration=configuration,
                )
            configuration.retries = 1
            self._api = client.ApiClient(configuration)
        return self._api

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self._connect())

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self._connect())

    @property
    def networking(self) -> client.NetworkingV1Api:
        return client.NetworkingV1Api(self._connect())

    @property
    def timeout(self) -> float:
        return self.options.request_timeout_seconds

    async def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call the (blocking) client in the runtime's threads, with the request timeout."""
        kwargs.setdefault("_request_timeout", self.timeout)
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(call, *args, **kwargs))

    async def read(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """``run``, with the answer as the API server serialises it (a dict with camelCase keys)."""
        found = await self.run(call, *args, **kwargs)
        document: dict[str, Any] = self._connect().sanitize_for_serialization(found)
        return document

    def problem(self) -> str | None:
        """Why the cluster cannot be used (no configuration, no answer, the namespace missing or forbidden)."""
        try:
            self.core.read_namespace(self.namespace, _request_timeout=min(self.timeout, 10))
        except ApiException as exc:
            if exc.status == 403:
                # A namespaced Role cannot read the namespace itself: listing what the runtime manages is the test.
                try:
                    self.apps.list_namespaced_deployment(self.namespace, limit=1, _request_timeout=10)
                except FAILURES as inner:
                    return f"cannot use the namespace {self.namespace}: {explain(inner)}"
                return None
            if exc.status == 404:
                return f"the namespace {self.namespace} does not exist (create it: kubectl create namespace " + (
                    f"{self.namespace})"
                )
            return f"the Kubernetes API refused: {explain(exc)}"
        except (ConfigException, TypeError) as exc:
            return f"no Kubernetes configuration: {exc} (set kubernetes.kubeconfig or run MCP Host in a pod)"
        except (HTTPError, OSError) as exc:
            return f"the Kubernetes API server does not answer: {explain(exc)}"
        return None

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
        self._pool.shutdown(wait=False, cancel_futures=True)


def explain(exc: BaseException) -> str:
    """What the API server said, without the client's dump of headers."""
    if isinstance(exc, ApiException):
        message = exc.reason or ""
        try:
            body = json.loads(exc.body or "")
            message = body.get("message") or message
        except (ValueError, AttributeError):
            pass
        return f"{message} (HTTP {exc.status})" if exc.status else str(message)
    text = str(exc) or type(exc).__name__
    return text.split("Caused by", 1)[-1].strip(" ()'\"") if "Caused by" in text else text


def is_missing(exc: BaseException) -> bool:
    return isinstance(exc, ApiException) and exc.status == 404
