"""Where the command line keeps the URL and token of the instance it talks to, and how they are chosen.

The file is ``$XDG_CONFIG_HOME/mcphost/credentials.json`` (default ``~/.config/mcphost/``), readable by its owner
only. ``MCPHOST_URL`` and ``MCPHOST_TOKEN`` take precedence over it; the stored token is only ever sent to the
URL it was issued for.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

DEFAULT_URL = "http://127.0.0.1:8700"
URL_ENV = "MCPHOST_URL"
TOKEN_ENV = "MCPHOST_TOKEN"  # noqa: S105 (the name of a variable, not a secret)
TokenKind = Literal["session", "token"]


@dataclass(frozen=True)
class Credentials:
    url: str
    token: str
    #: session: from ``login`` with a password (``logout`` ends it); token: a personal access token.
    kind: TokenKind = "session"
    email: str | None = None


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mcphost"


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    return url if "://" in url else f"http://{url}"


def load() -> Credentials | None:
    """The stored credentials, or None when there are none (or the file is unreadable)."""
    try:
        data = json.loads(credentials_path().read_text())
        return Credentials(
            url=str(data["url"]), token=str(data["token"]), kind=data.get("kind", "session"), email=data.get("email")
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(credentials: Credentials) -> Path:
    """Store ``credentials``: the directory is made private (0700), the file is written 0600 and replaced at once."""
    directory = config_dir()
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    path = credentials_path()
    staging = path.with_suffix(".tmp")
    staging.unlink(missing_ok=True)
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(asdict(credentials), file, indent=2)
    os.replace(staging, path)
    return path


def delete() -> bool:
    """Remove the stored credentials; whether there were any."""
    try:
        credentials_path().unlink()
    except FileNotFoundError:
        return False
    return True


def chosen_url(option: str | None = None) -> str:
    """The instance to talk to: the option, else $MCPHOST_URL, else the stored one, else the local default."""
    if option:
        return normalize_url(option)
    if os.environ.get(URL_ENV):
        return normalize_url(os.environ[URL_ENV])
    stored = load()
    return stored.url if stored else DEFAULT_URL


def url_origin(option: str | None = None) -> str:
    """Where ``chosen_url(option)`` comes from, in words (for messages about that address)."""
    if option:
        return "from --url"
    if os.environ.get(URL_ENV):
        return f"from ${URL_ENV}"
    return "the instance of the last login" if load() else "the default address"


def current(url_option: str | None = None) -> tuple[str, str | None]:
    """The URL and token commands use: $MCPHOST_TOKEN, else the stored token if it was issued for that URL."""
    url = chosen_url(url_option)
    token = os.environ.get(TOKEN_ENV) or None
    if token is None:
        stored = load()
        if stored is not None and stored.url == url:
            token = stored.token
    return url, token
