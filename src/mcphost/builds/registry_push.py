"""Tag a built image for the configured registry and push it, with retries and credential refresh.

A push that fails for a passing reason (the network, a registry error) is retried after an exponential backoff with
jitter, up to ``push_retries`` times. When the registry answers that the credentials are not (or no longer) valid
after a successful login, MCP Host reads the credentials again from their source, logs in again
(``reauth=True``) and retries at once. Wrong credentials at the first login, and a registry that denies access,
are not retried. Every step is a telemetry event (docs/builds.md lists the payloads).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import requests

from mcphost.builds.credentials import CredentialSource, RegistryCredentials, credentials_from_settings
from mcphost.builds.streaming import StreamTimeout, iterate_in_thread
from mcphost.runtimes.base import PrepareFailed, Progress, report_event
from mcphost.settings import RegistrySettings

__all__ = ["CredentialSource", "PushedImage", "credentials_from_settings", "push_image"]

#: Failures worth another attempt; "auth" is retried only after a credential refresh.
RETRIED = frozenset({"network", "registry", "timeout", "error"})
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class PushedImage:
    repository: str  # HOST/NAMESPACE/NAME
    tag: str
    digest: str  # the manifest digest the registry stored (sha256:…)

    @property
    def reference(self) -> str:
        """The image pinned by digest: what a runtime pulls."""
        return f"{self.repository}@{self.digest}"


class _PushError(Exception):
    def __init__(self, kind: str, message: str, *, at_login: bool) -> None:
        super().__init__(message)
        self.kind, self.message, self.at_login = kind, message, at_login


async def push_image(
    client: docker.DockerClient,
    local_tag: str,
    name: str,
    tag: str,
    registry: RegistrySettings,
    credentials: CredentialSource,
    progress: Progress,
    *,
    sleep: Sleep = asyncio.sleep,
) -> PushedImage:
    """Tag ``local_tag`` as ``HOST/NAMESPACE/NAME:TAG`` and push it; the digest the registry stored."""
    host = registry.host
    if not host:
        raise PrepareFailed("no registry is configured (builds.registry.endpoint)")
    repository = "/".join(part for part in (host, registry.namespace.strip("/"), name) if part)
    target = f"{repository}:{tag}"
    await report_event("tag_started", {"image": local_tag, "target": target})
    try:
        await asyncio.to_thread(client.api.tag, local_tag, repository, tag)
    except (docker.errors.DockerException, requests.RequestException) as error:
        raise PrepareFailed(f"tagging {local_tag} as {target} failed: {_explain(error)}") from None
    await report_event("tag_succeeded", {"image": local_tag, "target": target})
    pusher = _Pusher(client, repository, tag, host, registry, credentials, progress)
    digest = await pusher.run(sleep)
    return PushedImage(repository, tag, digest)


class _Pusher:
    def __init__(
        self, client: docker.DockerClient, repository: str, tag: str, host: str, registry: RegistrySettings,
        credentials: CredentialSource, progress: Progress,
    ) -> None:  # fmt: skip
        self.client, self.repository, self.tag, self.host = client, repository, tag, host
        self.settings, self.credentials, self.progress = registry, credentials, progress
        self.current: RegistryCredentials | None = None
        self.logged_in = False

    def payload(self, attempt: int, **extra: Any) -> dict[str, Any]:
        return {
            "attempt": attempt, "retry_limit": self.settings.push_retries, "registry_endpoint": self.host,
            "image": f"{self.repository}:{self.tag}", **extra,
        }  # fmt: skip

    async def run(self, sleep: Sleep) -> str:
        attempt = 1
        refreshed = False  # the last attempt came right after a credential refresh
        refreshes = 0
        await report_event("push_started", self.payload(attempt))
        await self.progress(f"Pushing {self.repository}:{self.tag}")
        while True:
            try:
                if not self.logged_in:
                    await self.login()
                digest = await self.push_once()
            except _PushError as error:
                expired = error.kind == "auth" and not error.at_login
                if expired and not refreshed:
                    await self.refresh(attempt, error)
                    refreshed, delay = True, 0.0  # new credentials: retry at once
                    refreshes += 1
                elif error.kind not in RETRIED or attempt > self.settings.push_retries:
                    await report_event(
                        "push_failed",
                        self.payload(attempt, error_kind=error.kind, auth_expired=expired, message=error.message),
                    )
                    raise PrepareFailed(self.failure(error, attempt)) from None
                else:
                    refreshed = False
                    delay = self.backoff(attempt)
                    await self.progress(f"Push attempt {attempt} failed ({error.message}); retrying in {delay:.1f} s")
                    await sleep(delay)
                attempt += 1
                await report_event(
                    "push_retry",
                    self.payload(
                        attempt, error_kind=error.kind, auth_expired=expired, message=error.message,
                        delay_seconds=round(delay, 3),
                    ),
                )  # fmt: skip
                continue
            await report_event("push_succeeded", self.payload(attempt, digest=digest, auth_expired=refreshes > 0))
            await self.progress(f"Pushed {self.repository}:{self.tag} ({digest})")
            return digest

    async def login(self) -> None:
        """Log in with what the credential source holds now. Always ``reauth``: the SDK would otherwise answer from
        its memory of an earlier login without asking the registry."""
        self.current = await self.credentials()
        if self.current is not None:
            try:
                await asyncio.to_thread(
                    self.client.login, self.current.username, self.current.password, registry=self.host, reauth=True
                )
            except (docker.errors.DockerException, requests.RequestException) as error:
                message = _explain(error)
                raise _PushError(_kind(message), message, at_login=True) from None
        self.logged_in = True

    async def refresh(self, attempt: int, error: _PushError) -> None:
        """The registry refused credentials that worked at login: read them again and log in again."""
        await report_event("auth_refresh_started", self.payload(attempt, error_kind=error.kind, auth_expired=True))
        await self.progress("The registry refused the credentials; reading them again and logging in again")
        try:
            await self.login()
        except (_PushError, PrepareFailed) as failed:
            message = failed.message if isinstance(failed, _PushError) else str(failed)
            await report_event("auth_refresh_failed", self.payload(attempt, error_kind="auth", message=message))
            await report_event(
                "push_failed", self.payload(attempt, error_kind="auth", auth_expired=True, message=message)
            )
            raise PrepareFailed(
                f"pushing to {self.host} failed: the credentials expired and logging in again failed: {message}"
            ) from None
        await report_event("auth_refresh_succeeded", self.payload(attempt))

    async def push_once(self) -> str:
        auth = None
        if self.current is not None:
            auth = {"username": self.current.username, "password": self.current.password}
        digest: str | None = None

        def produce() -> Any:
            return self.client.api.push(self.repository, tag=self.tag, stream=True, decode=True, auth_config=auth)

        try:
            async for chunk in iterate_in_thread(produce, self.settings.push_timeout_seconds):
                if "error" in chunk or "errorDetail" in chunk:
                    message = str(chunk.get("error") or chunk.get("errorDetail", {}).get("message"))
                    raise _PushError(_kind(message), message, at_login=False)
                aux = chunk.get("aux")
                if isinstance(aux, dict) and isinstance(aux.get("Digest"), str):
                    digest = aux["Digest"]
                status = chunk.get("status")
                if status and not chunk.get("progressDetail"):
                    await self.progress(f"{chunk['id']}: {status}" if chunk.get("id") else str(status))
        except StreamTimeout:
            message = f"no answer within {self.settings.push_timeout_seconds:g} s"
            raise _PushError("timeout", message, at_login=False) from None
        except (docker.errors.DockerException, requests.RequestException) as error:
            message = _explain(error)
            raise _PushError(_kind(message), message, at_login=False) from None
        if digest is None:
            raise _PushError("error", "the engine reported no digest for the push", at_login=False)
        return digest

    def backoff(self, attempt: int) -> float:
        """Exponential, capped, with up to 50% jitter so retries of many servers spread out."""
        base = min(
            self.settings.push_backoff_max_seconds, self.settings.push_backoff_seconds * float(2 ** (attempt - 1))
        )
        return base * (1 + random.random() / 2)  # noqa: S311 (jitter, not a secret)

    def failure(self, error: _PushError, attempt: int) -> str:
        tries = f" after {attempt} attempts" if attempt > 1 else ""
        if error.kind == "auth":
            return f"pushing to {self.host} failed: the registry refused the credentials ({error.message})"
        if error.kind == "denied":
            return f"pushing to {self.host} failed: access denied ({error.message})"
        if error.kind == "network":
            return f"pushing to {self.host} failed{tries}: the registry is unreachable ({error.message})"
        return f"pushing to {self.host} failed{tries}: {error.message}"


def _explain(error: Exception) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation or error).strip()


def _kind(message: str) -> str:
    """The error kind of a push or login failure, from the engine's message."""
    text = message.lower()
    if any(sign in text for sign in ("unauthorized", "authentication required", "incorrect username", "401")):
        return "auth"
    if any(sign in text for sign in ("denied", "forbidden", "403")):
        return "denied"
    if "does not exist locally" in text or "no such image" in text:
        return "missing"
    if any(
        sign in text
        for sign in ("connection refused", "no such host", "timeout", "timed out", "connection reset", "dial tcp",
                     "network is unreachable", "eof", "no route to host", "tls")
    ):  # fmt: skip
        return "network"
    if any(
        sign in text for sign in ("500", "502", "503", "504", "internal server error", "unavailable", "bad gateway")
    ):
        return "registry"
    return "error"
