"""A browser-like httpx client for the console's fast tests: the session cookie of a user, the page's CSRF
token sent like htmx sends it, and HTML accepted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.ui.live import Console


def csrf_token_of(page: str) -> str:
    """The CSRF token a console page carries (its ``csrf-token`` meta tag)."""
    return page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


@contextmanager
def signed_in(console: Console, session_token: str) -> Iterator[httpx.Client]:
    """An htmx-like client of the user with this session token, carrying a valid CSRF token."""
    with httpx.Client(
        base_url=console.url, timeout=10, cookies={"mcphost_session": session_token}, headers={"Accept": "text/html"}
    ) as http:
        page = http.get("/profile").text
        http.headers["X-CSRF-Token"] = csrf_token_of(page)
        http.headers["HX-Request"] = "true"
        yield http
