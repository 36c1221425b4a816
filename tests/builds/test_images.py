"""Images built from real git repositories on the real Docker engine, and run: one sample project of each kind a
Dockerfile is generated for, a repository's own Dockerfile, the cache, a refresh and a failing build."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import docker
import pytest

from mcphost.builds import build_from_git
from mcphost.runtimes.base import PrepareFailed
from mcphost.settings import BuildSettings
from tests.builds import samples
from tests.builds.engine import Recorder
from tests.builds.gitrepos import make_repo

INITIALIZE = '{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}\n'


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, line: str) -> None:
        self.lines.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def run_hardened(image: str, stdin: str = INITIALIZE) -> str:
    """Run the image as the Docker runtime does (read-only root, tmpfs /tmp, no capabilities, no network)."""
    result = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "-i",
            "--read-only",
            "--tmpfs",
            "/tmp",  # noqa: S108 (a path inside the container)
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--network",
            "none",
            image,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


@pytest.mark.parametrize(
    ("kind", "files", "builder"),
    [
        ("python", samples.PYTHON, None),
        ("node", samples.NODE, None),
        ("go", samples.GO, "go_builder"),
        ("rust", samples.RUST, "rust_builder"),
    ],
)
async def test_a_project_without_dockerfile_is_built_and_runs(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    docker_settings: BuildSettings,
    recorder: Recorder,
    kind: str,
    files: dict[str, str],
    builder: str | None,
) -> None:
    if builder:
        request.getfixturevalue(builder)
    repo = make_repo(tmp_path / f"{kind}-sample", dict(files))
    progress = Lines()
    started = time.monotonic()
    built = await build_from_git({"type": "git", "url": repo.url}, docker_client, docker_settings, progress)
    print(f"{kind}: built in {time.monotonic() - started:.1f} s")
    commit = repo.git("rev-parse", "HEAD")
    assert built.commit == commit
    assert built.image == built.local_tag == f"{docker_settings.image_prefix}/{kind}-sample:{commit[:12]}"
    assert (built.transport, built.port, built.pushed, built.cached) == ("stdio", None, False, False)
    assert built.dockerfile.startswith(f"generated ({kind}")
    image = docker_client.images.get(built.image)
    assert image.labels["org.mcphost.commit"] == commit
    assert image.attrs["Config"]["User"] == "10001:10001"
    assert image.attrs["Config"]["WorkingDir"] == "/app"
    reply = json.loads(run_hardened(built.image))
    assert reply["result"]["serverInfo"] == {"name": f"{kind}-sample", "version": "10001"}
    assert recorder.phases == ["cloning", "building"]
    assert recorder.kinds() == ["build_started", "build_succeeded"]
    assert "Cleaning up" in progress.lines
    assert any(line.startswith("Step ") for line in progress.lines)


DOCKERFILE = """\
FROM mcphost-base/debian:bookworm
ARG PORT=8123
VOLUME /var/cache/thing
COPY hello.sh /usr/local/bin/hello
RUN chmod 0755 /usr/local/bin/hello
EXPOSE ${PORT} 9000/udp
USER 4242
CMD ["/usr/local/bin/hello"]
"""


async def test_a_repository_dockerfile_in_a_subdir_with_cache_and_refresh(
    tmp_path: Path, docker_client: docker.DockerClient, docker_settings: BuildSettings, recorder: Recorder
) -> None:
    repo = make_repo(
        tmp_path / "mono",
        {"README.md": "a monorepo\n", "servers/hello/Dockerfile": DOCKERFILE,
         "servers/hello/hello.sh": "#!/bin/sh\necho \"hello from $(id -u)\"\n"},
    )  # fmt: skip
    source = {"type": "git", "url": repo.url, "ref": "main", "subdir": "servers/hello"}
    progress = Lines()
    built = await build_from_git(source, docker_client, docker_settings, progress, name="Hello Server")
    assert built.image.startswith(f"{docker_settings.image_prefix}/hello-server:")
    assert (built.port, built.transport, built.dockerfile) == (8123, "streamable-http", "servers/hello/Dockerfile")
    assert any("VOLUME /var/cache/thing is not honoured" in warning for warning in built.warnings)
    assert any("EXPOSE 9000/udp is ignored" in warning for warning in built.warnings)
    assert "warning: servers/hello/Dockerfile:3: VOLUME /var/cache/thing is not honoured" in progress.text[:100_000]
    assert run_hardened(built.image, "") == "hello from 4242\n"

    again = Lines()
    cached = await build_from_git(source, docker_client, docker_settings, again, name="Hello Server")
    assert cached.cached
    assert cached.image_id == built.image_id
    assert not any(line.startswith("Step ") for line in again.lines)

    refreshed = await build_from_git(
        {**source, "no_cache": True}, docker_client, docker_settings, Lines(), name="Hello Server"
    )
    assert not refreshed.cached
    assert refreshed.image_id != built.image_id  # --no-cache: every step ran again
    assert [payload["cached"] for payload in recorder.of("build_succeeded")] == [False, True, False]
    assert [payload["nocache"] for payload in recorder.of("build_started")] == [False, False, True]


async def test_a_failing_build_shows_the_failing_step(
    tmp_path: Path, docker_client: docker.DockerClient, docker_settings: BuildSettings, recorder: Recorder,
    workspaces: Path,
) -> None:  # fmt: skip
    dockerfile = (
        "FROM mcphost-base/debian:bookworm\n"
        "RUN echo preparing\n"
        'RUN echo "compiling server.c" && echo "server.c:3: error: expected \';\'" >&2 && exit 3\n'
        "RUN echo never\n"
    )
    repo = make_repo(tmp_path / "broken", {"Dockerfile": dockerfile})
    progress = Lines()
    with pytest.raises(PrepareFailed) as failed:
        await build_from_git({"type": "git", "url": repo.url}, docker_client, docker_settings, progress)
    message = str(failed.value)
    assert message.startswith('the build failed at 3/7 : RUN echo "compiling server.c"')  # +3 LABEL steps
    assert "returned a non-zero code: 3" in message
    assert "compiling server.c" in message
    assert "server.c:3: error: expected ';'" in message
    assert "preparing" not in message  # only the failing step's output
    assert "Removing intermediate container" not in message
    assert "\x1b" not in message
    (failure,) = recorder.of("build_failed")
    assert failure["error_kind"] == "build"
    assert failure["step"].startswith("Step 3/7 : RUN")
    assert recorder.kinds() == ["build_started", "build_failed"]
    assert progress.lines[-1] == "Cleaning up"
    assert list(workspaces.iterdir()) == []


async def test_a_streamable_http_server_that_exposes_nothing(
    tmp_path: Path, docker_client: docker.DockerClient, docker_settings: BuildSettings
) -> None:
    repo = make_repo(tmp_path / "noport", {"Dockerfile": 'FROM mcphost-base/debian:bookworm\nCMD ["true"]\n'})
    source = {"type": "git", "url": repo.url, "transport": "streamable-http"}
    with pytest.raises(PrepareFailed, match="Dockerfile exposes no port, and a streamable-http server needs one"):
        await build_from_git(source, docker_client, docker_settings, Lines())
    built = await build_from_git({**source, "port": 8080}, docker_client, docker_settings, Lines())
    assert (built.port, built.transport) == (8080, "streamable-http")
