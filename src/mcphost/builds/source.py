"""The ``git`` source of a server as the builds read it, validated before anything runs.

``{"type": "git", "url", "ref", "subdir", "dockerfile", "token", "refresh", "port", "transport", "command"}``: only
``url`` is required. ``ref`` is a branch, a tag or a full commit sha (default: the remote's HEAD). ``subdir`` is the
build context inside the repository, ``dockerfile`` a path relative to it. ``token`` (plain text here: the lifecycle
decrypts the stored secret) authenticates an HTTPS clone and never appears in an argument list, URL or log line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mcphost.runtimes.base import PrepareFailed

__all__ = ["ALWAYS_ALLOWED_SCHEMES", "GitSource", "Redactor", "display_url"]

ALWAYS_ALLOWED_SCHEMES = frozenset({"https"})
_FULL_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
# What git accepts as a ref name, minus what could read as an option or a revision expression.
_BAD_REF = re.compile(r"(^-)|(\.\.)|[\x00-\x20\x7f~^:?*\[\\]|(@\{)|(^/)|(/$)|(\.lock$)|(//)")


@dataclass(frozen=True)
class GitSource:
    url: str
    scheme: str
    ref: str | None = None
    #: A full commit to build instead of the ref's head (a rollback pins the commit its revision built).
    commit: str | None = None
    subdir: str | None = None
    dockerfile: str | None = None
    token: str | None = None
    token_username: str = "x-access-token"  # noqa: S105 (GitHub's user name for tokens)
    #: How to build: without the layer cache (and not reusing an image of the same commit), pulling base images.
    no_cache: bool = False
    pull: bool = False
    port: int | None = None
    transport: str | None = None
    command: tuple[str, ...] = ()

    @property
    def ref_is_commit(self) -> bool:
        return self.ref is not None and _FULL_SHA.match(self.ref) is not None

    @property
    def wanted_commit(self) -> str | None:
        """The commit to build when one is named (``commit``, or a ``ref`` that is a full sha), else None: the
        head of the ref."""
        return self.commit or (self.ref if self.ref_is_commit else None)

    @property
    def repository_name(self) -> str:
        """The last part of the URL without ``.git``: the default image name."""
        path = urlsplit(self.url).path.rstrip("/")
        name = path.rsplit("/", 1)[-1].removesuffix(".git")
        return name or "repository"

    @classmethod
    def parse(cls, source: Mapping[str, Any], allowed_schemes: frozenset[str]) -> GitSource:
        """Validate a source; ``PrepareFailed`` says what is wrong with it."""
        url = source.get("url")
        if not isinstance(url, str) or not url.strip():
            raise PrepareFailed("a git source needs a 'url'")
        url = url.strip()
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in url):
            raise PrepareFailed("the git URL has control characters in it")
        try:
            parts = urlsplit(url)
            host, scheme, _ = parts.hostname, (parts.scheme.lower() if "://" in url else ""), parts.port
        except ValueError as exc:  # characters a URL cannot hold, a port that is not a number...
            raise PrepareFailed(f"the git URL is not a valid URL ({exc})") from None
        allowed = ALWAYS_ALLOWED_SCHEMES | allowed_schemes
        if scheme not in allowed:
            shown = scheme + "://" if scheme else "this form of URL"
            raise PrepareFailed(
                f"git URLs with {shown} are not allowed here; use one of: "
                + ", ".join(f"{name}://" for name in sorted(allowed))
                + " (the builds.allow_git_schemes setting allows http, git and file)"
            )
        if scheme != "file" and not host:
            raise PrepareFailed(f"the git URL {display_url(url)} names no host")
        ref = _optional_str(source, "ref")
        if ref is not None and _BAD_REF.search(ref):
            raise PrepareFailed(f"{ref!r} is not a valid branch, tag or commit name")
        commit = _optional_str(source, "commit")
        if commit is not None and not _FULL_SHA.match(commit):
            raise PrepareFailed(f"'commit' must be a full 40-character commit sha, not {commit!r}")
        token = _optional_str(source, "token")
        if token is not None and scheme not in ("https", "http"):
            raise PrepareFailed(f"a token can only be used with https:// URLs, not {scheme}://")
        port = source.get("port")
        if port is not None and (not isinstance(port, int) or not 1 <= port <= 65535):
            raise PrepareFailed(f"'port' must be a TCP port number, not {port!r}")
        command = source.get("command") or ()
        if isinstance(command, str) or not all(isinstance(part, str) for part in command):
            raise PrepareFailed("'command' must be a list of strings")
        return cls(
            url=url,
            scheme=scheme,
            ref=ref,
            commit=commit,
            subdir=_relative_path(source, "subdir"),
            dockerfile=_relative_path(source, "dockerfile"),
            token=token,
            token_username=_optional_str(source, "username") or "x-access-token",
            no_cache=source.get("no_cache") is True,
            pull=source.get("pull") is True,
            port=port,
            transport=_optional_str(source, "transport"),
            command=tuple(command),
        )

    @property
    def secrets(self) -> list[str]:
        """What must never be shown: the token, a password written into the URL."""
        found = [self.token] if self.token else []
        if "://" in self.url and (password := urlsplit(self.url).password):
            found.append(password)
        return found


class Redactor:
    """Replaces secrets (a token, a URL's password) in text that leaves this module: messages, log lines."""

    def __init__(self, secrets: list[str]) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def display_url(url: str) -> str:
    """The URL without credentials, as it may be shown."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _optional_str(source: Mapping[str, Any], key: str) -> str | None:
    value = source.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PrepareFailed(f"'{key}' must be a string")
    return value.strip() or None


def _relative_path(source: Mapping[str, Any], key: str) -> str | None:
    """A path inside the repository: relative, without ``..`` (symlinks are checked once it is checked out)."""
    value = _optional_str(source, key)
    if value is None:
        return None
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or "\\" in value:
        raise PrepareFailed(f"'{key}' must be a path inside the repository, not {value!r}")
    normal = path.as_posix()
    return None if normal == "." else normal
