"""Shallow checkouts of real git repositories over file://, git:// and authenticated smart HTTP."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcphost.builds.checkout import checkout
from mcphost.builds.source import GitSource
from mcphost.runtimes.base import PrepareFailed
from mcphost.settings import BuildSettings
from tests.builds.gitrepos import Repo, git_daemon, http_git, make_repo

ALL_SCHEMES = frozenset({"file", "git", "http"})


class Lines:
    """A progress callback that keeps the lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, line: str) -> None:
        self.lines.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """main: two commits (the first tagged v1); feature: one more."""
    repo = make_repo(tmp_path / "repos" / "project", {"README.md": "first\n", "app/server.py": "print('v1')\n"})
    repo.git("tag", "v1")
    repo.commit({"README.md": "second\n"}, "second on main")
    repo.git("checkout", "--quiet", "-b", "feature")
    repo.commit({"feature.txt": "feature\n"}, "on feature")
    repo.git("checkout", "--quiet", "main")
    return repo


def source(url: str, **fields: object) -> GitSource:
    return GitSource.parse({"type": "git", "url": url, **fields}, ALL_SCHEMES)


async def test_default_branch_is_checked_out_shallow_and_the_workspace_removed(
    repo: Repo, build_settings: BuildSettings, workspaces: Path
) -> None:
    progress = Lines()
    async with checkout(source(repo.url), build_settings, progress) as done:
        assert done.commit == repo.git("rev-parse", "main")
        assert (done.root / "README.md").read_text() == "second\n"
        assert not (done.root / "feature.txt").exists()
        assert Repo(done.root).git("rev-list", "--count", "HEAD") == "1"
        assert done.context == done.root
        assert list(workspaces.iterdir()) == [done.workspace]
    assert list(workspaces.iterdir()) == []
    assert progress.lines[0].startswith(f"Cloning {repo.url}")
    assert f"Checked out {done.commit[:12]} (second on main)" in progress.text
    assert progress.lines[-1] == "Cleaning up"


@pytest.mark.parametrize(("ref", "expected"), [("feature", "feature"), ("v1", "v1^{commit}")])
async def test_a_branch_or_tag(repo: Repo, build_settings: BuildSettings, ref: str, expected: str) -> None:
    async with checkout(source(repo.url, ref=ref), build_settings, Lines()) as done:
        assert done.commit == repo.git("rev-parse", expected)


async def test_a_commit_that_is_no_branch_tip(repo: Repo, build_settings: BuildSettings) -> None:
    first = repo.git("rev-parse", "v1^{commit}")
    async with checkout(source(repo.url, ref=first), build_settings, Lines()) as done:
        assert done.commit == first
        assert (done.root / "README.md").read_text() == "first\n"
        assert Repo(done.root).git("rev-list", "--count", "HEAD") == "1"


async def test_over_git_daemon(repo: Repo, build_settings: BuildSettings) -> None:
    first = repo.git("rev-parse", "v1^{commit}")
    with git_daemon(repo.path.parent) as base:
        async with checkout(source(f"{base}/project", ref="feature"), build_settings, Lines()) as done:
            assert done.commit == repo.git("rev-parse", "feature")
        async with checkout(source(f"{base}/project", ref=first), build_settings, Lines()) as done:
            assert done.commit == first
        with pytest.raises(PrepareFailed, match=r"repository git://.*/missing does not exist"):
            async with checkout(source(f"{base}/missing"), build_settings, Lines()):
                pass


async def test_subdir_is_the_context(repo: Repo, build_settings: BuildSettings) -> None:
    async with checkout(source(repo.url, subdir="app/"), build_settings, Lines()) as done:
        assert done.context == done.root.resolve() / "app"
        assert (done.context / "server.py").exists()


async def test_a_missing_repository(tmp_path: Path, build_settings: BuildSettings, workspaces: Path) -> None:
    url = (tmp_path / "nowhere").as_uri()
    progress = Lines()
    with pytest.raises(PrepareFailed, match=f"the repository {url} does not exist"):
        async with checkout(source(url), build_settings, progress):
            pass
    assert progress.lines[-1] == "Cleaning up"
    assert list(workspaces.iterdir()) == []


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nope", "the branch or tag 'nope' does not exist in"),
        ("0123456789abcdef0123456789abcdef01234567", "the commit '0123456789abcdef0123456789abcdef01234567' does not"),
        ("deadbeef", "give its full 40-character sha"),
    ],
)
async def test_a_missing_ref(
    repo: Repo, build_settings: BuildSettings, workspaces: Path, ref: str, message: str
) -> None:
    with pytest.raises(PrepareFailed, match=message):
        async with checkout(source(repo.url, ref=ref), build_settings, Lines()):
            pass
    assert list(workspaces.iterdir()) == []


async def test_the_workspace_is_removed_when_the_block_fails(
    repo: Repo, build_settings: BuildSettings, workspaces: Path
) -> None:
    with pytest.raises(RuntimeError, match="the build broke"):
        async with checkout(source(repo.url), build_settings, Lines()):
            raise RuntimeError("the build broke")
    assert list(workspaces.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "allowed", "message"),
    [
        ("http://example.com/repo.git", frozenset(), "http:// are not allowed here; use one of: https://"),
        ("git://example.com/repo.git", frozenset({"http"}), "git:// are not allowed here"),
        ("file:///etc", frozenset(), "file:// are not allowed"),
        ("ext::sh -c touch% /tmp/pwned", ALL_SCHEMES, "this form of URL are not allowed"),
        ("git@github.com:owner/repo.git", ALL_SCHEMES, "this form of URL are not allowed"),
        ("--upload-pack=touch /tmp/pwned", ALL_SCHEMES, "this form of URL are not allowed"),
        ("https:///repo.git", ALL_SCHEMES, "names no host"),
    ],
)
def test_schemes_not_allowed_are_refused(url: str, allowed: frozenset[str], message: str) -> None:
    with pytest.raises(PrepareFailed, match=message):
        GitSource.parse({"url": url}, allowed)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"subdir": "../other"}, "'subdir' must be a path inside the repository"),
        ({"subdir": "/etc"}, "'subdir' must be a path inside the repository"),
        ({"dockerfile": "a/../../Dockerfile"}, "'dockerfile' must be a path inside the repository"),
        ({"ref": "--upload-pack=x"}, "is not a valid branch, tag or commit name"),
        ({"ref": "main..other"}, "is not a valid branch"),
        ({"token": "t", "url": "git://example.com/r"}, "a token can only be used with https:// URLs"),
    ],
)
def test_bad_fields_are_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(PrepareFailed, match=message):
        GitSource.parse({"url": "https://example.com/r.git", **fields}, ALL_SCHEMES)


async def test_a_subdir_symlink_out_of_the_checkout_is_refused(tmp_path: Path, build_settings: BuildSettings) -> None:
    repo = make_repo(tmp_path / "linked", {"README.md": "x\n"})
    (repo.path / "escape").symlink_to("/etc")
    repo.commit({}, "a link out")
    with pytest.raises(PrepareFailed, match="subdir 'escape' leads outside the repository"):
        async with checkout(source(repo.url, subdir="escape"), build_settings, Lines()):
            pass


async def test_a_checkout_larger_than_the_limit(tmp_path: Path, build_settings: BuildSettings) -> None:
    repo = make_repo(tmp_path / "big", {"blob.bin": os.urandom(3 * 1024 * 1024)})
    settings = build_settings.model_copy(update={"max_checkout_mib": 1})
    with pytest.raises(PrepareFailed, match="is larger than 1 MiB checked out"):
        async with checkout(source(repo.url), settings, Lines()):
            pass


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    listener.close()
    for connection in accepted:
        connection.close()


async def test_a_clone_that_hangs_times_out(
    silent_server: int, build_settings: BuildSettings, workspaces: Path
) -> None:
    settings = build_settings.model_copy(update={"clone_timeout_seconds": 1.5})
    with pytest.raises(PrepareFailed, match=r"cloning git://127\.0\.0\.1:\d+/r timed out after 1.5 s"):
        async with checkout(source(f"git://127.0.0.1:{silent_server}/r"), settings, Lines()):
            pass
    assert list(workspaces.iterdir()) == []


@pytest.fixture
def recorded_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``git`` first on PATH that records its argument lists, then runs the real one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "git-argv.log"
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {record}\nexec /usr/bin/git "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return record


TOKEN = "ghp_s3cr3tTOKENvalue0123456789"


async def test_a_private_repository_over_http_with_a_token(
    repo: Repo, build_settings: BuildSettings, recorded_git: Path
) -> None:
    with http_git(repo.path.parent, "x-access-token", TOKEN) as server:
        progress = Lines()
        async with checkout(source(f"{server.url}/project", token=TOKEN), build_settings, progress) as done:
            assert done.commit == repo.git("rev-parse", "main")
            assert TOKEN not in (done.root / ".git" / "config").read_text()
    assert any(header.startswith("Basic ") for header in server.seen)
    argv = recorded_git.read_text()
    assert "clone" in argv
    assert TOKEN not in argv
    assert TOKEN not in progress.text


async def test_a_wrong_token_or_none(repo: Repo, build_settings: BuildSettings, recorded_git: Path) -> None:
    wrong = "ghp_WRONGtoken9876543210"
    with http_git(repo.path.parent, "x-access-token", TOKEN) as server:
        progress = Lines()
        with pytest.raises(PrepareFailed, match=r"authentication failed for .*: the token was refused") as refused:
            async with checkout(source(f"{server.url}/project", token=wrong), build_settings, progress):
                pass
        assert wrong not in str(refused.value)
        assert wrong not in progress.text
        assert wrong not in recorded_git.read_text()
        with pytest.raises(PrepareFailed, match=r"it needs credentials .* give the source a token"):
            async with checkout(source(f"{server.url}/project"), build_settings, Lines()):
                pass


async def test_a_password_in_the_url_is_never_shown(repo: Repo, build_settings: BuildSettings) -> None:
    with http_git(repo.path.parent, "someone", "hunter2-password") as server:
        url = server.url.replace("http://", "http://someone:wrong-password@") + "/project"
        progress = Lines()
        with pytest.raises(PrepareFailed, match="authentication failed") as refused:
            async with checkout(source(url), build_settings, progress):
                pass
    assert "wrong-password" not in str(refused.value)
    assert "wrong-password" not in progress.text
