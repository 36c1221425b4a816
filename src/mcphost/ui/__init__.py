"""The web console: server-rendered pages (Jinja2 + htmx) served by the app itself, no build step.

Pages call the same services as the API with the browser's session cookie; state changes carry a CSRF token
(``csrf.py``); errors become HTML (``routing.py``). Third-party browser code lives in ``static/vendor`` with
its licence.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from mcphost.api.errors import http_error as api_http_error
from mcphost.ui.routes import (
    admin,
    auth,
    catalog,
    dashboard,
    deploy,
    evaluations,
    oauth,
    orgs,
    profile,
    public,
    server,
    server_credentials,
    server_domains,
    server_files,
    server_observe,
    server_pins,
    server_revisions,
    server_services,
    server_settings,
    vectors,
    workflows,
)
from mcphost.ui.routing import NOT_FOUND_MESSAGE, error_page, optional_principal

CONSOLE_ROUTERS = (
    public.router,
    auth.router,
    dashboard.router,
    catalog.router,
    deploy.router,  # /servers/new before /servers/{server_id}
    server.router,
    server_settings.router,
    server_revisions.router,
    server_pins.router,
    server_credentials.router,
    server_domains.router,
    server_files.router,
    server_services.router,
    server_observe.router,
    evaluations.router,
    vectors.router,
    workflows.router,
    orgs.router,
    profile.router,
    oauth.router,
    admin.router,
)
_NOT_CONSOLE = ("/api/", "/mcp/", "/static/", "/.well-known/", "/healthz", "/readyz", "/metrics")


def wants_console_page(request: Request) -> bool:
    """A browser asking for a page (not the API, the gateway or an asset)."""
    path = request.url.path
    return not path.startswith(_NOT_CONSOLE) and "text/html" in request.headers.get("accept", "")


def install_console(app: FastAPI) -> None:
    for router in CONSOLE_ROUTERS:
        app.include_router(router)

    async def http_error(request: Request, exc: Exception) -> Response:
        """Pages that do not exist are an HTML page for browsers; everything else keeps the API's JSON."""
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code in (404, 405) and wants_console_page(request):
            await _load_principal(request)
            message = NOT_FOUND_MESSAGE if exc.status_code == 404 else "Not allowed."
            return error_page(request, exc.status_code, message)
        return await api_http_error(request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)


async def _load_principal(request: Request) -> None:
    """Who is signed in, so the error page shows the right navigation (nobody when in doubt)."""
    platform = request.app.state.platform
    async with platform.db.session_scope() as session:
        await optional_principal(request, platform, session)
