"""Project templates for ``mcphost create``: a new MCP server in Python or TypeScript, with an example tool,
a ``server.json`` in the official registry format, tests and a README that shows how to deploy it.

Templates are Python strings (so they ship in the wheel without package-data settings); ``render`` fills in
the names and returns the files as ``{relative path: text}``.
"""

from __future__ import annotations

import json
from typing import Final, Literal

from mcphost.catalog.server_json import SCHEMA_URL
from mcphost.scaffold import python, typescript
from mcphost.scaffold.names import Names, names_for

__all__ = ["LANGUAGES", "Names", "names_for", "render"]

Language = Literal["python", "typescript"]
LANGUAGES: Final[tuple[Language, ...]] = ("python", "typescript")
VERSION: Final = "0.1.0"


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
