"""The profile page: who you are (email, role, server quota and use, organisations) and your personal access
tokens: create one (its secret is shown once, right after), see when each was last used, revoke one; and the apps
authorised through OAuth (``routes/oauth.py``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from mcphost.accounts import quotas, service, token_service
from mcphost.accounts.principal import Principal
from mcphost.accounts.schemas import TokenCreate
from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.models import ApiToken, TokenScope
from mcphost.ui.forms import validated
from mcphost.ui.routes import oauth as oauth_apps
from mcphost.ui.routing import ConsoleRoute, ConsoleUser, redirect
from mcphost.ui.templating import is_htmx, render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
FormText = Annotated[str, Form(max_length=1000)]
EXPIRY_CHOICES = (7, 30, 90, 365)
NO_STORE = {"Cache-Control": "no-store"}  # a page showing a secret is never cached
TOKEN_LABELS = {"name": "Name", "scopes": "Scopes", "expires_in_days": "Expires"}


async def _tokens_context(
    session: SessionDep, platform: PlatformDep, principal: Principal, created: tuple[ApiToken, str] | None = None
) -> dict[str, Any]:
    auth = platform.settings.auth
    default = token_service.default_days(auth)
    return {
        "tokens": await token_service.list_tokens(session, principal, include_revoked=False),
        "created": created,
        "scopes": [scope for scope in TokenScope if scope is not TokenScope.ADMIN or principal.user.is_admin],
        "expiry_choices": sorted({days for days in EXPIRY_CHOICES if days <= auth.max_token_days} | {default}),
        "default_expiry": default,
        "never_allowed": auth.allow_non_expiring_tokens,
    }


async def _page(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    principal: Principal,
    created: tuple[ApiToken, str] | None = None,
) -> Response:
    context = {
        "section": "profile",
        "me": await service.me(session, principal),
        "servers_owned": await quotas.servers_owned(session, principal.user_id),
        **await _tokens_context(session, platform, principal, created),
        **await oauth_apps.apps_context(session, principal),
    }
    return render(request, "profile/page.html", context, headers=NO_STORE if created else None)


@router.get("/profile")
async def profile_page(
    request: Request, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    return await _page(request, session, platform, principal)


def _expiry(value: str) -> dict[str, int | str | None]:
    """The form's choice as the API takes it: left out (the default lifetime), null (never) or days."""
    value = value.strip()
    if not value:
        return {}
    if value == "never":
        return {"expires_in_days": None}
    return {"expires_in_days": int(value) if value.isdigit() else value}


@router.post("/profile/tokens")
async def create_token(
    request: Request,
    principal: ConsoleUser,
    session: SessionDep,
    platform: PlatformDep,
    name: FormText = "",
    scopes: Annotated[list[str] | None, Form(max_length=10)] = None,
    expires_in_days: FormText = "",
) -> Response:
    data = validated(TokenCreate, TOKEN_LABELS, name=name, scopes=scopes or [], **_expiry(expires_in_days))
    created = await token_service.create_token(session, platform.keys, platform.settings.auth, principal, data)
    if not is_htmx(request):
        # A plain form post (no JavaScript) still has to show the secret once, so it gets the whole page.
        return await _page(request, session, platform, principal, created)
    context = await _tokens_context(session, platform, principal, created)
    return render(request, "profile/tokens.html", context, headers=NO_STORE)


@router.post("/profile/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request, token_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    await token_service.revoke_token(session, principal, token_id)
    if not is_htmx(request):
        return redirect(request, "/profile")
    context = await _tokens_context(session, platform, principal)
    return render(request, "profile/tokens.html", {**context, "done": "The token was revoked; it stops working now."})
