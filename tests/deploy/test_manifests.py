"""deploy/kubernetes/: the base and the example overlay, rendered by kubectl's kustomize, are valid Kubernetes (strict:
an unknown field fails) and say what an operator relies on: least privilege for the runtime, unprivileged
containers, health probes on the served port, real settings, real commands."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import typer
import yaml
from kubernetes_validate.utils import all_versions
from pydantic import BaseModel, ValidationError

from mcphost.cli.main import app
from mcphost.settings import KubernetesSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "deploy" / "kubernetes"
BASE = KUSTOMIZE / "base"
OVERLAY = KUSTOMIZE / "overlays" / "example"
SECRET_TEMPLATE = BASE / "secret.template.yaml"
#: The oldest and the newest Kubernetes versions whose schemas kubernetes-validate ships.
VERSIONS = (all_versions()[0], all_versions()[-1])

#: Exactly what the Kubernetes runtime may do in the servers' namespace: a change here is a deliberate one.
RUNTIME_GRANTS = {
    ("apps", "deployments"): {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
    ("apps", "statefulsets"): {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
    ("apps", "deployments/scale"): {"get", "update", "patch"},
    ("apps", "statefulsets/scale"): {"get", "update", "patch"},
    ("", "services"): {"get", "list", "watch", "create", "update", "patch", "delete"},
    ("", "secrets"): {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
    ("", "persistentvolumeclaims"): {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
    ("", "pods"): {"get", "list", "watch", "delete", "deletecollection"},
    ("", "pods/log"): {"get"},
    ("networking.k8s.io", "networkpolicies"): {
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
    },
}


def render(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("needs kubectl (Debian: apt-get install kubernetes-client; scripts/setup_system.sh test does)")
    done = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"kubectl kustomize {directory.relative_to(ROOT)} failed: {done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module", params=[BASE, OVERLAY], ids=["base", "overlay"])
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


@pytest.fixture(scope="module")
def overlay() -> list[dict[str, Any]]:
    return render(OVERLAY)


def one(manifests: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def deployments(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] == "Deployment"]


def containers(deployment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    pod = deployment["spec"]["template"]["spec"]
    yield from pod.get("initContainers", [])
    yield from pod["containers"]


def config(manifests: list[dict[str, Any]]) -> dict[str, str]:
    """The settings every MCP Host container gets from the generated ConfigMap (its name carries a hash)."""
    names = {
        source["configMapRef"]["name"]
        for deployment in deployments(manifests)
        for container in containers(deployment)
        for source in container.get("envFrom", [])
    }
    assert len(names) == 1, f"every container should read one ConfigMap, not {names}"
    data: dict[str, str] = one(manifests, "ConfigMap", names.pop())["data"]
    return data


def server(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    return one(manifests, "Deployment", "mcphost")


def setting_path(env_name: str) -> list[str] | None:
    """The Settings fields an MCPHOST_* variable sets (MCPHOST_DATABASE_URL, MCPHOST_KUBERNETES__NAMESPACE), or None."""
    assert env_name.startswith("MCPHOST_"), env_name
    model: type[BaseModel] = Settings
    path = env_name.removeprefix("MCPHOST_").lower().split("__")
    for depth, part in enumerate(path):
        field = model.model_fields.get(part)
        if field is None:
            return None
        if depth < len(path) - 1:
            groups = [t for t in (field.annotation, *get_args(field.annotation)) if isinstance(t, type)]
            found = [t for t in groups if issubclass(t, BaseModel)]
            if not found:
                return None
            model = found[0]
    return path


@pytest.mark.parametrize("version", VERSIONS)
def test_every_resource_is_valid_kubernetes(manifests: list[dict[str, Any]], version: str) -> None:
    template = yaml.safe_load(SECRET_TEMPLATE.read_text())
    problems = []
    for resource in [*manifests, template]:
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(map(str, exc.path))
            problems.append(f"{resource['kind']}/{resource['metadata']['name']} at {where}: {exc.message}")
    assert not problems, f"invalid for Kubernetes {version}:\n" + "\n".join(problems)


def test_the_runtime_gets_a_namespaced_role_in_the_servers_namespace_and_nothing_more(
    manifests: list[dict[str, Any]],
) -> None:
    assert not [m["kind"] for m in manifests if m["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    role = one(manifests, "Role")
    servers_namespace = KubernetesSettings.model_fields["namespace"].default
    assert role["metadata"]["namespace"] == servers_namespace == config(manifests)["MCPHOST_KUBERNETES__NAMESPACE"]
    assert servers_namespace in {m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace"}

    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {field}: {rule}"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    assert granted == RUNTIME_GRANTS

    binding = one(manifests, "RoleBinding")
    assert binding["metadata"]["namespace"] == servers_namespace
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "mcphost-runtime"}
    pod = server(manifests)["spec"]["template"]["spec"]
    account = {"kind": "ServiceAccount", "name": pod["serviceAccountName"], "namespace": "mcphost"}
    assert binding["subjects"] == [account]
    one(manifests, "ServiceAccount", pod["serviceAccountName"])
    # The worker never calls the Kubernetes API: it does not get the token.
    assert (
        one(manifests, "Deployment", "mcphost-worker")["spec"]["template"]["spec"]["automountServiceAccountToken"]
        is False
    )


def test_every_container_is_unprivileged_with_a_read_only_root(manifests: list[dict[str, Any]]) -> None:
    assert {d["metadata"]["name"] for d in deployments(manifests)} == {"mcphost", "mcphost-worker"}
    for deployment in deployments(manifests):
        pod = deployment["spec"]["template"]["spec"]
        assert not any(pod.get(flag) for flag in ("hostNetwork", "hostPID", "hostIPC"))
        assert not [v for v in pod.get("volumes", []) if "hostPath" in v]
        # Service links would put MCPHOST_PORT=tcp://… and the like into the settings' namespace.
        assert pod["enableServiceLinks"] is False
        scratch = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in containers(deployment):
            where = f"{deployment['metadata']['name']}/{container['name']}"
            context = {**pod["securityContext"], **container["securityContext"]}
            assert context["runAsNonRoot"] is True, where
            assert context.get("runAsUser", 1) != 0 and context.get("runAsGroup", 1) != 0, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert not context.get("privileged"), where
            assert context["capabilities"]["drop"] == ["ALL"] and not context["capabilities"].get("add"), where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
            # What the read-only root leaves writable: the home directory (MCPHOST_HOME is in it) and /tmp.
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/home/mcphost") in scratch and mounts.get("/tmp") in scratch, where  # noqa: S108 (a path in the pod)
            assert config(manifests)["MCPHOST_HOME"].startswith("/home/mcphost/"), where
            assert "memory" in container["resources"]["limits"], where
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), where


def cli_params(container: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Parse a container's command line with the real CLI: (subcommand, its parameters); unknown options fail."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert container["command"] == ["mcphost"] and "mcphost" in scripts
    group = typer.main.get_command(app)
    name, *args = container["args"]
    command = group.get_command(typer.Context(group), name)
    assert command is not None, f"`mcphost {name}` is not a command"
    with command.make_context(f"mcphost {name}", list(args)) as context:
        return name, dict(context.params)


def test_the_containers_run_commands_the_cli_has(manifests: list[dict[str, Any]]) -> None:
    container = next(containers(server(manifests)))
    name, params = cli_params(container)
    assert name == "up" and params["no_services"] is True  # the worker Deployment runs the services
    assert params["host"] == "0.0.0.0"  # noqa: S104 (probes and the Service reach the pod's address)
    assert params["port"] == container["ports"][0]["containerPort"]
    worker = next(containers(one(manifests, "Deployment", "mcphost-worker")))
    assert cli_params(worker) == ("worker", {"home": None})


def test_probes_and_the_service_reach_the_port_mcphost_listens_on(manifests: list[dict[str, Any]]) -> None:
    deployment = server(manifests)
    container = next(containers(deployment))
    _, params = cli_params(container)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}

    def port_of(probe: dict[str, Any]) -> int:
        port = probe["httpGet"]["port"]
        return ports[port] if isinstance(port, str) else int(port)

    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert port_of(container[probe]) == params["port"], probe

    service = one(manifests, "Service", "mcphost")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    (service_port,) = service["spec"]["ports"]
    assert ports[service_port["targetPort"]] == params["port"]

    ingress = one(manifests, "Ingress", "mcphost")
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["path"] == "/" and path["pathType"] == "Prefix"
            assert path["backend"]["service"] == {"name": "mcphost", "port": {"name": service_port["name"]}}
    # Hosted servers' pods may not reach that port around the Ingress.
    policy = one(manifests, "NetworkPolicy", "mcphost")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    (allowed,) = policy["spec"]["ingress"]
    servers_namespace = one(manifests, "Namespace", "mcphost-servers")["metadata"]["labels"]
    (selector,) = allowed["from"]
    (expression,) = selector["namespaceSelector"]["matchExpressions"]
    assert expression["operator"] == "NotIn" and servers_namespace[expression["key"]] in expression["values"]


def test_the_environment_names_real_settings_with_valid_values(
    manifests: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_env = dict(config(manifests))
    secret_env = {
        env["name"]: env["valueFrom"]["secretKeyRef"]
        for deployment in deployments(manifests)
        for container in containers(deployment)
        for env in container.get("env", [])
    }
    names = [*settings_env, *secret_env]
    unknown = [name for name in names if not name.startswith("MCPHOST_") or setting_path(name) is None]
    assert not unknown, f"not settings of MCP Host (renamed?): {unknown}"

    # The values parse: what a pod would start with, the secrets standing in for the Secret's values.
    for name, value in settings_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MCPHOST_SECRET_KEY", "k" * 48)
    monkeypatch.setenv("MCPHOST_DATABASE_URL", "postgresql+asyncpg://mcphost:pw@db.example.com:5432/mcphost")
    try:
        settings = Settings()
    except ValidationError as exc:
        pytest.fail(f"the ConfigMap's values are refused: {exc}")
    assert settings.runtime.default == "kubernetes"
    assert settings.kubernetes.address == "service"  # MCP Host runs in the cluster, beside the servers' Services
    assert settings.docker.default_for_images is False  # no Docker engine in a pod
    assert settings.event_backend == "postgres"
    assert settings.database.migrate_on_start is True

    # Every required key of the Secret is in its template, and the template has nothing the pods ignore.
    template = yaml.safe_load(SECRET_TEMPLATE.read_text())
    refs = list(secret_env.values())
    assert {ref["name"] for ref in refs} == {template["metadata"]["name"]}
    assert {ref["key"] for ref in refs if not ref.get("optional")} <= template["stringData"].keys()
    assert template["stringData"].keys() == {ref["key"] for ref in refs}
    assert setting_path("MCPHOST_DATABASE__URL") is None  # the URL is top-level: MCPHOST_DATABASE_URL
    assert setting_path("MCPHOST_SECRETS__VAULT__URL") == ["secrets", "vault", "url"]


def test_the_secret_template_is_never_applied(manifests: list[dict[str, Any]]) -> None:
    """Applying an overlay must not replace the real Secret with the template's placeholders."""
    assert not [m for m in manifests if m["kind"] == "Secret"]
    assert SECRET_TEMPLATE.name not in yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"]


def test_public_url_bridge_image_and_ingress_host_agree(manifests: list[dict[str, Any]]) -> None:
    settings = config(manifests)
    images = {c["image"] for d in deployments(manifests) for c in containers(d)}
    # Server pods run `mcphost bridge` from MCP Host's own image.
    assert images == {settings["MCPHOST_KUBERNETES__BRIDGE_IMAGE"]}
    public = urlsplit(settings["MCPHOST_PUBLIC_URL"])
    ingress = one(manifests, "Ingress", "mcphost")
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [public.hostname]
    assert public.scheme == "https" and not public.path


def test_the_overlay_sets_replicas_image_and_tls(overlay: list[dict[str, Any]]) -> None:
    kustomization = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
    (image,) = kustomization["images"]
    expected = f"{image['newName']}:{image['newTag']}"
    assert {c["image"] for d in deployments(overlay) for c in containers(d)} == {expected}
    replicas = {
        p["metadata"]["name"]: p["spec"]["replicas"]
        for p in yaml.safe_load_all((OVERLAY / "replicas.yaml").read_text())
    }
    assert {d["metadata"]["name"]: d["spec"]["replicas"] for d in deployments(overlay)} == replicas
    assert replicas["mcphost"] > 1
    ingress = one(overlay, "Ingress", "mcphost")
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert ingress["spec"]["tls"][0]["hosts"] == hosts == ["mcp.example.com"]
    # The base's annotations (unbuffered event streams) survive the overlay's patch.
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
