"""MCP client operations over a connection: the initialize handshake, listing what a server offers (following
pagination to the end), ping and tool calls. Capability sync and health checks are built on this.

Answers stay plain dicts as the server sent them (tools, resources, prompts are stored and relayed, not interpreted);
only what the session itself relies on is checked, with errors that say what the server did wrong.
"""

# ruff: noqa: ASYNC109 -- timeouts are per request and passed down to the connection, which cancels on expiry.
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final, Protocol

from mcphost import __version__

__all__ = [
    "LATEST_PROTOCOL_VERSION",
    "SUPPORTED_PROTOCOL_VERSIONS",
    "Connection",
    "McpSession",
    "ProtocolError",
    "ServerManifest",
    "UnsupportedProtocolVersion",
]

#: The protocol versions of the initialize era, newest first.
SUPPORTED_PROTOCOL_VERSIONS: Final = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
LATEST_PROTOCOL_VERSION: Final = SUPPORTED_PROTOCOL_VERSIONS[0]
#: A list longer than this many pages is treated as a server bug (a cursor that never ends).
MAX_PAGES: Final = 1000


class ProtocolError(Exception):
    """The server answered in a way MCP does not allow (a malformed initialize reply, endless pagination…)."""


class UnsupportedProtocolVersion(ProtocolError):
    """The server chose a protocol version this client does not speak. Per the spec the client should disconnect."""


class Connection(Protocol):
    """What a session needs from a transport (``StdioConnection`` is one)."""

    async def request(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None
    ) -> dict[str, Any]: ...

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class ServerManifest:
    """Who the server is and what it declared, from its initialize reply."""

    name: str
    version: str
    protocol_version: str
    capabilities: dict[str, Any]
    instructions: str | None
    #: The whole ``serverInfo`` (title, icons, websiteUrl… when the server sends them).
    server_info: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """In the wire format's own names, for storing and showing."""
        return {
            "serverInfo": self.server_info,
            "protocolVersion": self.protocol_version,
            "capabilities": self.capabilities,
            "instructions": self.instructions,
        }


class McpSession:
    """The client side of one MCP session. Call ``initialize`` first; every other operation needs it, except
    ``ping``. ``timeout`` arguments are seconds, and ``None`` means the session's default."""

    def __init__(self, connection: Connection, *, timeout: float = 30.0, max_pages: int = MAX_PAGES) -> None:
        self.connection = connection
        self.timeout = timeout
        self.max_pages = max_pages
        self.manifest: ServerManifest | None = None

    async def initialize(
        self,
        client_info: dict[str, Any] | None = None,
        protocol_version: str = LATEST_PROTOCOL_VERSION,
        capabilities: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> ServerManifest:
        """The handshake: ``initialize`` with the version we ask for, check the reply, ``notifications/initialized``.

        The server may answer with another version (the negotiated one); if it is not one we support this raises
        ``UnsupportedProtocolVersion`` and sends nothing more: closing the connection is up to the caller."""
        if protocol_version not in SUPPORTED_PROTOCOL_VERSIONS:
            raise ValueError(f"unsupported protocol version {protocol_version!r}")
        params = {
            "protocolVersion": protocol_version,
            "capabilities": capabilities or {},
            "clientInfo": client_info or {"name": "mcphost", "version": __version__},
        }
        result = await self.connection.request("initialize", params, timeout=self._timeout(timeout))
        manifest = _manifest(result)
        await self.connection.notify("notifications/initialized")
        self.manifest = manifest
        return manifest

    async def ping(self, timeout: float | None = None) -> float:
        """Check the server answers; the round trip in seconds. Raises ``TimeoutError``, ``ConnectionClosed``."""
        started = time.perf_counter()
        await self.connection.request("ping", timeout=self._timeout(timeout))
        return time.perf_counter() - started

    async def call_tool(
        self, name: str, arguments: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Call a tool; the result as the server sent it (a failing tool answers ``isError: true``, an unknown one
        raises ``JsonRpcError``)."""
        self._require_manifest()
        params = {"name": name, "arguments": arguments or {}}
        return await self.connection.request("tools/call", params, timeout=self._timeout(timeout))

    async def list_tools(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        return await self._list("tools/list", "tools", "tools", timeout)

    async def list_resources(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        return await self._list("resources/list", "resources", "resources", timeout)

    async def list_resource_templates(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        return await self._list("resources/templates/list", "resourceTemplates", "resources", timeout)

    async def list_prompts(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        return await self._list("prompts/list", "prompts", "prompts", timeout)

    async def capabilities(self, *, timeout: float | None = None) -> dict[str, list[dict[str, Any]]]:
        """Everything the server offers, for capability sync: ``tools``, ``resources``, ``resource_templates`` and
        ``prompts`` (empty for what it does not declare)."""
        return {
            "tools": await self.list_tools(timeout=timeout),
            "resources": await self.list_resources(timeout=timeout),
            "resource_templates": await self.list_resource_templates(timeout=timeout),
            "prompts": await self.list_prompts(timeout=timeout),
        }

    async def _list(self, method: str, key: str, capability: str, timeout: float | None) -> list[dict[str, Any]]:
        """All pages of a list, or [] without asking when the server did not declare the capability."""
        if capability not in self._require_manifest().capabilities:
            return []
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(self.max_pages):
            params = None if cursor is None else {"cursor": cursor}
            result = await self.connection.request(method, params, timeout=self._timeout(timeout))
            page = result.get(key)
            if not isinstance(page, list) or not all(isinstance(item, dict) for item in page):
                raise ProtocolError(f"{method}: the answer has no list of objects in {key!r}")
            items.extend(page)
            cursor = result.get("nextCursor")
            if cursor is None or cursor == "":
                return items
            if not isinstance(cursor, str):
                raise ProtocolError(f"{method}: nextCursor is not a string: {cursor!r:.100}")
            if cursor in seen:
                raise ProtocolError(f"{method}: the server sent the cursor {cursor!r:.100} twice; the list never ends")
            seen.add(cursor)
        raise ProtocolError(f"{method}: more than {self.max_pages} pages; giving up")

    def _require_manifest(self) -> ServerManifest:
        if self.manifest is None:
            raise RuntimeError("McpSession.initialize() must succeed first")
        return self.manifest

    def _timeout(self, timeout: float | None) -> float:
        return self.timeout if timeout is None else timeout


def _manifest(result: dict[str, Any]) -> ServerManifest:
    """Check an initialize reply: strict on what we rely on, lenient where servers are commonly sloppy."""
    version = result.get("protocolVersion")
    if version not in SUPPORTED_PROTOCOL_VERSIONS:
        supported = ", ".join(reversed(SUPPORTED_PROTOCOL_VERSIONS))
        raise UnsupportedProtocolVersion(
            f"the server chose protocol version {version!r:.40}; MCP Host supports {supported}"
        )
    capabilities = result.get("capabilities", {})
    if not isinstance(capabilities, dict):
        raise ProtocolError(f"initialize: capabilities is not an object: {capabilities!r:.100}")
    server_info = result.get("serverInfo")
    if not isinstance(server_info, dict) or not isinstance(server_info.get("name"), str):
        raise ProtocolError(f"initialize: serverInfo has no name: {server_info!r:.100}")
    server_version = server_info.get("version")
    instructions = result.get("instructions")
    return ServerManifest(
        name=server_info["name"],
        version=server_version if isinstance(server_version, str) else "",
        protocol_version=version,
        capabilities=capabilities,
        instructions=instructions if isinstance(instructions, str) else None,
        server_info=server_info,
    )
