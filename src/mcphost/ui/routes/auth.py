"""Sign in, sign up and sign out. Plain HTML forms (they work without JavaScript); errors re-render the form
with what to fix and keep the email typed, never the password."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from mcphost.accounts import service
from mcphost.accounts.schemas import Credentials
from mcphost.api.deps import SESSION_COOKIE, PlatformDep, SessionDep, client_ip, set_session_cookie
from mcphost.errors import AppError, Unauthorized
from mcphost.platform import Platform
from mcphost.ui.routing import ConsoleRoute, ConsoleUser, CsrfChecked, OptionalUser, redirect, safe_next
from mcphost.ui.templating import render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
FormText = Annotated[str, Form(max_length=1000)]
NextField = Annotated[str, Form(alias="next", max_length=2000)]


def _credentials(email: str, password: str) -> Credentials:
    try:
        return Credentials(email=email.strip(), password=password)
    except ValidationError as exc:
        fields = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        what = " and ".join(sorted(fields)) or "the form"
        raise AppError(f"Please enter a valid {what}.", code="validation_error") from exc


def _form(request: Request, template: str, *, email: str, next_url: str, error: AppError) -> Response:
    return render(
        request,
        template,
        {"email": email, "next": next_url, "error": error.message, **_signup_rules(request)},
        status_code=error.status_code if error.status_code != 400 else 422,
        headers={k: v for k, v in error.headers.items() if k.lower() == "retry-after"},
    )


def _signup_rules(request: Request) -> dict[str, int]:
    return {"min_password_length": request.app.state.platform.settings.auth.min_password_length}


async def _open_session(
    request: Request, session: AsyncSession, platform: Platform, credentials: Credentials
) -> tuple[str, datetime]:
    """Check the password (throttled per address and email) and open a login session."""
    return await service.login(
        session,
        platform.keys,
        platform.settings.auth,
        credentials.email,
        credentials.password,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        throttle=request.app.state.login_throttle,
    )


def _signed_in(request: Request, platform: Platform, token: str, expires_at: datetime, target: str) -> Response:
    response = redirect(request, target)
    set_session_cookie(response, platform, token, expires_at)
    return response


@router.get("/login")
async def login_page(request: Request, principal: OptionalUser, next: str = "", reason: str = "") -> Response:
    if principal is not None:
        return redirect(request, safe_next(next))
    return render(request, "public/login.html", {"next": safe_next(next), "reason": reason[:200], "email": ""})


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    _csrf: CsrfChecked,
    email: FormText = "",
    password: FormText = "",
    next_url: NextField = "",
) -> Response:
    target = safe_next(next_url)
    try:
        credentials = _credentials(email, password)
        token, expires_at = await _open_session(request, session, platform, credentials)
    except AppError as exc:
        return _form(request, "public/login.html", email=email, next_url=target, error=exc)
    return _signed_in(request, platform, token, expires_at, target)


@router.get("/signup")
async def signup_page(request: Request, principal: OptionalUser) -> Response:
    if principal is not None:
        return redirect(request, "/dashboard")
    return render(request, "public/signup.html", {"email": "", "next": "/dashboard", **_signup_rules(request)})


@router.post("/signup")
async def signup(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    _csrf: CsrfChecked,
    email: FormText = "",
    password: FormText = "",
) -> Response:
    """Create the account and sign it in at once. An email that already has an account is not changed (registering
    does not say whether it had one); signing in then works only with that account's password."""
    try:
        credentials = _credentials(email, password)
        await service.register(session, platform.settings.auth, credentials.email, credentials.password)
        token, expires_at = await _open_session(request, session, platform, credentials)
    except AppError as exc:
        await session.rollback()
        if exc.code == "invalid_credentials":
            exc = Unauthorized(
                "You could not be signed in with this email and password. If you already have an account with this "
                "email, sign in with its password instead.",
                code="invalid_credentials",
            )
        return _form(request, "public/signup.html", email=email, next_url="/dashboard", error=exc)
    return _signed_in(request, platform, token, expires_at, "/dashboard")


@router.post("/logout")
async def logout(request: Request, principal: ConsoleUser, session: SessionDep) -> Response:
    await service.logout(session, principal)
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
