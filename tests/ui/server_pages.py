"""Helpers of the server page tests: a console form post as a signed-in browser would send it (session cookie,
CSRF token from the page, htmx headers), for checking status codes without a browser."""

from __future__ import annotations

import httpx

from tests.ui.live import Console


def console_post(console: Console, session_token: str, page: str, target: str, data: dict[str, str]) -> httpx.Response:
    """Open ``page`` (for its CSRF token) and post ``data`` to ``target`` the way htmx does."""
    with httpx.Client(base_url=console.url, timeout=10) as http:
        http.cookies.set("mcphost_session", session_token)
        opened = http.get(page, headers={"Accept": "text/html"})
        assert opened.status_code == 200, opened.text
        token = opened.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        headers = {"X-CSRF-Token": token, "HX-Request": "true", "Origin": console.url}
        return http.post(target, data=data, headers=headers)
