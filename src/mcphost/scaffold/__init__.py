"""Project templates for ``mcphost create``: a new MCP server in Python or TypeScript, with an example tool,
a ``server.json`` in the official registry format, tests and a README that shows how to deploy it.

Templates are Python strings (so they ship in the wheel without package-data settings); ``render`` fills in
the names and returns the files as ``{relative path: text}``.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass
from typing import Final, Literal

from mcphost.catalog.server_json import SCHEMA_URL
from mcphost.scaffold import python, typescript

__all__ = ["LANGUAGES", "Names", "names_for", "render"]

Language = Literal["python", "typescript"]
LANGUAGES: Final[tuple[Language, ...]] = ("python", "typescript")
VERSION: Final = "0.1.0"
DEFAULT_NAMESPACE: Final = "io.github.example"


@dataclass(frozen=True)
class Names:
    """The names a project derives from what the user typed."""

    display: str  # as typed, for titles
    dist: str  # the package (PyPI / npm) and server name: lowercase words joined by hyphens
    module: str  # the Python import name: lowercase words joined by underscores
    registry: str  # the registry name, NAMESPACE/DIST


def names_for(name: str, namespace: str = DEFAULT_NAMESPACE) -> Names:
    """Sanitise ``name`` into valid package names; raises ``ValueError`` if nothing usable is left."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    if not words:
        raise ValueError(f"{name!r} has no letters or digits to make a package name from")
    dist = "-".join(words)[:100].strip("-")
    module = "_".join(words)[:100].strip("_")
    if module[0].isdigit() or keyword.iskeyword(module):
        module = f"mcp_{module}"
        dist = f"mcp-{dist}" if dist[0].isdigit() else dist
    if not re.fullmatch(r"[a-zA-Z0-9.-]+", namespace):
        raise ValueError(f"namespace {namespace!r} may hold only letters, digits, dots and hyphens")
    return Names(display=name.strip() or dist, dist=dist, module=module, registry=f"{namespace}/{dist}")


def server_json(names: Names, registry_type: str) -> str:
    document = {
        "$schema": SCHEMA_URL,
        "name": names.registry,
        "title": names.display[:100],
        "description": f"{names.display} MCP server"[:100],
        "version": VERSION,
        "packages": [
            {
                "registryType": registry_type,
                "identifier": names.dist,
                "version": VERSION,
                "transport": {"type": "stdio"},
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def render(names: Names, language: Language) -> dict[str, str]:
    """The files of a new project, by path relative to its directory."""
    if language == "python":
        files = python.files(names, VERSION)
        files["server.json"] = server_json(names, "pypi")
    else:
        files = typescript.files(names, VERSION)
        files["server.json"] = server_json(names, "npm")
    return files
