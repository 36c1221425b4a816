"""``mcphost connect SERVER``: a local stdio MCP server that relays to a hosted server's endpoint, so that clients
which only start stdio servers (Claude Desktop, many others) can use servers hosted on MCP Host.

The endpoint takes an access key of the server, not a login session: the key is ``--key``, else ``$MCPHOST_KEY``,
else one created once through the API and kept in ``keys.json`` next to the credentials file (``kept_keys``). Standard
output carries MCP messages only; everything else goes to standard error.
"""

from __future__ import annotations

import os
import sys
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import UrlOption, fail, run_api

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

KEY_ENV = "MCPHOST_KEY"
KEY_NAME = "mcphost connect"


def connect(
    server: Annotated[
        str,
        typer.Argument(help="The server: its slug (or, when logged in, its id or name).", show_default=False),
    ],
    key: Annotated[
        str | None,
        typer.Option(
            "--key", help=f"An access key of the server (default: ${KEY_ENV}, else a kept one).", show_default=False
        ),
    ] = None,
    url: UrlOption = None,
) -> None:
    """Serve a hosted MCP server over stdio on this machine (for clients that only start local servers)."""
    from mcphost.cli import credentials

    base_url = credentials.chosen_url(url)
    key = key or os.environ.get(KEY_ENV) or None
    slug = server
    if key is None:
        slug, key = _kept_key(base_url, server, url)
    elif _is_uuid(server):

        async def find(api: MCPHostClient) -> dict[str, Any]:
            return await api.resolve_server(server)

        slug = str(run_api(find, url)["slug"])
    _log(f"relaying stdio to {base_url}/mcp/{slug}")
    _serve(f"{base_url}/mcp/{slug}", key)


def _serve(endpoint: str, key: str) -> None:
    import asyncio

    from mcphost.client.bridge import Bridge

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    def write_line(line: bytes) -> None:
        stdout.write(line + b"\n")
        stdout.flush()

    async def read_line() -> bytes:
        return await asyncio.to_thread(stdin.readline)

    bridge = Bridge(endpoint, key, read_line=read_line, write_line=write_line, log=_log)
    try:
        asyncio.run(bridge.run())
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # the client went away
        pass


def _log(message: str) -> None:
    print(f"mcphost connect: {message}", file=sys.stderr, flush=True)


# -- the kept key ------------------------------------------------------------------------------------------


def _kept_key(base_url: str, server: str, url: str | None) -> tuple[str, str]:
    """The slug of ``server`` and the key kept for it, creating (and keeping) one through the API the first time."""
    from mcphost.cli import credentials, kept_keys

    kept = kept_keys.find(base_url, server)
    if kept is not None:
        return kept.slug, kept.key

    async def create(api: MCPHostClient) -> tuple[dict[str, Any], dict[str, Any]]:
        found = await api.resolve_server(server)
        created = await api.create_key(found["id"], KEY_NAME)
        return found, created

    if credentials.current(url)[1] is None:
        fail(f"no access key for {server}: pass --key, set {KEY_ENV}, or run `mcphost login` to have one created")
    found, created = run_api(create, url)
    slug = str(found["slug"])
    where = kept_keys.keep(base_url, slug, str(found["id"]), str(created["key"]), created.get("id"))
    _log(f"created the access key {KEY_NAME!r} for {slug}; kept in {where}")
    return slug, str(created["key"])


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
