"""Pushes to a real registry (Debian's docker-registry with htpasswd) with retries, credential refresh and the
telemetry events the lifecycle records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from mcphost.builds import build_from_git
from mcphost.runtimes.base import PrepareFailed
from mcphost.settings import BuildSettings, RegistrySettings
from tests.builds.engine import Recorder, remove_images
from tests.builds.gitrepos import Repo, free_port, make_repo
from tests.builds.registry import Registry, registry

DOCKERFILE = 'FROM mcphost-base/debian:bookworm\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n'


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, line: str) -> None:
        self.lines.append(line)


@pytest.fixture(scope="session")
def registry_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Blobs shared by the tests' registries: the base image's layers are pushed once."""
    return tmp_path_factory.mktemp("registry-storage")


@pytest.fixture
def running_registry(tmp_path: Path, registry_storage: Path, docker_client: docker.DockerClient) -> Iterator[Registry]:
    with registry(tmp_path / "registry", registry_storage) as started:
        yield started
    remove_images(docker_client, f"{started.endpoint}/")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "pushed", {"Dockerfile": DOCKERFILE, "hello.txt": "hello\n"})


def with_registry(settings: BuildSettings, **fields: Any) -> BuildSettings:
    return settings.model_copy(update={"registry": RegistrySettings(**fields)})


async def test_a_build_is_pushed_and_the_digest_is_the_registrys(
    repo: Repo, running_registry: Registry, docker_client: docker.DockerClient, docker_settings: BuildSettings,
    recorder: Recorder,
) -> None:  # fmt: skip
    settings = with_registry(
        docker_settings, endpoint=f"http://{running_registry.endpoint}/", username="builder", password="first-password"
    )
    progress = Lines()
    built = await build_from_git({"type": "git", "url": repo.url}, docker_client, settings, progress, name="pushed")
    commit12 = repo.git("rev-parse", "HEAD")[:12]
    assert built.pushed
    assert built.digest == running_registry.manifest_digest("mcphost/pushed", commit12)
    assert built.image == f"{running_registry.endpoint}/mcphost/pushed@{built.digest}"
    assert recorder.phases == ["cloning", "building", "pushing"]
    assert recorder.kinds() == [
        "build_started", "build_succeeded", "tag_started", "tag_succeeded", "push_started", "push_succeeded",
    ]  # fmt: skip
    (succeeded,) = recorder.of("push_succeeded")
    assert succeeded == {
        "attempt": 1, "retry_limit": 4, "registry_endpoint": running_registry.endpoint,
        "image": f"{running_registry.endpoint}/mcphost/pushed:{commit12}", "digest": built.digest,
        "auth_expired": False,
    }  # fmt: skip
    assert recorder.of("tag_succeeded") == [
        {"image": built.local_tag, "target": f"{running_registry.endpoint}/mcphost/pushed:{commit12}"}
    ]
    assert f"Pushed {running_registry.endpoint}/mcphost/pushed:{commit12} ({built.digest})" in progress.lines
    assert not any("first-password" in line for line in progress.lines)


async def test_wrong_credentials_fail_without_retries(
    repo: Repo, running_registry: Registry, docker_client: docker.DockerClient, docker_settings: BuildSettings,
    recorder: Recorder,
) -> None:  # fmt: skip
    settings = with_registry(docker_settings, endpoint=running_registry.endpoint, username="builder", password="nope")
    with pytest.raises(PrepareFailed, match="the registry refused the credentials") as failed:
        await build_from_git({"type": "git", "url": repo.url}, docker_client, settings, Lines())
    assert "401" in str(failed.value)
    assert recorder.kinds()[-2:] == ["push_started", "push_failed"]
    (failure,) = recorder.of("push_failed")
    assert (failure["error_kind"], failure["auth_expired"], failure["attempt"]) == ("auth", False, 1)


class RotatingAfterLogin(docker.DockerClient):
    """A client after whose first successful login the registry's password changes (and the password file with
    it, as a secret manager would): the credentials MCP Host logged in with expire before the push."""

    def __init__(self, registry: Registry, password_file: Path, new_password: str | None) -> None:
        super().__init__(base_url="unix:///var/run/docker.sock", timeout=600)
        self.registry, self.password_file, self.new_password = registry, password_file, new_password
        self.logins: list[str] = []

    def login(self, username: str, password: str | None = None, *args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = super().login(username, password, *args, **kwargs)
        self.logins.append(str(password))
        if len(self.logins) == 1:
            self.registry.set_password("rotated-password")
            if self.new_password is not None:
                self.password_file.write_text(self.new_password + "\n")
        return answer


@pytest.mark.parametrize("rotated_file", [True, False], ids=["file-rotated", "file-stale"])
async def test_credentials_that_expire_mid_run_are_refreshed(
    repo: Repo, running_registry: Registry, docker_settings: BuildSettings, tmp_path: Path, recorder: Recorder,
    rotated_file: bool,
) -> None:  # fmt: skip
    password_file = tmp_path / "registry-password"
    password_file.write_text("first-password\n")
    client = RotatingAfterLogin(running_registry, password_file, "rotated-password" if rotated_file else None)
    settings = with_registry(
        docker_settings, endpoint=running_registry.endpoint, username="builder", password_file=password_file
    )
    try:
        if rotated_file:
            built = await build_from_git({"type": "git", "url": repo.url}, client, settings, Lines())
            assert built.digest == running_registry.manifest_digest("mcphost/pushed", built.commit[:12])
            assert client.logins == ["first-password", "rotated-password"]
            assert recorder.kinds()[-5:] == [
                "push_started", "auth_refresh_started", "auth_refresh_succeeded", "push_retry", "push_succeeded",
            ]  # fmt: skip
            (retry,) = recorder.of("push_retry")
            assert (retry["attempt"], retry["error_kind"], retry["auth_expired"]) == (2, "auth", True)
            (succeeded,) = recorder.of("push_succeeded")
            assert (succeeded["attempt"], succeeded["auth_expired"]) == (2, True)
        else:
            with pytest.raises(PrepareFailed, match="the credentials expired and logging in again failed"):
                await build_from_git({"type": "git", "url": repo.url}, client, settings, Lines())
            assert recorder.kinds()[-4:] == [
                "push_started", "auth_refresh_started", "auth_refresh_failed", "push_failed",
            ]  # fmt: skip
            (failure,) = recorder.of("push_failed")
            assert (failure["error_kind"], failure["auth_expired"]) == ("auth", True)
    finally:
        client.close()


async def test_an_unreachable_registry_is_retried_with_backoff_then_fails(
    repo: Repo, docker_client: docker.DockerClient, docker_settings: BuildSettings, recorder: Recorder
) -> None:
    endpoint = f"127.0.0.1:{free_port()}"  # nothing listens there
    settings = with_registry(
        docker_settings, endpoint=endpoint, username="builder", password="x", push_retries=3,
        push_backoff_seconds=0.1, push_backoff_max_seconds=0.3,
    )  # fmt: skip
    progress = Lines()
    try:
        with pytest.raises(PrepareFailed, match=f"pushing to {endpoint} failed after 4 attempts: the registry is unr"):
            await build_from_git({"type": "git", "url": repo.url}, docker_client, settings, progress)
    finally:
        remove_images(docker_client, f"{endpoint}/")
    retries = recorder.of("push_retry")
    assert [retry["attempt"] for retry in retries] == [2, 3, 4]
    assert {retry["error_kind"] for retry in retries} == {"network"}
    assert all(retry["retry_limit"] == 3 and retry["registry_endpoint"] == endpoint for retry in retries)
    delays = [retry["delay_seconds"] for retry in retries]
    assert 0.1 <= delays[0] <= 0.15 and 0.2 <= delays[1] <= 0.3 and 0.3 <= delays[2] <= 0.45  # doubling, capped
    (failure,) = recorder.of("push_failed")
    assert (failure["attempt"], failure["error_kind"], failure["auth_expired"]) == (4, "network", False)
    assert recorder.kinds()[-1] == "push_failed"
    assert sum("retrying in" in line for line in progress.lines) == 3
