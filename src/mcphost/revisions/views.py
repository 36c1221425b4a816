"""How a revision's resolved facts are put in words, for the console and the command line (no imports: the CLI
loads it on its quick path)."""

from __future__ import annotations

from typing import Any

#: Facts that tell one deploy of a source from another, in the order they are shown.
DISTINGUISHING = ("version", "digest", "image_digest", "commit")


def describe_resolved(resolved: dict[str, Any] | None) -> str:
    """The version, digest or commit a runtime resolved (or all it said, when it said none of those); "-" when
    nothing was resolved yet."""
    if not resolved:
        return "-"
    known = [str(resolved[key]) for key in DISTINGUISHING if resolved.get(key)]
    if known:
        return " ".join(known)
    return ", ".join(f"{key}={value}" for key, value in resolved.items())
