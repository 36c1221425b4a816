"""The stateless protocol era (2026-07-28) in front of servers that speak the session era.

Each request stands alone: ``MCP-Protocol-Version: 2026-07-28``, no ``Mcp-Session-Id``, the client's version, info
and capabilities in ``params._meta``, and the method (and tool, prompt or resource) repeated in the ``Mcp-Method``
and ``Mcp-Name`` headers, which must match the body. The gateway checks all of that, answers ``server/discover``
itself from the server's manifest, relays the rest over the upstream session it already holds (with the new
``_meta`` keys removed), and adds the caching hints the new era requires to list and read results."""

from __future__ import annotations

from typing import Any, Final

from mcphost.gateway.input_required import MISSING_CAPABILITY
from mcphost.gateway.param_headers import HeaderMismatch, decode_header_value
from mcphost.mcp.jsonrpc import INVALID_PARAMS, METHOD_NOT_FOUND, JsonRpcError, Message
from mcphost.mcp.mux import LOG_LEVELS, NO_LOGS
from mcphost.mcp.session import SUPPORTED_PROTOCOL_VERSIONS

STATELESS_VERSION: Final = "2026-07-28"
ALL_VERSIONS: Final = (STATELESS_VERSION, *SUPPORTED_PROTOCOL_VERSIONS)
HEADER_MISMATCH: Final = -32020
UNSUPPORTED_VERSION: Final = -32022
META_PREFIX: Final = "io.modelcontextprotocol/"
META_VERSION: Final = META_PREFIX + "protocolVersion"
META_CAPABILITIES: Final = META_PREFIX + "clientCapabilities"
META_CLIENT_INFO: Final = META_PREFIX + "clientInfo"
META_LOG_LEVEL: Final = META_PREFIX + "logLevel"
#: Methods of the session era that the stateless era removed.
REMOVED: Final = frozenset({"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"})
#: The body parameter the ``Mcp-Name`` header repeats.
NAME_PARAM: Final = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
CACHEABLE: Final = frozenset(
    {"tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"}
)
#: The HTTP status of a JSON error answer, by JSON-RPC error code (200 for the others).
STATUSES: Final = {
    METHOD_NOT_FOUND: 404,
    HEADER_MISMATCH: 400,
    MISSING_CAPABILITY: 400,
    UNSUPPORTED_VERSION: 400,
}


class StatelessError(Exception):
    """A stateless request refused with an HTTP status and a JSON-RPC error."""

    def __init__(self, status: int, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = JsonRpcError(code, message, data)


def request_meta(message: Message) -> tuple[Any, dict[str, Any], dict[str, Any] | None]:
    """The protocol version, capabilities and info the client put in ``params._meta``; refuses requests without
    the version and capabilities."""
    params = message.get("params")
    meta = params.get("_meta") if type(params) is dict else None
    if type(meta) is not dict:
        raise StatelessError(400, INVALID_PARAMS, "params._meta with the version and capabilities is required.")
    missing = [key for key in (META_VERSION, META_CAPABILITIES) if key not in meta]
    if missing:
        raise StatelessError(400, INVALID_PARAMS, f"params._meta lacks {', '.join(missing)}.")
    capabilities = meta[META_CAPABILITIES]
    if type(capabilities) is not dict:
        raise StatelessError(400, INVALID_PARAMS, f"params._meta['{META_CAPABILITIES}'] must be an object.")
    info = meta.get(META_CLIENT_INFO)
    return meta[META_VERSION], capabilities, info if type(info) is dict else None


def check_headers(message: Message, version: Any, headers: dict[bytes, bytes]) -> None:
    """``MCP-Protocol-Version`` must equal the version in ``_meta``, ``Mcp-Method`` the body's method and
    ``Mcp-Name`` its name or URI (values compared without surrounding spaces; header names in any case)."""
    version_header = _value(headers.get(b"mcp-protocol-version"))
    if version_header is None or version_header != version:
        raise StatelessError(400, HEADER_MISMATCH, "The MCP-Protocol-Version header does not match params._meta.")
    method = message["method"]
    method_header = _value(headers.get(b"mcp-method"))
    if method_header is None:
        raise StatelessError(400, HEADER_MISMATCH, "The Mcp-Method header is required and must equal the method.")
    if method_header != method:
        raise StatelessError(400, HEADER_MISMATCH, f"The Mcp-Method header does not match the method {method!r}.")
    key = NAME_PARAM.get(method)
    params = message.get("params")
    value = params.get(key) if key is not None and type(params) is dict else None
    if value is None:
        return
    name_header = _value(headers.get(b"mcp-name"))
    if name_header is None:
        raise StatelessError(400, HEADER_MISMATCH, f"The Mcp-Name header is required for {method}.")
    try:
        name_header = decode_header_value(name_header)
    except HeaderMismatch as exc:
        raise StatelessError(400, HEADER_MISMATCH, f"The Mcp-Name header {exc}.") from None
    if name_header != value:
        raise StatelessError(400, HEADER_MISMATCH, f"The Mcp-Name header does not match the {key} of the request.")


def check_version(version: Any) -> None:
    if type(version) is not str:
        raise StatelessError(400, INVALID_PARAMS, f"params._meta['{META_VERSION}'] must be a string.")
    if version not in ALL_VERSIONS:
        data = {"supported": [STATELESS_VERSION], "requested": version}
        raise StatelessError(400, UNSUPPORTED_VERSION, "Unsupported protocol version", data)


def _value(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace").strip()


def log_floor(message: Message) -> int:
    """The least severe log level the request asked for (``io.modelcontextprotocol/logLevel``), as an index of
    ``LOG_LEVELS``; ``NO_LOGS`` when it asked for none."""
    params = message.get("params")
    meta = params.get("_meta") if type(params) is dict else None
    level = meta.get(META_LOG_LEVEL) if type(meta) is dict else None
    if level is None:
        return NO_LOGS
    if level not in LOG_LEVELS:
        levels = ", ".join(LOG_LEVELS)
        raise StatelessError(400, INVALID_PARAMS, f"params._meta['{META_LOG_LEVEL}'] must be one of {levels}.")
    return LOG_LEVELS.index(level)


def check_method(method: str) -> None:
    if method in REMOVED:
        raise StatelessError(404, METHOD_NOT_FOUND, f"{method} does not exist in protocol {STATELESS_VERSION}.")


def upstream_params(params: Any) -> Any:
    """The params without the new era's ``_meta`` keys (servers of the session era do not know them)."""
    if type(params) is not dict:
        return params
    meta = params.get("_meta")
    if type(meta) is not dict:
        return params
    kept = {key: value for key, value in meta.items() if not key.startswith(META_PREFIX)}
    stripped = {key: value for key, value in params.items() if key != "_meta"}
    if kept:
        stripped["_meta"] = kept
    return stripped


def as_stateless_result(method: str, result: dict[str, Any]) -> None:
    """A session-era result in the stateless era's shape: ``resultType`` is required, and list and read results
    carry caching hints (they are per client and may change at any time: nothing is cached unless the server
    says otherwise)."""
    result.setdefault("resultType", "complete")
    if method in CACHEABLE:
        result.setdefault("ttlMs", 0)
        result.setdefault("cacheScope", "private")


def discover(manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``server/discover`` result, from the server's initialize answer."""
    server_info = manifest.get("serverInfo") or {}
    result: dict[str, Any] = {
        "resultType": "complete",
        "ttlMs": 0,  # the server may change what it offers at any time (an upgrade, another instance)
        "cacheScope": "private",
        "supportedVersions": list(ALL_VERSIONS),
        "capabilities": manifest.get("capabilities") or {},
        "serverInfo": server_info,
        "_meta": {META_PREFIX + "serverInfo": server_info},
    }
    if manifest.get("instructions"):
        result["instructions"] = manifest["instructions"]
    return result
