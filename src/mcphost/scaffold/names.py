"""The names a new project derives from what the user typed (package, module and registry names).

Both language templates (``python.py``, ``typescript.py``) fill them in; ``names_for`` makes them valid."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_NAMESPACE", "Names", "names_for"]

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
