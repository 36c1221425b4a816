"""The OAuth authorization endpoint as a console page: the consent screen (which app, which server, which scopes;
signed-in users only) and the user's decision, which sends the browser back to the app with a code or
``error=access_denied``; and the authorised apps on the profile page, each revocable.

The checks are the authorization service's (``oauth/authorize.py``): a request whose client or redirect URI is not
genuine is an error page here; any other error goes back to the app."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.oauth import authorize, redirects
from mcphost.oauth import service as oauth
from mcphost.oauth.errors import OAuthDisabled, OAuthError
from mcphost.oauth.metadata import AUTHORIZE_PATH, SCOPE_INVOKE, SCOPE_OFFLINE
from mcphost.oauth.schemas import client_host
from mcphost.platform import Platform
from mcphost.servers.views import endpoint_url
from mcphost.ui.routing import ConsoleRoute, ConsoleUser, OptionalUser, SignInRequired, redirect
from mcphost.ui.templating import SECURITY_HEADERS, is_htmx, render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
SCOPE_WORDS = {
    SCOPE_INVOKE: "Call this server's tools and read its resources and prompts, as you, with what you may do there.",
    SCOPE_OFFLINE: "Stay connected: renew its access without asking you again, until you revoke it.",
}


def _enabled(platform: Platform) -> None:
    if not platform.settings.oauth.enabled:
        raise OAuthDisabled()


def _back(target: str) -> Response:
    """To the app (a 303, followed by a plain navigation: any scheme the app registered)."""
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def _csp(redirect_uri: str) -> dict[str, str]:
    """The console's policy, with the app's redirect URI allowed as where the consent form may lead."""
    policy = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "form-action 'self'", f"form-action 'self' {redirects.form_action_source(redirect_uri)}"
    )
    return {"Content-Security-Policy": policy, "Cache-Control": "no-store"}


@router.get(AUTHORIZE_PATH)
async def consent_page(
    request: Request, principal: OptionalUser, session: SessionDep, platform: PlatformDep
) -> Response:
    _enabled(platform)
    public_url = platform.settings.effective_public_url
    checked = await authorize.check_client(session, platform.settings.oauth, parse_qs(request.url.query))
    try:
        asked = authorize.check_request(checked, public_url)
        if principal is None:
            raise SignInRequired(f"Sign in to let {checked.client.client_name or 'an app'} use one of your servers.")
        server = await authorize.server_for(session, principal, asked)
    except OAuthError as exc:
        return _back(authorize.error_redirect(checked, exc, public_url))
    client = checked.client
    context: dict[str, Any] = {
        "client": client,
        "client_name": client.client_name or client.client_id,
        "client_host": client_host(client.client_id, client.client_uri),
        "by_document": client.kind.value == "metadata_document",
        "redirect_uri": checked.redirect_uri,
        "local_app": redirects.is_loopback(checked.redirect_uri) or not checked.redirect_uri.startswith("https://"),
        "server": server,
        "endpoint": endpoint_url(public_url, server.slug),
        "scopes": [(scope, SCOPE_WORDS.get(scope, scope)) for scope in asked.scopes],
        "params": checked.params,
        "action": AUTHORIZE_PATH,
    }
    return render(request, "oauth/consent.html", context, headers=_csp(checked.redirect_uri))


@router.post(AUTHORIZE_PATH)
async def decide(request: Request, principal: ConsoleUser, session: SessionDep, platform: PlatformDep) -> Response:
    _enabled(platform)
    public_url = platform.settings.effective_public_url
    form = await request.form()
    params = {name: [value for value in form.getlist(name) if isinstance(value, str)] for name in authorize.PARAMETERS}
    checked = await authorize.check_client(session, platform.settings.oauth, params)
    if form.get("decision") != "allow":
        return _back(authorize.deny(checked, public_url))
    try:
        asked = authorize.check_request(checked, public_url)
        target = await authorize.approve(session, platform.keys, platform.settings.oauth, principal, asked, public_url)
    except OAuthError as exc:
        return _back(authorize.error_redirect(checked, exc, public_url))
    return _back(target)


# -- authorised apps on the profile page ----------------------------------------------------------------------------


async def apps_context(session: SessionDep, principal: Any) -> dict[str, Any]:
    apps = await oauth.list_apps(session, principal)
    return {"apps": [(app, client_host(app.client.client_id, app.client.client_uri)) for app in apps]}


@router.post("/profile/apps/{grant_id}/revoke")
async def revoke_app(request: Request, grant_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    await oauth.revoke_app(session, principal, grant_id)
    if not is_htmx(request):
        return redirect(request, "/profile")
    context = await apps_context(session, principal)
    return render(request, "profile/apps.html", {**context, "done": "Revoked: that app's access stopped now."})
