"""Typed client packages for a hosted server's tools (``mcphost sdk``): Python (httpx) and TypeScript (fetch).

Both speak MCP over Streamable HTTP to the server's gateway endpoint with an access key (a constructor argument,
else ``$MCPHOST_KEY``). The same tools give the same files, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """What a generated package is for."""

    server_name: str
    slug: str
    endpoint: str
    package_name: str
    tools: list[dict[str, Any]]


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (schemas from servers may be anything)."""
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str:
    """A description as clean text: stripped lines, no trailing spaces."""
    if not isinstance(value, str):
        return ""
    return "\n".join(line.rstrip() for line in value.strip().splitlines())
