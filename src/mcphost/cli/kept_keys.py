"""The access keys the command line made for itself and keeps: ``keys.json`` next to the credentials file.

An instance shows an access key once and stores only its hash, so a command that needs the same key again
(``connect`` relaying, ``config export`` writing a client's configuration) must keep the secret it was given.
The file is private (directory 0700, file 0600, replaced at once) and keyed by instance URL, then server slug::

    {"http://127.0.0.1:8700": {"time": {"server_id": "…", "key": "mcph_sk_…", "key_id": "…",
                                        "exports": {"cursor": {"key": "mcph_sk_…", "key_id": "…"}}}}}

The entry's own ``key`` is the one ``connect`` uses; ``exports`` holds one key per MCP client that
``config export`` configured.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class KeptKey:
    slug: str
    server_id: str | None
    key: str
    key_id: str | None


def path() -> Path:
    from mcphost.cli import credentials

    return credentials.config_dir() / "keys.json"


def load() -> dict[str, Any]:
    """The whole file; empty when it is missing or unreadable."""
    try:
        data = json.loads(path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def find(base_url: str, server: str, client: str | None = None) -> KeptKey | None:
    """The key kept for ``server`` (its slug or id) on ``base_url``: ``connect``'s, or ``client``'s export key."""
    for slug, entry in dict(load().get(base_url) or {}).items():
        if not isinstance(entry, dict) or server not in (slug, entry.get("server_id")):
            continue
        held = entry if client is None else (entry.get("exports") or {}).get(client)
        if isinstance(held, dict) and held.get("key"):
            return KeptKey(slug, entry.get("server_id"), str(held["key"]), held.get("key_id"))
    return None


def kept_ids(base_url: str, server_id: str) -> set[str]:
    """The ids of every key kept for the server (``connect``'s and each client's)."""
    ids: set[str] = set()
    for entry in dict(load().get(base_url) or {}).values():
        if isinstance(entry, dict) and entry.get("server_id") == server_id:
            held = [entry, *dict(entry.get("exports") or {}).values()]
            ids |= {str(item["key_id"]) for item in held if isinstance(item, dict) and item.get("key_id")}
    return ids


def keep(base_url: str, slug: str, server_id: str, key: str, key_id: str | None, client: str | None = None) -> Path:
    """Keep ``key`` for ``server`` (as ``connect``'s key, or ``client``'s export key); the file's path.

    A server recreated under the same slug has a new id: what was kept for the old one is dropped."""
    data = load()
    servers = data.setdefault(base_url, {})
    entry = servers.get(slug)
    if not isinstance(entry, dict) or entry.get("server_id") not in (None, server_id):
        entry = {}
    entry["server_id"] = server_id
    held = {"key": key, "key_id": key_id}
    if client is None:
        entry |= held
    else:
        exports = entry.get("exports")
        entry["exports"] = (exports if isinstance(exports, dict) else {}) | {client: held}
    servers[slug] = entry
    _save(data)
    return path()


def _save(data: dict[str, Any]) -> None:
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.parent.chmod(0o700)
    staging = target.with_suffix(".tmp")
    staging.unlink(missing_ok=True)
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(data, file, indent=2)
    os.replace(staging, target)
