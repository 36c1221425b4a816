"""Reading an ingestion job's sources into documents: a server's files (its data directory), the files uploaded with
the job, a git repository (a shallow checkout, as builds make them: no shell, no credential helpers) and URLs on the
allow-list (each address checked, also after a redirect). Each document is at most ``max_document_bytes``; a source
that cannot be read at all yields one failed document saying why."""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from mcphost.builds.checkout import checkout
from mcphost.builds.source import GitSource
from mcphost.ingestion.extract import SUPPORTED
from mcphost.runtimes.base import PrepareFailed
from mcphost.settings import Settings


@dataclass(frozen=True)
class Document:
    #: Stable identity of the document within the collection (its chunks' ids derive from it).
    key: str
    data: bytes = b""
    content_type: str | None = None
    error: str | None = None


def upload_dir(home: Path, job_id: object) -> Path:
    return home / "ingestion" / str(job_id) / "uploads"


def _files(root: Path, prefix: str, limit: int) -> AsyncIterator[Document]:
    """Regular files under ``root`` (no symbolic links followed, nothing hidden), supported types only."""

    async def walk() -> AsyncIterator[Document]:
        for current, dirs, names in os.walk(root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                path = Path(current) / name
                relative = path.relative_to(root).as_posix()
                if name.startswith(".") or path.suffix.lower() not in SUPPORTED or path.is_symlink():
                    continue
                if not path.is_file():
                    continue
                if path.stat().st_size > limit:
                    yield Document(prefix + relative, error=f"larger than the {limit} bytes a document may have")
                    continue
                yield Document(prefix + relative, await asyncio.to_thread(path.read_bytes))

    return walk()


async def server_files(root: Path, source: dict[str, Any], limit: int) -> AsyncIterator[Document]:
    # The folder must stay inside the data directory (no "..", no symbolic link out of it).
    folder = (root / source.get("path", "")).resolve() if source.get("path") else root
    if not folder.is_relative_to(root.resolve()) or not folder.is_dir():  # noqa: ASYNC240
        yield Document(f"server:{source.get('path', '')}", error="no such folder in the server's files")
        return
    prefix = f"server/{source['server_id']}/"
    async for document in _files(folder, prefix, limit):
        yield document


async def uploads(folder: Path, limit: int) -> AsyncIterator[Document]:
    async for document in _files(folder, "upload/", limit):
        yield document


async def git(source: dict[str, Any], settings: Settings, limit: int) -> AsyncIterator[Document]:
    try:
        parsed = GitSource.parse(
            {"url": source["url"], "ref": source.get("ref"), "subdir": source.get("subdir")},
            frozenset(settings.builds.allow_git_schemes),
        )
    except PrepareFailed as exc:
        yield Document(f"git:{source['url']}", error=str(exc))
        return

    async def quiet(_message: str) -> None:
        return None

    try:
        async with checkout(parsed, settings.builds, quiet) as tree:
            async for document in _files(tree.context, f"git/{_display(source['url'])}/", limit):
                yield document
    except PrepareFailed as exc:
        yield Document(f"git:{source['url']}", error=str(exc))


def _display(url: str) -> str:
    parts = urlsplit(url)
    return (parts.hostname or "local") + parts.path.rstrip("/").removesuffix(".git")


def host_allowed(host: str, allow_list: list[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(fnmatch.fnmatch(host, pattern.lower()) for pattern in allow_list)


async def _check_address(host: str, port: int, allow_private: bool) -> None:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ValueError(f"{host} does not resolve ({exc.strerror})") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not allow_private and not address.is_global:
            raise ValueError(
                f"{host} resolves to {address}, a loopback, private or reserved address, which URL sources may not "
                "reach (ingestion.allow_private_addresses)"
            )


async def url(source: dict[str, Any], settings: Settings) -> AsyncIterator[Document]:
    target = str(source["url"])
    try:
        data, content_type = await _download(target, settings)
    except (ValueError, httpx.HTTPError) as exc:
        yield Document(target, error=str(exc) or type(exc).__name__)
        return
    yield Document(target, data, content_type)


async def _download(target: str, settings: Settings) -> tuple[bytes, str | None]:
    config = settings.ingestion
    limit = config.max_document_bytes
    async with httpx.AsyncClient(follow_redirects=False, timeout=config.url_timeout_seconds, trust_env=False) as http:
        for _hop in range(config.max_redirects + 1):
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{target}: only http and https URLs can be ingested")
            if not host_allowed(parts.hostname, config.url_allow_list):
                raise ValueError(f"{parts.hostname} is not on the URL allow-list (ingestion.url_allow_list)")
            await _check_address(
                parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), config.allow_private_addresses
            )
            async with http.stream("GET", target) as response:
                if response.is_redirect:
                    target = urljoin(target, response.headers.get("location", ""))
                    continue
                if response.status_code >= 400:
                    raise ValueError(f"{target} answered {response.status_code}")
                body = bytearray()
                async for part in response.aiter_bytes():
                    body += part
                    if len(body) > limit:
                        raise ValueError(f"{target} is larger than the {limit} bytes a document may have")
                return bytes(body), response.headers.get("content-type")
    raise ValueError(f"more than {config.max_redirects} redirects")
