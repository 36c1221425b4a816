"""A server's lifecycle events (create, install, start, stop, crash, restart, error…) in words for the console.

An event's data is what the platform recorded (``{"exit_code": 1, "reason": …}``, an install's package
``details``); the console shows it as a short phrase ("pypi package mcp-server-time 2025.9.25 installed",
"exit code 1 · …"), never as a Python or JSON literal. Keys it does not know are shown as "key value".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

SOURCES = {
    "package": "a package",
    "catalog": "the catalog",
    "command": "a command",
    "image": "a container image",
    "git": "a git repository",
}


def _seconds(value: Any) -> str:
    try:
        return f"after {float(value):g} s"
    except (TypeError, ValueError):
        return f"after {value}"


#: How each known key reads; the order of this table is the order of the phrase.
PHRASES: dict[str, Callable[[Any], str]] = {
    "exit_code": lambda value: f"exit code {value}",
    "reason": str,
    "source": lambda value: f"from {SOURCES.get(str(value), value)}",
    "generation": lambda value: f"generation {value}",
    "after_seconds": _seconds,
    "attempt": lambda value: f"attempt {value}",
}


def describe_event(kind: str, data: Mapping[str, Any] | None) -> str:
    """The details of one event as a phrase; "" when there are none."""
    if not data:
        return ""
    parts: list[str] = []
    details = data.get("details")
    if kind == "install" and isinstance(details, Mapping):
        parts.append(_installed(details))
    for key, phrase in PHRASES.items():
        if data.get(key) not in (None, ""):
            parts.append(phrase(data[key]))
    for key, value in data.items():
        if key in PHRASES or (key == "details" and kind == "install" and isinstance(value, Mapping)):
            continue
        if value not in (None, "", [], {}):
            parts.append(f"{_words(key)} {plain(value)}")
    return " · ".join(part for part in parts if part)


def _installed(details: Mapping[str, Any]) -> str:
    """What an install put in place: "pypi package NAME VERSION installed" (a runtime's other details aside)."""
    name = details.get("identifier") or details.get("name") or details.get("image")
    if not name:
        return "installed " + plain(details)
    registry = details.get("registry_type")
    what = f"{registry} package {name}" if registry else str(name)
    version = details.get("version")
    return f"{what} {version} installed" if version else f"{what} installed"


def plain(value: Any) -> str:
    """A value as text: lists joined with commas, mappings as "key value" pairs, yes/no for booleans."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{_words(str(key))} {plain(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(plain(item) for item in value)
    return str(value)


def _words(key: str) -> str:
    return key.replace("_", " ")
