"""The Kubernetes runtime: each instance of a server is a workload, a Service and a Secret in one namespace
(``manifests``), reached by the gateway over HTTP (``instance``).

``prepare`` goes through the Docker runtime's engine when one answers: an image is inspected (or pulled), a package
gets an image of its own, a git repository is built (and pushed to ``builds.registry`` when one is configured, which
a cluster of several nodes needs); the pod then runs that image by name. Without an engine only image sources that
say what they run (a stdio server's ``command``, an HTTP server's ``port``) can be prepared.

``start`` applies the objects (an unchanged workload left by a previous platform process is adopted as it is), keeps
the image pull Secret in step with the registry credentials, and waits until the pod is ready, turning what the pod
reports (image pull errors, crash loops, OOM kills, refusals by quota or permissions) into the start's failure.
Stopping scales the main instance's workload to zero (a per-user or per-session instance is deleted); deleting the
server removes every object of it (``forget``)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any, ClassVar

from mcphost.runtimes.base import (
    Artifact,
    Instance,
    LaunchSpec,
    Limits,
    PrepareFailed,
    Progress,
    Runtime,
    StartFailed,
)
from mcphost.runtimes.kubernetes import manifests
from mcphost.runtimes.kubernetes.cluster import FAILURES, ApiException, Cluster, explain, is_missing
from mcphost.runtimes.kubernetes.instance import KubernetesInstance
from mcphost.runtimes.kubernetes.manifests import PodPlan
from mcphost.runtimes.kubernetes.pod_status import ready, verdict, workload_refusal
from mcphost.settings import Settings

if TYPE_CHECKING:
    from mcphost.runtimes.docker import DockerRuntime

__all__ = ["KubernetesRuntime"]

log = logging.getLogger(__name__)

NOBODY = 65534
PROBLEM_TTL_SECONDS = 15.0
POLL_SECONDS = 0.5


class KubernetesRuntime(Runtime):
    """Runs servers as pods; see the module documentation."""

    type: ClassVar[str] = "kubernetes"
    source_types: ClassVar[frozenset[str]] = frozenset({"image", "package", "git"})
    #: Processes per pod are limited by the kubelet (--pod-max-pids), not per pod: the cluster's setting.
    enforces: ClassVar[frozenset[str]] = frozenset({"cpu", "memory", "gpu", "network_none"})

    def __init__(self, settings: Settings, *, max_log_lines: int = 10_000) -> None:
        self.settings = settings
        self.options = settings.kubernetes
        self.cluster = Cluster(self.options)
        self.max_log_lines = max_log_lines
        self._docker: DockerRuntime | None = None
        self._problem: tuple[float, str | None] | None = None

    # what holds on this cluster

    def problem(self) -> str | None:
        """Why this runtime cannot run anything (no configuration, no API server, no namespace), or None; checked
        at most every 15 seconds."""
        now = time.monotonic()
        if self._problem is None or now - self._problem[0] > PROBLEM_TTL_SECONDS:
            self._problem = (now, self.cluster.problem())
        return self._problem[1]

    @property
    def warnings(self) -> list[str]:
        problem = self.problem()
        return [f"cannot run: {problem}"] if problem else []

    def warnings_for(self, limits: Limits, artifact: Artifact | None = None) -> list[str]:
        messages = list(self.warnings)
        messages.append("processes per pod are limited only by the cluster's kubelet (--pod-max-pids)")
        if limits.network == "none":
            messages.append(
                "network: none is a NetworkPolicy that denies all egress: it holds where the cluster's network plugin "
                "enforces NetworkPolicies"
            )
        return messages

    # prepare

    def _builder(self) -> DockerRuntime:
        if self._docker is None:
            from mcphost.runtimes.docker import DockerRuntime

            self._docker = DockerRuntime(self.settings)
        return self._docker

    async def prepare(self, source: dict[str, Any], progress: Progress) -> Artifact:
        kind = source.get("type")
        if kind not in self.source_types:
            raise PrepareFailed(f"the kubernetes runtime cannot run {kind!r} sources; it runs images, packages and git")
        problem = await asyncio.to_thread(self.problem)
        if problem is not None:
            raise PrepareFailed(problem)
        builder = self._builder()
        if await asyncio.to_thread(builder.problem) is None:
            built = await builder.prepare(source, progress)
            return _for_pods(built)
        if kind != "image":
            raise PrepareFailed(f"{kind} sources are built with a Docker engine, and none answers here")
        return _declared(source)

    # start

    async def start(self, spec: LaunchSpec) -> Instance:
        artifact = spec.artifact
        if not artifact.image:
            raise StartFailed(f"cannot start {spec.slug}: the artifact names no image")
        problem = await asyncio.to_thread(self.problem)
        if problem is not None:
            raise StartFailed(problem)
        name = manifests.object_name(spec.slug, str(spec.server_id), spec.instance_key)
        try:
            pull_secret = await self._pull_secret()
            plan = _plan(spec, name, self.settings, pull_secret)
            token = await self._token(plan)
            workload = manifests.workload(plan, list(spec.env))
            created = await self._apply(plan, workload, spec.env, token)
            pod = await self._until_ready(plan, created)
        except FAILURES as exc:
            raise StartFailed(_refused(exc, self.options.namespace)) from None
        namespace = self.options.namespace
        host = str(pod["status"]["podIP"]) if self.options.address == "pod" else f"{name}.{namespace}.svc"
        path = str(artifact.details.get("path") or "/mcp") if not plan.stdio else "/mcp"
        url = f"http://{host}:{plan.listen_port}{path if path.startswith('/') else '/' + path}"
        headers = {"Authorization": f"Bearer {token}"} if plan.stdio else {}
        keep = spec.instance_key == "shared"
        return KubernetesInstance(
            self.cluster,
            name=name,
            pod=pod,
            url=url,
            headers=headers,
            retire=lambda grace: self._retire(plan, workload["kind"], keep=keep, grace=grace),
            max_log_lines=self.max_log_lines,
        )

    async def _token(self, plan: PodPlan) -> str:
        """The bridge's token: the one in the instance's Secret when it exists (an adopted pod keeps serving with
        it), else a new one."""
        if not plan.stdio:
            return ""
        try:
            found = await self.cluster.read(self.cluster.core.read_namespaced_secret, plan.name, plan.options.namespace)
        except FAILURES as exc:
            if not is_missing(exc):
                raise
            return secrets.token_urlsafe(32)
        stored = (found.get("data") or {}).get(manifests.TOKEN_KEY)
        return base64.b64decode(stored).decode() if stored else secrets.token_urlsafe(32)

    async def _apply(self, plan: PodPlan, workload: dict[str, Any], env: dict[str, str], token: str) -> dict[str, Any]:
        """Create or replace the instance's objects; an existing workload of the same spec is left as it is (and
        scaled up if it was scaled down)."""
        apps, core, namespace = self.cluster.apps, self.cluster.core, plan.options.namespace
        kind = workload["kind"]
        read, create, replace, scale = (
            (
                apps.read_namespaced_deployment,
                apps.create_namespaced_deployment,
                apps.replace_namespaced_deployment,
                apps.patch_namespaced_deployment_scale,
            )
            if kind == "Deployment"
            else (
                apps.read_namespaced_stateful_set,
                apps.create_namespaced_stateful_set,
                apps.replace_namespaced_stateful_set,
                apps.patch_namespaced_stateful_set_scale,
            )
        )
        await self._upsert(
            core.read_namespaced_secret,
            core.create_namespaced_secret,
            core.replace_namespaced_secret,
            manifests.secret(plan, env, token),
        )
        try:
            current = await self.cluster.read(read, plan.name, namespace)
        except FAILURES as exc:
            if not is_missing(exc):
                raise
            current = None
        wanted_hash = workload["metadata"]["annotations"][manifests.HASH_ANNOTATION]
        if current is None:
            created = await self.cluster.read(create, namespace, workload)
        elif current["metadata"].get("annotations", {}).get(manifests.HASH_ANNOTATION) == wanted_hash:
            created = current
            if current["spec"].get("replicas") != 1:
                await self.cluster.run(scale, plan.name, namespace, {"spec": {"replicas": 1}}, _preload_content=False)
        else:
            workload["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            created = await self.cluster.read(replace, plan.name, namespace, workload)
        # A Service is patched, not replaced: its cluster IP cannot change (its owner, the workload, may).
        service = manifests.owned_by(manifests.service(plan), created)
        await self._upsert(None, core.create_namespaced_service, core.patch_namespaced_service, service)
        await self._network_policy(plan, created)
        return created

    async def _upsert(self, read: Any, create: Any, update: Any, document: dict[str, Any]) -> None:
        """Create ``document``, or update it when it exists: replaced at its current version (``read``), or patched
        (``read`` None)."""
        name, namespace = document["metadata"]["name"], document["metadata"]["namespace"]
        try:
            await self.cluster.run(create, namespace, document, _preload_content=False)
        except ApiException as exc:
            if exc.status != 409:
                raise
            if read is not None:
                current = await self.cluster.read(read, name, namespace)
                document["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            await self.cluster.run(update, name, namespace, document, _preload_content=False)

    async def _network_policy(self, plan: PodPlan, owner: dict[str, Any]) -> None:
        api, namespace = self.cluster.networking, plan.options.namespace
        if plan.limits.network == "none":
            policy = manifests.owned_by(manifests.network_policy(plan), owner)
            await self._upsert(
                api.read_namespaced_network_policy,
                api.create_namespaced_network_policy,
                api.replace_namespaced_network_policy,
                policy,
            )
            return
        with contextlib.suppress(ApiException):
            await self.cluster.run(api.delete_namespaced_network_policy, plan.name, namespace, _preload_content=False)

    async def _until_ready(self, plan: PodPlan, workload: dict[str, Any]) -> dict[str, Any]:
        """The instance's pod once it is ready; StartFailed with the reason when it cannot become ready."""
        core, namespace = self.cluster.core, plan.options.namespace
        selector = ",".join(f"{key}={value}" for key, value in plan.selector.items())
        deadline = time.monotonic() + self.options.start_timeout_seconds
        waiting = "no pod yet"
        read_workload = (
            self.cluster.apps.read_namespaced_deployment
            if workload["kind"] == "Deployment"
            else self.cluster.apps.read_namespaced_stateful_set
        )
        while time.monotonic() < deadline:
            pods = await self.cluster.read(core.list_namespaced_pod, namespace, label_selector=selector)
            live: list[dict[str, Any]] = [
                pod for pod in pods.get("items") or [] if not pod["metadata"].get("deletionTimestamp")
            ]
            for pod in live:
                if ready(pod):
                    return pod
                found = verdict(pod)
                if found is not None and found.fatal:
                    raise StartFailed(f"{plan.slug}: {found.message}")
                if found is not None:
                    waiting = found.message
            if not live:
                refusal = workload_refusal(await self.cluster.read(read_workload, plan.name, namespace))
                if refusal is not None:
                    raise StartFailed(f"{plan.slug}: {refusal}")
            elif waiting == "no pod yet":
                waiting = f"pod {live[0]['metadata']['name']} is {live[0].get('status', {}).get('phase', 'pending')}"
            await asyncio.sleep(POLL_SECONDS)
        raise StartFailed(
            f"{plan.slug}: the pod was not ready within {self.options.start_timeout_seconds:.0f} s ({waiting})"
        )

    async def _pull_secret(self) -> str | None:
        """Keep the image pull Secret in step with the configured registry logins; its name, or None (no logins)."""
        logins = {
            host: (c.username, c.password.get_secret_value()) for host, c in self.settings.docker.registries.items()
        }
        registry = self.settings.builds.registry
        if registry.host and registry.username:
            password = registry.password.get_secret_value() if registry.password else ""
            if registry.password_file is not None:
                with contextlib.suppress(OSError):
                    password = registry.password_file.read_text().strip()
            logins[registry.host] = (registry.username, password)
        if not logins:
            return None
        auths = {
            host: {
                "username": user,
                "password": password,
                "auth": base64.b64encode(f"{user}:{password}".encode()).decode(),
            }
            for host, (user, password) in sorted(logins.items())
        }
        name, core = self.options.image_pull_secret, self.cluster.core
        document = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": self.options.namespace, "labels": dict(manifests.MANAGED)},
            "type": "kubernetes.io/dockerconfigjson",
            "stringData": {".dockerconfigjson": json.dumps({"auths": auths})},
        }
        await self._upsert(
            core.read_namespaced_secret, core.create_namespaced_secret, core.replace_namespaced_secret, document
        )
        return name

    # stop and delete

    async def _retire(self, plan: PodPlan, kind: str, *, keep: bool, grace: float) -> str | None:
        """Stop an instance: scale the main instance's workload to zero, delete any other instance's objects; wait
        (at most ``grace`` + 10 s) until its pods are gone. What went wrong, or None."""
        apps, namespace = self.cluster.apps, plan.options.namespace
        try:
            if keep:
                scale = (
                    apps.patch_namespaced_deployment_scale
                    if kind == "Deployment"
                    else apps.patch_namespaced_stateful_set_scale
                )
                await self.cluster.run(scale, plan.name, namespace, {"spec": {"replicas": 0}}, _preload_content=False)
            else:
                await self._delete(
                    f"{manifests.LABEL_SERVER}={plan.server_id},{manifests.LABEL_INSTANCE}={plan.instance}"
                )
            selector = ",".join(f"{key}={value}" for key, value in plan.selector.items())
            deadline = time.monotonic() + grace + 10
            while time.monotonic() < deadline:
                pods = await self.cluster.read(
                    self.cluster.core.list_namespaced_pod, namespace, label_selector=selector
                )
                if not pods.get("items"):
                    return None
                await asyncio.sleep(POLL_SECONDS)
        except FAILURES as exc:
            log.warning("cannot stop %s in %s: %s", plan.name, namespace, explain(exc))
            return f"cannot stop its pod: {explain(exc)}"
        return None

    async def forget(self, server_id: str) -> None:
        """Remove every object of a deleted server (workloads, Services, Secrets, policies, volume claims)."""
        await self._delete(f"{manifests.LABEL_SERVER}={server_id}")

    async def _delete(self, selector: str) -> None:
        apps, core, net, namespace = (
            self.cluster.apps,
            self.cluster.core,
            self.cluster.networking,
            self.options.namespace,
        )
        collections = (
            apps.delete_collection_namespaced_deployment,
            apps.delete_collection_namespaced_stateful_set,
            net.delete_collection_namespaced_network_policy,
            core.delete_collection_namespaced_secret,
            core.delete_collection_namespaced_persistent_volume_claim,
            core.delete_collection_namespaced_pod,
        )
        for delete in collections:
            await self.cluster.run(
                delete, namespace, label_selector=selector, propagation_policy="Background", _preload_content=False
            )
        # Services have no delete-collection call in this API version: one by one.
        services = await self.cluster.read(core.list_namespaced_service, namespace, label_selector=selector)
        for service in services.get("items") or []:
            with contextlib.suppress(ApiException):
                await self.cluster.run(
                    core.delete_namespaced_service, service["metadata"]["name"], namespace, _preload_content=False
                )

    async def close(self) -> None:
        if self._docker is not None:
            await self._docker.close()
        self.cluster.close()


def _for_pods(built: Artifact) -> Artifact:
    """The Docker runtime's artifact as a pod runs it: the image by name (the pushed one when it was pushed), a
    stdio server's whole command (its entry point and command) run under the image's shell."""
    details = dict(built.details)
    image = str(details.get("pushed") or details.get("image") or "")
    if not image or image.startswith("sha256:"):
        raise PrepareFailed(
            "the prepared image has no name a cluster can pull; push it to a registry (builds.registry)"
        )
    argv = built.argv
    if built.transport == "stdio":
        argv = (*(details.get("entrypoint") or ()), *(built.argv or details.get("cmd") or ()))
        if not details.get("shell"):
            raise PrepareFailed(
                f"the image {image} has no /bin/sh: a stdio server runs on Kubernetes with its stdin and stdout on "
                "pipes its shell opens (serve it over streamable-http instead)"
            )
        if not argv:
            raise PrepareFailed(f"the image {image} names no command to run (give the source a command)")
    details |= {"image": image, "runtime": "kubernetes"}
    return Artifact(argv=tuple(str(part) for part in argv), transport=built.transport, image=image, details=details)


def _declared(source: dict[str, Any]) -> Artifact:
    """An image source prepared without an engine: what it runs as the source says it."""
    image = str(source.get("image") or "").strip()
    if not image:
        raise PrepareFailed("an image source needs the image to run")
    transport = source.get("transport") or "stdio"
    command = tuple(str(part) for part in source.get("command") or ())
    details: dict[str, Any] = {"image": image, "runtime": "kubernetes", "user": str(source.get("user") or "")}
    if transport == "stdio":
        if not command:
            raise PrepareFailed(
                "without a Docker engine to inspect the image, a stdio image source needs its full command ('command')"
            )
        return Artifact(argv=command, transport="stdio", image=image, details=details)
    if transport != "streamable-http":
        raise PrepareFailed(f"unknown transport {transport!r}; use stdio or streamable-http")
    if not source.get("port"):
        raise PrepareFailed("without a Docker engine to inspect the image, a streamable-http source needs its 'port'")
    details |= {"port": int(source["port"]), "path": str(source.get("path") or "/mcp")}
    return Artifact(argv=command, transport="streamable-http", image=image, details=details)


def _plan(spec: LaunchSpec, name: str, settings: Settings, pull_secret: str | None) -> PodPlan:
    details = spec.artifact.details
    uid, _, gid = str(details.get("user") or "").partition(":")
    numeric = uid.isdigit() and int(uid) != 0
    port = int(details.get("port") or 0)
    if spec.artifact.transport == "streamable-http" and not port:
        raise StartFailed(f"cannot start {spec.slug}: the artifact names no port")
    return PodPlan(
        name=name,
        server_id=str(spec.server_id),
        instance=name.rsplit("-", 1)[-1],
        slug=spec.slug,
        image=str(spec.artifact.image),
        transport=spec.artifact.transport,
        argv=spec.artifact.argv,
        port=port,
        uid=int(uid) if numeric else NOBODY,
        gid=int(gid) if numeric and gid.isdigit() else NOBODY,
        limits=spec.limits,
        options=settings.kubernetes,
        pull_secret=pull_secret,
    )


def _refused(exc: BaseException, namespace: str) -> str:
    if isinstance(exc, ApiException) and exc.status == 403:
        return f"MCP Host may not manage workloads in the namespace {namespace}: {explain(exc)}"
    if isinstance(exc, ApiException) and exc.status == 404:
        return f"the namespace {namespace} (or an object in it) does not exist: {explain(exc)}"
    if isinstance(exc, ApiException):
        return f"the Kubernetes API refused: {explain(exc)}"
    return f"the Kubernetes API server does not answer: {explain(exc)}"
