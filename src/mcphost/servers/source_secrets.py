"""The credentials a source may carry, kept sealed: an image source's registry login (``registry_auth.password``) and
a git source's access token (``token``).

A stored source holds them encrypted like ``secret_env`` (bound to the server and what they are for), users see them
masked, and only the runtime gets them in clear text, in the source it prepares (``opened``)."""

from __future__ import annotations

import uuid
from typing import Any

from mcphost.security.keys import KeyRing

__all__ = ["MASK", "masked", "opened", "sealed"]

MASK = "********"
_SEALED_PASSWORD = "sealed_password"  # noqa: S105 (key names)
_SEALED_TOKEN = "sealed_token"  # noqa: S105


def _context(server_id: uuid.UUID, what: str) -> str:
    return f"server:{server_id}:{what}"


def sealed(source: dict[str, Any], server_id: uuid.UUID, keys: KeyRing) -> dict[str, Any]:
    """The source as stored: its credentials encrypted."""
    stored = dict(source)
    login = stored.get("registry_auth")
    if isinstance(login, dict) and login.get("password"):
        secret = keys.secrets.encrypt(str(login["password"]), _context(server_id, "registry"))
        stored["registry_auth"] = {"username": login.get("username"), _SEALED_PASSWORD: secret}
    token = stored.pop("token", None)
    if token:
        stored[_SEALED_TOKEN] = keys.secrets.encrypt(str(token), _context(server_id, "git-token"))
    return stored


def masked(source: dict[str, Any]) -> dict[str, Any]:
    """A stored source as users see it: which credentials there are, not what they are."""
    shown = dict(source)
    login = shown.get("registry_auth")
    if isinstance(login, dict):
        shown["registry_auth"] = {"username": login.get("username"), "password": MASK}
    if shown.pop(_SEALED_TOKEN, None):
        shown["token"] = MASK
    return shown


def opened(source: dict[str, Any], server_id: uuid.UUID, keys: KeyRing | None) -> dict[str, Any]:
    """A stored source as its runtime prepares it: credentials decrypted (left out without ``keys``)."""
    opened_source = dict(source)
    login = opened_source.pop("registry_auth", None)
    token = opened_source.pop(_SEALED_TOKEN, None)
    if keys is None:
        return opened_source
    if isinstance(login, dict) and login.get(_SEALED_PASSWORD):
        password = keys.secrets.decrypt(login[_SEALED_PASSWORD], _context(server_id, "registry"))
        opened_source["registry_auth"] = {"username": login.get("username"), "password": password}
    if token:
        opened_source["token"] = keys.secrets.decrypt(token, _context(server_id, "git-token"))
    return opened_source
