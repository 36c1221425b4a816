"""Which redirect URIs a client may register, and whether the one an authorization request names is registered.

Registered URIs are https, loopback http (a native app's local listener, RFC 8252 §7.3) or, for public clients, a
private-use scheme (``cursor://…``, ``com.example.app:/cb``, RFC 8252 §7.1). A requested URI matches a registered
one exactly, except that loopback URIs match whatever their port (the app picks a free one each time)."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import SplitResult, urlsplit

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_SCHEME: Final = re.compile(r"^[a-z][a-z0-9+.-]*$")
#: Schemes that run or read something in the browser or on the machine: never a redirect target.
_FORBIDDEN_SCHEMES: Final = frozenset({"javascript", "data", "file", "vbscript", "about", "blob", "filesystem", "ws"})
MAX_URI_LENGTH: Final = 2000


class BadRedirectUri(ValueError):
    """Why a redirect URI cannot be registered."""


def _split(uri: str) -> SplitResult:
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_LENGTH or any(ch.isspace() for ch in uri):
        raise BadRedirectUri(f"{uri!r} is not a redirect URI")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as exc:
        raise BadRedirectUri(f"{uri!r} is not a valid URI") from exc
    return parts


def is_loopback(uri: str) -> bool:
    try:
        parts = _split(uri)
    except BadRedirectUri:
        return False
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def check_registrable(uri: str, *, public: bool) -> None:
    """Raise ``BadRedirectUri`` unless ``uri`` may be registered (by a public client when ``public``)."""
    parts = _split(uri)
    scheme = parts.scheme.lower()
    if parts.fragment or "#" in uri:
        raise BadRedirectUri(f"{uri}: a redirect URI must not have a fragment")
    if not scheme or not _SCHEME.match(scheme):
        raise BadRedirectUri(f"{uri}: a redirect URI needs a scheme")
    if parts.username or parts.password:
        raise BadRedirectUri(f"{uri}: a redirect URI must not carry user information")
    if scheme == "https":
        if not parts.hostname:
            raise BadRedirectUri(f"{uri}: an https redirect URI needs a host")
        return
    if scheme == "http":
        if (parts.hostname or "") not in LOOPBACK_HOSTS:
            raise BadRedirectUri(
                f"{uri}: http redirect URIs are only for loopback (127.0.0.1, localhost, [::1]); use https"
            )
        return
    if scheme in _FORBIDDEN_SCHEMES or scheme == "wss":
        raise BadRedirectUri(f"{uri}: the scheme {scheme} cannot be a redirect URI")
    if not public:
        raise BadRedirectUri(f"{uri}: private-use schemes are for public clients (token_endpoint_auth_method none)")


def matches(requested: str, registered: list[str]) -> bool:
    """Whether ``requested`` is one of ``registered``: exactly, or a loopback URI on another port."""
    if requested in registered:
        return True
    if not is_loopback(requested):
        return False
    asked = _split(requested)
    for candidate in registered:
        if not is_loopback(candidate):
            continue
        known = _split(candidate)
        if (known.hostname, known.path or "/", known.query) == (asked.hostname, asked.path or "/", asked.query):
            return True
    return False


def form_action_source(uri: str) -> str:
    """The Content-Security-Policy source that lets the consent form's redirect reach ``uri``."""
    parts = _split(uri)
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"
