"""The console's Jinja2 environment and the one function every page renders through.

``render`` adds what every template needs (the signed-in user, the CSRF token, whether the request came from
htmx) and the security headers every console response carries.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from mcphost import __version__
from mcphost.platform import Platform
from mcphost.ui import server_actions
from mcphost.ui.csrf import CSRF_FIELD, csrf_token, remember_nonce
from mcphost.ui.event_text import describe_event

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# Scripts and styles come from this site only (htmx runs without eval); pages cannot be framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

STATUS_TONES = {
    "running": "ok",
    "pending": "busy",
    "installing": "busy",
    "cloning": "busy",
    "building": "busy",
    "pushing": "busy",
    "starting": "busy",
    "updating": "busy",
    "stopping": "busy",
    "stopped": "idle",
    "crashed": "bad",
    "error": "bad",
}


def status_tone(status: object) -> str:
    """The colour family of a status badge: ok, busy, idle or bad."""
    value = getattr(status, "value", status)
    return STATUS_TONES.get(str(value), "idle")


def iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def short_time(moment: datetime | None) -> str:
    """A readable UTC time for the server-rendered page; console.js rewrites it into the viewer's zone."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


_URL_BREAKS = re.compile(r"(?<=[/?&=])(?!/)|(?=[.\-_])")


def breakable_url(url: str) -> Markup:
    """``url`` with line-break opportunities (``<wbr>``) after each ``/`` (not inside ``//``), ``?``, ``&``, ``=``
    and before each ``.``, ``-``, ``_``, so that a long address wraps between its parts, never inside a word.
    Copying the element's text gives the address unchanged."""
    return Markup("<wbr>").join(escape(part) for part in _URL_BREAKS.split(url))


def _static(path: str) -> str:
    return f"/static/{path}?v={__version__}"


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals.update(static=_static, version=__version__, csrf_field=CSRF_FIELD)
templates.env.filters.update(
    status_tone=status_tone,
    iso=iso,
    short_time=short_time,
    action_when=server_actions.when,
    action_applies=server_actions.applies,
    event_text=describe_event,
    breakable_url=breakable_url,
)


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    platform = platform_of(request)
    principal = getattr(request.state, "principal", None)
    values = {
        "principal": principal,
        "user": principal.user if principal is not None else None,
        "csrf_token": csrf_token(request, platform),
        "htmx": is_htmx(request),
        "public_url": platform.settings.effective_public_url,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, values, status_code=status_code, headers=headers)
    finish(request, response)
    return response


def finish(request: Request, response: Response) -> None:
    """What every console response gets: the security headers, and the CSRF cookie when it is new."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    remember_nonce(request, response, platform_of(request))
