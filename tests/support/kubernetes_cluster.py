"""A real Kubernetes cluster on this machine for the Kubernetes runtime's tests: etcd (Debian's etcd-server) and
kube-apiserver 1.20 built from Debian's source package (scripts/build_kubernetes.sh), and with ``node=True`` a
single node: kube-controller-manager, kube-scheduler and a kubelet on the Docker engine (its built-in Docker shim,
pods on Docker's bridge network, a pause image built here from the Kubernetes source).

Everything listens on loopback and nothing leaves this machine: the node is named ``localhost`` (the API server
reaches the kubelet by that name), the kubelet's cloud credential probe is off (``AWS_EC2_METADATA_DISABLED``), and
the kubelet's own OOM score adjustment is 0 (this machine lacks CAP_SYS_RESOURCE; the build script sets the
sandbox's and guaranteed pods' adjustments to 0 too). Clients authenticate with static tokens: ``admin``
(system:masters) and ``limited`` (no rights), each with a kubeconfig file. The API server's certificate is
self-signed, so the kubeconfigs name it as their certificate authority."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parents[2]
PAUSE_IMAGE = "mcphost-pause:3.2"
LOCK = Path("/tmp/mcphost-kubernetes-test.lock")  # noqa: S108 (machine-wide on purpose)
PIDS = Path("/tmp/mcphost-kubernetes-test.pids")  # noqa: S108
ADMIN_TOKEN = "mcphost-test-admin-token"  # a throwaway cluster's
LIMITED_TOKEN = "mcphost-test-limited-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def binaries() -> Path:
    """The cluster's binaries, built (or found in the cache) by scripts/build_kubernetes.sh."""
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "build_kubernetes.sh")], check=True, capture_output=True, text=True
    )
    return Path(done.stdout.strip().splitlines()[-1])


@dataclass
class LocalCluster:
    directory: Path
    node: bool = False
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    _lock: IO[bytes] | None = None

    def __post_init__(self) -> None:
        self.bin = binaries()
        self.api_port = free_port()
        self.url = f"https://127.0.0.1:{self.api_port}"

    def kubeconfig(self, user: str = "admin") -> Path:
        return self.directory / f"{user}.kubeconfig"

    # starting

    def start(self, within: float = 90.0) -> LocalCluster:
        self._lock = machine_lock()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files()
        etcd_port, peer_port = free_port(), free_port()
        self._spawn(
            "etcd",
            [
                "etcd",
                "--data-dir",
                str(self.directory / "etcd"),
                "--listen-client-urls",
                f"http://127.0.0.1:{etcd_port}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{etcd_port}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-cluster",
                f"default=http://127.0.0.1:{peer_port}",
            ],
        )
        self._spawn(
            "kube-apiserver",
            [
                str(self.bin / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.api_port}",
                f"--cert-dir={self.directory / 'certs'}",
                f"--token-auth-file={self.directory / 'tokens.csv'}",
                "--authorization-mode=Node,RBAC",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={self.directory / 'sa.pub'}",
                f"--service-account-signing-key-file={self.directory / 'sa.key'}",
                "--kubelet-preferred-address-types=Hostname",
                "--allow-privileged=false",
                "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota",
            ],
        )
        self._until(lambda: self._healthy(), within, "the API server")
        self._kubeconfigs()
        if self.node:
            self._start_node()
        return self

    def _files(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (self.directory / "sa.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        (self.directory / "sa.pub").write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        (self.directory / "tokens.csv").write_text(
            f'{ADMIN_TOKEN},admin,admin,"system:masters"\n{LIMITED_TOKEN},limited,limited\n'
        )

    def _kubeconfigs(self) -> None:
        """One per user, trusting the API server's own self-signed certificate (made at its start)."""
        authority = self.directory / "certs" / "apiserver.crt"
        for user, token in (("admin", ADMIN_TOKEN), ("limited", LIMITED_TOKEN)):
            self.kubeconfig(user).write_text(
                "apiVersion: v1\nkind: Config\n"
                f"clusters:\n- name: local\n  cluster:\n    server: {self.url}\n"
                f"    certificate-authority: {authority}\n"
                f"users:\n- name: {user}\n  user:\n    token: {token}\n"
                f"contexts:\n- name: {user}\n  context:\n    cluster: local\n    user: {user}\n"
                f"current-context: {user}\n"
            )

    def _start_node(self) -> None:
        ensure_pause_image(self.directory, self.bin.parent / "src" / "build" / "pause" / "linux" / "pause.c")
        admin = str(self.kubeconfig("admin"))
        self._spawn(
            "kube-controller-manager",
            [
                str(self.bin / "kube-controller-manager"),
                f"--kubeconfig={admin}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                "--port=0",
                f"--service-account-private-key-file={self.directory / 'sa.key'}",
                "--use-service-account-credentials=false",
                "--controllers=*,-nodeipam,-cloud-node-lifecycle,-route,-service",
            ],
        )
        self._spawn(
            "kube-scheduler",
            [
                str(self.bin / "kube-scheduler"),
                f"--kubeconfig={admin}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                "--port=0",
            ],
        )
        kubelet_dir = self.directory / "kubelet"
        kubelet_dir.mkdir(exist_ok=True)
        self._spawn(
            "kubelet",
            [
                str(self.bin / "kubelet"),
                f"--kubeconfig={admin}",
                "--hostname-override=localhost",
                "--container-runtime=docker",
                f"--pod-infra-container-image={PAUSE_IMAGE}",
                "--cgroup-driver=cgroupfs",
                "--cgroups-per-qos=false",
                "--enforce-node-allocatable=",
                "--fail-swap-on=false",
                "--oom-score-adj=0",
                f"--root-dir={kubelet_dir}",
                f"--cert-dir={kubelet_dir / 'pki'}",
                "--address=127.0.0.1",
                f"--port={free_port()}",
                "--read-only-port=0",
                "--healthz-port=0",
                "--image-gc-high-threshold=100",
                "--image-gc-low-threshold=99",
                "--eviction-hard=memory.available<1Mi,nodefs.available<1%,imagefs.available<1%",
                "--serialize-image-pulls=false",
                "--register-node=true",
                "--volume-stats-agg-period=0",
            ],
            env={"AWS_EC2_METADATA_DISABLED": "true"},
        )
        self._until(self._node_ready, 90, "the node")

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.directory / f"{name}.log", "ab")  # noqa: SIM115 (kept open for the process's life)
        process = subprocess.Popen(
            argv, stdout=log, stderr=log, env={**os.environ, **(env or {})}, start_new_session=True
        )
        self.processes.append((name, process))
        with PIDS.open("a") as pids:
            pids.write(f"{process.pid}\n")

    def _until(self, check: object, within: float, what: str) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for name, process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited ({process.returncode}): {self.log_tail(name)}")
            if check():  # type: ignore[operator]
                return
            time.sleep(0.3)
        raise RuntimeError(f"{what} was not ready within {within:.0f} s")

    def _get(self, path: str) -> tuple[int, bytes]:
        try:
            answer = httpx.get(
                self.url + path,
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                verify=False,  # noqa: S501 (its own self-signed certificate, on loopback)
                timeout=3,
            )
        except httpx.HTTPError:
            return 0, b""
        return answer.status_code, answer.content

    def _healthy(self) -> bool:
        return self._get("/readyz")[0] == 200

    def _node_ready(self) -> bool:
        status, body = self._get("/api/v1/nodes/localhost")
        return status == 200 and b'"type":"Ready","status":"True"' in body.replace(b" ", b"")

    def log_tail(self, name: str, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.directory / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        return ""

    # stopping

    def stop(self) -> None:
        for _name, process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for _name, process in reversed(self.processes):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        if self.node:
            remove_pod_containers()
            unmount_under(self.directory / "kubelet")
        shutil.rmtree(self.directory / "etcd", ignore_errors=True)
        PIDS.unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.close()  # releases the machine's cluster lock


def machine_lock(within: float = 600.0) -> IO[bytes]:
    """One test cluster per machine: kubelets on one Docker engine remove each other's pods. Waits for the lock (a
    concurrent test session's cluster), then stops what a session that died left running (its pids in ``PIDS``)."""
    lock = LOCK.open("ab")
    deadline = time.monotonic() + within
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"another test cluster held {LOCK} for {within:.0f} s") from None
            time.sleep(1)
    with contextlib.suppress(OSError):
        for pid in {int(line) for line in PIDS.read_text().split() if line.isdigit()}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    PIDS.unlink(missing_ok=True)
    remove_pod_containers()
    return lock


def remove_pod_containers() -> None:
    """The kubelet's containers (``k8s_*``) that outlive it."""
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "name=k8s_"], capture_output=True, text=True, check=False
    ).stdout.split()
    if listed:
        subprocess.run(["docker", "rm", "-f", *listed], capture_output=True, check=False)


def unmount_under(directory: Path) -> None:
    """The volumes the kubelet mounted (Secrets are tmpfs mounts) that outlive it."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    mine = (m for m in mounts if m == str(directory) or m.startswith(f"{directory}/"))  # the kubelet binds its root too
    for mount in sorted(mine, key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True, check=False)


def ensure_pause_image(workdir: Path, source: Path) -> None:
    """The pod sandbox's image, built here: the Kubernetes source's pause.c, static, in an image of its own."""
    if subprocess.run(["docker", "image", "inspect", PAUSE_IMAGE], capture_output=True, check=False).returncode == 0:
        return
    build = workdir / "pause"
    build.mkdir(exist_ok=True)
    subprocess.run(["gcc", "-Os", "-static", "-DVERSION=3.2", "-o", str(build / "pause"), str(source)], check=True)
    with tarfile.open(build / "pause.tar", "w") as tar:
        tar.add(build / "pause", arcname="pause")
    subprocess.run(
        ["docker", "import", "--change", 'ENTRYPOINT ["/pause"]', str(build / "pause.tar"), PAUSE_IMAGE],
        check=True,
        capture_output=True,
    )
