"""Shallow git checkouts into a temporary workspace that is always removed.

``git`` runs from argument lists (never a shell), with a clean environment: no user or system git configuration, no
credential helpers, no terminal prompt, only the allowed protocols (``GIT_ALLOW_PROTOCOL``). A token reaches git as an
``http.<origin>.extraHeader`` through ``GIT_CONFIG_*`` environment variables: it is not in the argument list (which
every user of the machine can read), not in the URL and redacted from every message. A checkout that takes too long
or grows beyond the size limit is killed.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mcphost.builds.fs import inside, tree_size
from mcphost.builds.source import GitSource, Redactor, display_url
from mcphost.runtimes.base import PrepareFailed, Progress
from mcphost.settings import BuildSettings

__all__ = ["Checkout", "checkout"]

#: Variables of the platform's environment that git may need (proxies, CA bundles); nothing else is passed on.
_PASSED_ON = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
              "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO", "TMPDIR")  # fmt: skip
_SIZE_CHECK_SECONDS = 0.5
_SHORT_SHA = re.compile(r"^[0-9a-f]{7,39}$")


@dataclass(frozen=True)
class Checkout:
    """A checked-out commit. ``context`` is the build context (``subdir`` resolved); ``workspace`` is the temporary
    directory holding the checkout, where a build may keep files beside it."""

    root: Path
    context: Path
    commit: str
    subject: str
    workspace: Path


@asynccontextmanager
async def checkout(source: GitSource, settings: BuildSettings, progress: Progress) -> AsyncIterator[Checkout]:
    """Check ``source`` out (shallow) into a temporary workspace, removed when the block ends however it ends."""
    if settings.workspace_dir is not None:
        settings.workspace_dir.mkdir(parents=True, exist_ok=True)
    workspace = Path(tempfile.mkdtemp(prefix="mcphost-checkout-", dir=settings.workspace_dir))
    try:
        git = _Git(source, settings, workspace)
        yield await git.checkout(progress)
    finally:
        await progress("Cleaning up")
        await asyncio.to_thread(shutil.rmtree, workspace, True)


class _Git:
    def __init__(self, source: GitSource, settings: BuildSettings, workspace: Path) -> None:
        self.source = source
        self.workspace = workspace
        self.root = workspace / "checkout"
        self.url = display_url(source.url)
        self.limit = settings.max_checkout_mib * 1024 * 1024
        self.deadline = time.monotonic() + settings.clone_timeout_seconds
        self.timeout = settings.clone_timeout_seconds
        allowed = sorted({"https", *settings.allow_git_schemes})
        self.env, secrets = _environment(source, workspace, allowed)
        self.redact = Redactor([*secrets, *source.secrets])

    async def checkout(self, progress: Progress) -> Checkout:
        source = self.source
        wanted = source.wanted_commit
        named = source.ref or "its default branch"
        pinned = f"commit {source.commit[:12]} of {named}" if source.commit else named
        await progress(f"Cloning {self.url} ({pinned})")
        if wanted is not None:
            await self.run("init", "--quiet", "--template=", str(self.root))
            await self.run("-C", str(self.root), "remote", "add", "origin", source.url)
            await self.run("-C", str(self.root), "fetch", "--quiet", "--depth", "1", "--no-tags", "origin", wanted)
            await self.run("-C", str(self.root), "checkout", "--quiet", "--detach", "FETCH_HEAD")
        else:
            branch = ("--branch", source.ref) if source.ref else ()
            await self.run("clone", "--quiet", "--depth", "1", "--single-branch", "--no-tags", "--template=",
                           *branch, "--", source.url, str(self.root))  # fmt: skip
        commit = (await self.run("-C", str(self.root), "rev-parse", "HEAD")).strip()
        subject = (await self.run("-C", str(self.root), "log", "-1", "--format=%s")).strip()
        size = await asyncio.to_thread(tree_size, self.root)
        if size > self.limit:
            raise PrepareFailed(self._too_large())
        await progress(f"Checked out {commit[:12]} ({self.redact(subject)[:120]}), {size / 1_048_576:.1f} MiB")
        root = self.root.resolve()
        context = root
        if source.subdir:
            context = inside(root, source.subdir, "subdir")
            if not context.is_dir():
                raise PrepareFailed(f"subdir {source.subdir!r} is not a directory of {self.url} at {commit[:12]}")
        return Checkout(root=root, context=context, commit=commit, subject=subject, workspace=self.workspace)

    async def run(self, *args: str) -> str:
        """Run git; its output, or ``PrepareFailed`` saying why it failed (with every secret redacted)."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise PrepareFailed(self._timed_out())
        process = await asyncio.create_subprocess_exec(
            "git", *args, cwd=self.workspace, env=self.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        talk = asyncio.ensure_future(process.communicate())
        watch = asyncio.ensure_future(self._outgrown())
        try:
            done, _ = await asyncio.wait({talk, watch}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            if not talk.done():
                _kill_group(process.pid)
                await talk
        if talk not in done:
            raise PrepareFailed(self._too_large() if watch in done else self._timed_out())
        stdout, stderr = talk.result()
        if process.returncode != 0:
            raise PrepareFailed(self._explain(self.redact(stderr.decode(errors="replace"))))
        return stdout.decode(errors="replace")

    async def _outgrown(self) -> None:
        """Returns once the workspace is larger than the limit."""
        # Polling: the file system offers nothing to wait on.
        while await asyncio.to_thread(tree_size, self.workspace, self.limit) <= self.limit:  # noqa: ASYNC110
            await asyncio.sleep(_SIZE_CHECK_SECONDS)

    def _timed_out(self) -> str:
        return f"cloning {self.url} timed out after {self.timeout:g} s (builds.clone_timeout_seconds)"

    def _too_large(self) -> str:
        return f"{self.url} is larger than {self.limit // 1_048_576} MiB checked out (builds.max_checkout_mib)"

    def _explain(self, stderr: str) -> str:
        """A sentence for a failed git command, from its (English) error output."""
        text = stderr.lower()
        ref = self.source.wanted_commit or self.source.ref
        if any(sign in text for sign in _AUTH_FAILED):
            if self.source.token:
                return f"authentication failed for {self.url}: the token was refused"
            return (
                f"authentication failed for {self.url}: it needs credentials (a private repository, or one that "
                "does not exist); give the source a token"
            )
        if any(sign in text for sign in _NO_REPOSITORY):
            return f"the repository {self.url} does not exist (or this host may not read it)"
        if ref and any(sign in text for sign in _NO_REF):
            kind = "commit" if self.source.wanted_commit else "branch or tag"
            hint = " (to build a commit, give its full 40-character sha)" if _SHORT_SHA.match(ref) else ""
            return f"the {kind} {ref!r} does not exist in {self.url}{hint}"
        if any(sign in text for sign in _UNREACHABLE):
            return f"could not reach {self.url}: {_last_line(stderr)}"
        return f"git failed for {self.url}: {_last_line(stderr)}"


_AUTH_FAILED = (
    "authentication failed", "could not read username", "could not read password", "terminal prompts disabled",
    "http basic: access denied", "returned error: 401", "returned error: 403", "invalid username or password",
)  # fmt: skip
_NO_REPOSITORY = (
    "repository not found", "does not appear to be a git repository", "not exported", "returned error: 404",
    "no such repository",
)  # fmt: skip
_NO_REF = ("not found in upstream", "couldn't find remote ref", "not our ref", "unadvertised object", "no such ref")
_UNREACHABLE = (
    "could not resolve host", "connection refused", "failed to connect", "timed out", "unable to connect",
    "network is unreachable", "unable to look up", "ssl", "certificate",
)  # fmt: skip


def _environment(source: GitSource, workspace: Path, allowed: list[str]) -> tuple[dict[str, str], list[str]]:
    """The environment git runs with, and the secrets it holds (to redact)."""
    env = {name: os.environ[name] for name in _PASSED_ON if name in os.environ}
    home = workspace / "home"
    home.mkdir()
    env.update(
        PATH=os.environ.get("PATH", os.defpath),
        HOME=str(home),
        LC_ALL="C",
        LANGUAGE="C",
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="",  # empty: no askpass program, not even core.askPass or SSH_ASKPASS
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_ALLOW_PROTOCOL=":".join(allowed),
        GIT_LFS_SKIP_SMUDGE="1",
    )
    secrets: list[str] = []
    if source.token:
        parts = urlsplit(source.url)
        origin = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "") + "/"
        basic = base64.b64encode(f"{source.token_username}:{source.token}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0=f"http.{origin}.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
        )
        secrets += [source.token, basic]
    return env, secrets


def _kill_group(pid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1].removeprefix("fatal: ") if lines else "no error output"
