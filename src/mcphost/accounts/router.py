"""Endpoints of sign-up and sign-in, the caller's own account, personal access tokens and user administration."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from mcphost.accounts import service, token_service
from mcphost.accounts.schemas import (
    Credentials,
    LoginResponse,
    MeOut,
    Registered,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserOut,
    UserUpdate,
)
from mcphost.api.deps import (
    SESSION_COOKIE,
    AdminPrincipal,
    PlatformDep,
    PrincipalDep,
    ReadPrincipal,
    SessionDep,
    WritePrincipal,
    client_ip,
    set_session_cookie,
)
from mcphost.api.schemas import AUTHENTICATED_ERRORS, Page, error_responses
from mcphost.db.pagination import MAX_LIMIT
from mcphost.models import User

router = APIRouter(prefix="/api", responses=AUTHENTICATED_ERRORS)
# Signing up and in need no credentials, so they never answer 401, 403 or 404 like the rest.
public_router = APIRouter(prefix="/api", responses=error_responses(413, 422))
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=200)]


@public_router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    tags=["auth"],
    responses=error_responses(403),
    summary="Create an account (the first one becomes administrator); then sign in",
)
async def register(body: Credentials, session: SessionDep, platform: PlatformDep) -> Registered:
    """The answer is the same whether the email was free or already had an account (which stays as it was), so
    this endpoint does not tell who has an account. Sign in next (``POST /api/auth/login``)."""
    await service.register(session, platform.settings.auth, body.email, body.password)
    return Registered(email=body.email)


@public_router.post("/auth/login", tags=["auth"], responses=error_responses(401, 403, 429), summary="Sign in")
async def login(
    body: Credentials, request: Request, response: Response, session: SessionDep, platform: PlatformDep
) -> LoginResponse:
    token, expires_at = await service.login(
        session,
        platform.keys,
        platform.settings.auth,
        body.email,
        body.password,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        throttle=request.app.state.login_throttle,
    )
    set_session_cookie(response, platform, token, expires_at)
    return LoginResponse(access_token=token, expires_at=expires_at)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"], summary="Sign out")
async def logout(principal: PrincipalDep, session: SessionDep, response: Response) -> None:
    await service.logout(session, principal)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", tags=["auth"], summary="The signed-in user and their organisations")
async def me(principal: ReadPrincipal, session: SessionDep) -> MeOut:
    return await service.me(session, principal)


@router.post("/tokens", status_code=status.HTTP_201_CREATED, tags=["tokens"], summary="Create a personal access token")
async def create_token(
    body: TokenCreate, principal: WritePrincipal, session: SessionDep, platform: PlatformDep
) -> TokenCreated:
    token, secret = await token_service.create_token(session, platform.keys, platform.settings.auth, principal, body)
    return TokenCreated(**TokenOut.model_validate(token).model_dump(), token=secret)


@router.get("/tokens", tags=["tokens"], summary="Your personal access tokens")
async def list_tokens(principal: ReadPrincipal, session: SessionDep, include_revoked: bool = False) -> list[TokenOut]:
    tokens = await token_service.list_tokens(session, principal, include_revoked=include_revoked)
    return [TokenOut.model_validate(token) for token in tokens]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["tokens"], summary="Revoke a token")
async def revoke_token(token_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> None:
    await token_service.revoke_token(session, principal, token_id)


@router.get("/users", tags=["users"], summary="All users (administrators)")
async def list_users(
    _admin: AdminPrincipal,
    session: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    q: Annotated[str | None, Query(max_length=320, description="Part of an email.")] = None,
) -> Page[UserOut]:
    users, next_cursor = await service.list_users(session, limit=limit, cursor=cursor, query=q)
    return Page[UserOut](items=[UserOut.model_validate(user) for user in users], next_cursor=next_cursor)


@router.get("/users/{user_id}", tags=["users"], summary="One user (administrators)")
async def get_user(user_id: uuid.UUID, _admin: AdminPrincipal, session: SessionDep) -> UserOut:
    return UserOut.model_validate(await service.get_user(session, user_id))


@router.patch(
    "/users/{user_id}",
    tags=["users"],
    responses=error_responses(409),
    summary="Change role, quota or disable",
)
async def update_user(user_id: uuid.UUID, body: UserUpdate, _admin: AdminPrincipal, session: SessionDep) -> UserOut:
    user: User = await service.update_user(session, user_id, body)
    return UserOut.model_validate(user)


@router.delete(
    "/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["users"],
    responses=error_responses(409),
    summary="Delete an account (administrators); refused while it owns servers unless delete_servers=true",
)
async def delete_user(
    user_id: uuid.UUID,
    admin: AdminPrincipal,
    session: SessionDep,
    delete_servers: Annotated[
        bool,
        Query(
            description="Also stop and delete the servers the account owns (each as deleting a server does). "
            "Without it, an account that owns servers is not deleted (409 user_has_servers)."
        ),
    ] = False,
) -> None:
    await service.delete_user(session, admin, user_id, delete_servers=delete_servers)
