"""What a definition is, for pinning: the fields of a tool, prompt, resource or resource template that tell a client
what it does, in canonical JSON (sorted keys, no insignificant whitespace), and the SHA-256 digest of that."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from mcphost.models import DefinitionKind

#: The fields that make up each kind's definition (anything else a server sends, such as ``_meta``, is not pinned).
FIELDS: Final = {
    DefinitionKind.TOOL: ("name", "title", "description", "inputSchema", "outputSchema", "annotations"),
    DefinitionKind.PROMPT: ("name", "title", "description", "arguments"),
    DefinitionKind.RESOURCE: ("uri", "name", "title", "description", "mimeType"),
    DefinitionKind.RESOURCE_TEMPLATE: ("uriTemplate", "name", "title", "description", "mimeType"),
}
#: Where each kind is listed in a server's synced capabilities, and the field that names an item.
LISTED_AS: Final = {
    DefinitionKind.TOOL: ("tools", "name"),
    DefinitionKind.PROMPT: ("prompts", "name"),
    DefinitionKind.RESOURCE: ("resources", "uri"),
    DefinitionKind.RESOURCE_TEMPLATE: ("resource_templates", "uriTemplate"),
}


def definition(kind: DefinitionKind, item: dict[str, Any]) -> dict[str, Any]:
    return {field: item[field] for field in FIELDS[kind] if item.get(field) is not None}


def digest(value: dict[str, Any]) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def declared(capabilities: dict[str, Any]) -> dict[tuple[DefinitionKind, str], dict[str, Any]]:
    """Every item the capabilities list, by (kind, name), as its definition."""
    found: dict[tuple[DefinitionKind, str], dict[str, Any]] = {}
    for kind, (listed, key) in LISTED_AS.items():
        for item in capabilities.get(listed) or []:
            if isinstance(item, dict) and isinstance(item.get(key), str):
                found[kind, item[key]] = definition(kind, item)
    return found


def differences(approved: dict[str, Any] | None, current: dict[str, Any] | None) -> list[str]:
    """The fields that differ, one ``- field: old`` / ``+ field: new`` pair each (a new item: ``+`` only)."""
    if approved is None:
        return ["new: never approved", *(f"+ {key}: {json.dumps(value)}" for key, value in (current or {}).items())]
    lines = []
    for key in sorted(set(approved) | set(current or {})):
        before, after = approved.get(key), (current or {}).get(key)
        if before != after:
            lines += [f"- {key}: {json.dumps(before)}", f"+ {key}: {json.dumps(after)}"]
    return lines
