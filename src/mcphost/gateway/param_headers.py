"""Tool parameters mirrored into HTTP headers (protocol 2026-07-28, ``x-mcp-header``).

A tool may mark parameters of its ``inputSchema`` with ``"x-mcp-header": "Region"``; clients then send the value
in ``Mcp-Param-Region`` too, so intermediaries can route on it without reading the body. The gateway reads the body,
so it must check the two agree: a marked value in the body needs its header, and a header must equal the body's
value (after decoding ``=?base64?…?=``; integers compared as numbers, booleans as ``true``/``false``). A mismatch is
400 with ``HeaderMismatch`` (-32020).

Which parameters are marked is learnt from the server's ``tools/list``, fetched once per upstream connection and
forgotten when the server says its tools changed (``UpstreamMux.tool_headers``).
"""

# ruff: noqa: ASYNC109 -- the timeout bounds the tools/list the gateway sends upstream itself.
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from mcphost.mcp.jsonrpc import JsonRpcError

if TYPE_CHECKING:
    from mcphost.mcp.mux import UpstreamMux

__all__ = [
    "HeaderMismatch",
    "HeaderParam",
    "check_param_headers",
    "decode_header_value",
    "header_params",
    "tool_headers",
]

SENTINEL_START: Final = "=?base64?"
SENTINEL_END: Final = "?="
_TOKEN: Final = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 tchar
_VALUE: Final = re.compile(r"^[\t\x20-\x7e]*$")  # visible ASCII, space and tab
_KINDS: Final = frozenset({"string", "integer", "boolean"})
_MAX_PAGES: Final = 20
_SAFE_INTEGER: Final = 2**53 - 1


class HeaderMismatch(ValueError):
    """A header that is missing, malformed, or does not match the body (the message says which)."""


@dataclass(frozen=True, slots=True)
class HeaderParam:
    """One marked parameter: where it is in the arguments, its header, and its type."""

    path: tuple[str, ...]
    name: str
    kind: str

    @property
    def header(self) -> bytes:
        return b"mcp-param-" + self.name.lower().encode()


def decode_header_value(raw: str) -> str:
    """A header value as the client meant it: ``=?base64?…?=`` decoded (strictly: alphabet and padding), anything
    else literal. ``HeaderMismatch`` for invalid characters or Base64."""
    if not _VALUE.match(raw):
        raise HeaderMismatch("contains characters a header value may not carry")
    sentinel = len(raw) >= len(SENTINEL_START) + len(SENTINEL_END)
    if sentinel and raw.startswith(SENTINEL_START) and raw.endswith(SENTINEL_END):
        encoded = raw[len(SENTINEL_START) : -len(SENTINEL_END)]
        try:
            return base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise HeaderMismatch("is not valid Base64 (=?base64?…?= needs the standard alphabet and padding)") from None
    return raw


def header_params(tool: Any) -> tuple[HeaderParam, ...]:
    """The marked parameters of a tool definition. Annotations the specification does not allow (not reachable
    through ``properties`` alone, not a string/integer/boolean, not a header token, repeated) are ignored."""
    schema = tool.get("inputSchema") if type(tool) is dict else None
    found: list[HeaderParam] = []
    seen: set[str] = set()

    def walk(node: Any, path: tuple[str, ...]) -> None:
        properties = node.get("properties") if type(node) is dict else None
        if type(properties) is not dict:
            return
        for key, sub in properties.items():
            if type(sub) is not dict:
                continue
            name = sub.get("x-mcp-header")
            if type(name) is str and _TOKEN.match(name) and sub.get("type") in _KINDS and name.lower() not in seen:
                seen.add(name.lower())
                found.append(HeaderParam((*path, key), name, sub["type"]))
            walk(sub, (*path, key))

    walk(schema, ())
    return tuple(found)


def _value_at(arguments: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if type(arguments) is not dict:
            return None
        arguments = arguments.get(key)
    return arguments


def _matches(param: HeaderParam, text: str, value: Any) -> bool:
    if param.kind == "boolean":
        return type(value) is bool and text == ("true" if value else "false")
    if param.kind == "integer":
        if type(value) not in (int, float) or abs(value) > _SAFE_INTEGER:
            return False
        try:
            number = float(text)
        except ValueError:
            return False
        return bool(number == value)
    return type(value) is str and text == value


def check_param_headers(params: tuple[HeaderParam, ...], arguments: Any, headers: dict[bytes, bytes]) -> None:
    """``HeaderMismatch`` unless every marked parameter's header agrees with the arguments."""
    for param in params:
        value = _value_at(arguments, param.path)
        raw = headers.get(param.header)
        label = f"Mcp-Param-{param.name}"
        where = ".".join(param.path)
        if raw is None:
            if value is None:
                continue
            raise HeaderMismatch(f"The {label} header is required: the arguments carry {where}.")
        try:
            text = decode_header_value(raw.decode("latin-1").strip(" \t"))
        except HeaderMismatch as exc:
            raise HeaderMismatch(f"The {label} header {exc}.") from None
        if value is None:
            raise HeaderMismatch(f"The {label} header is sent but the arguments carry no {where}.")
        if not _matches(param, text, value):
            raise HeaderMismatch(f"The {label} header does not match the value of {where} in the arguments.")


async def tool_headers(mux: UpstreamMux, timeout: float) -> dict[str, tuple[HeaderParam, ...]]:
    """The marked parameters of each tool of the server behind ``mux`` (tools without any are left out), from its
    ``tools/list`` (every page), kept on the mux until the server's tools change. Raises ``JsonRpcError``,
    ``TimeoutError`` or ``ConnectionClosed`` when the server cannot list them."""
    known: dict[str, tuple[HeaderParam, ...]] | None = mux.tool_headers
    if known is not None:
        return known
    generation = mux.tools_generation
    found: dict[str, tuple[HeaderParam, ...]] = {}
    cursor: Any = None
    for _ in range(_MAX_PAGES):
        answer = await mux.connection.roundtrip("tools/list", {"cursor": cursor} if cursor else None, timeout=timeout)
        result = answer.get("result")
        if type(result) is not dict:
            raise JsonRpcError.from_response(answer)
        for tool in result.get("tools") or ():
            marked = header_params(tool)
            if marked and type(tool.get("name")) is str:
                found[tool["name"]] = marked
        cursor = result.get("nextCursor")
        if not cursor:
            break
    if mux.tools_generation == generation:  # the tools did not change while they were listed
        mux.tool_headers = found
    return found
