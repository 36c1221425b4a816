"""A server's files through the API, streamed both ways (nothing is held in memory whole). Module-level functions
over an ``MCPHostClient``, like ``resources``; ``progress`` is called with the bytes moved so far.

    async with MCPHostClient(url, token) as api:
        await files.upload(api, server_id, Path("notes.txt"), "docs/notes.txt")
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import anyio
import httpx

from mcphost.client._client import _api_error, _reason
from mcphost.client._errors import ApiError, Unreachable

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

__all__ = ["delete", "download", "list_files", "upload"]
CHUNK = 256 * 1024
#: Uploads and downloads may take long; only silence counts.
TRANSFER_TIMEOUT = httpx.Timeout(10.0, read=300.0, write=300.0)
Progress = Callable[[int], None]


def _url(server_id: str, path: str) -> str:
    """``.`` and ``..`` are sent percent-encoded, as given: httpx would resolve them before the server could refuse."""
    path = path.strip("/")
    parts = [
        quote(part, safe="").replace(".", "%2E") if part in (".", "..") else quote(part, safe="")
        for part in path.split("/")
    ]
    return f"/api/servers/{server_id}/files" + (f"/{'/'.join(parts)}" if path else "")


def _headers(client: MCPHostClient, **extra: str) -> dict[str, str]:
    return ({"Authorization": f"Bearer {client.token}"} if client.token else {}) | extra


async def list_files(client: MCPHostClient, server_id: str, path: str = "") -> dict[str, Any]:
    """A directory's listing: ``{"path", "entries", "total", "truncated", "used_bytes", "quota_bytes"}``."""
    answer = await client.request("GET", _url(server_id, path))
    if not isinstance(answer, dict):
        raise ApiError(400, "not_a_directory", f"{path} is a file; download it with `mcphost servers files get`.")
    return answer


async def upload(
    client: MCPHostClient,
    server_id: str,
    local: Path,
    remote: str,
    *,
    overwrite: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Upload a local file to ``remote`` (a path in the server's /data); the stored file's entry."""
    size = (await anyio.Path(local).stat()).st_size

    async def body() -> AsyncIterator[bytes]:
        sent = 0
        async with await anyio.open_file(local, "rb") as handle:
            while chunk := await handle.read(CHUNK):
                sent += len(chunk)
                if progress is not None:
                    progress(sent)
                yield chunk

    headers = _headers(client, **{"Content-Length": str(size), "Content-Type": "application/octet-stream"})
    try:
        response = await client._http.put(
            _url(server_id, remote),
            content=body(),
            headers=headers,
            params={"overwrite": str(overwrite).lower()},
            timeout=TRANSFER_TIMEOUT,
        )
    except httpx.TimeoutException:
        raise Unreachable(client.base_url, "no answer in time") from None
    except httpx.TransportError as exc:
        raise Unreachable(client.base_url, _reason(exc)) from None
    if response.is_error:
        raise _api_error(response)
    return dict(response.json())


async def download(
    client: MCPHostClient,
    server_id: str,
    remote: str,
    local: Path,
    *,
    started: Callable[[int | None], None] | None = None,
    progress: Progress | None = None,
) -> int:
    """Download ``remote`` into ``local`` (written beside it and renamed once complete); the bytes written.
    ``started`` gets the size the server announced."""
    local.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{local.name}.", dir=local.parent)
    written = 0
    try:
        async with client._http.stream(
            "GET", _url(server_id, remote), headers=_headers(client), timeout=TRANSFER_TIMEOUT
        ) as response:
            if response.is_error:
                await response.aread()
                raise _api_error(response)
            if response.headers.get("content-type", "").startswith("application/json") and not response.headers.get(
                "content-disposition"
            ):
                raise ApiError(
                    400, "is_a_directory", f"{remote} is a directory; list it with `mcphost servers files ls`."
                )
            length = response.headers.get("content-length")
            if started is not None:
                started(int(length) if length and length.isdigit() else None)
            with os.fdopen(handle, "wb") as out:
                handle = -1
                async for chunk in response.aiter_bytes(CHUNK):
                    out.write(chunk)
                    written += len(chunk)
                    if progress is not None:
                        progress(written)
        os.replace(temp, local)
        return written
    except httpx.TimeoutException:
        raise Unreachable(client.base_url, "no answer in time") from None
    except httpx.TransportError as exc:
        raise Unreachable(client.base_url, _reason(exc)) from None
    finally:
        if handle >= 0:
            os.close(handle)
        with suppress(FileNotFoundError):
            os.unlink(temp)


async def delete(client: MCPHostClient, server_id: str, remote: str, *, recursive: bool = False) -> dict[str, Any]:
    """Delete a file, a link, or a directory (with its contents when ``recursive``)."""
    return dict(await client.request("DELETE", _url(server_id, remote), params={"recursive": str(recursive).lower()}))
