"""How console pages are routed: who is signed in, CSRF checks, and errors rendered as HTML.

Console routers use ``ConsoleRoute``: an ``AppError`` (or a form that does not validate) becomes an error page,
or for htmx requests a message swapped into the page's ``#flash`` region, with the same status code the API
would answer; an address whose id is not an id (``/servers/does-not-exist``) is the 404 page, as for an address
that matches no page. A page that needs a signed-in user sends the browser to the sign-in page and back.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import RedirectResponse, Response

from mcphost.accounts.principal import Principal, authenticate
from mcphost.api.deps import SESSION_COOKIE, PlatformDep, SessionDep
from mcphost.api.errors import validation_details
from mcphost.errors import AppError, Forbidden
from mcphost.ui.csrf import verify_csrf
from mcphost.ui.templating import finish, is_htmx, render

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: What the 404 page says, for an address that matches no page and for one whose id is not an id.
NOT_FOUND_MESSAGE = "Check the address, or go back to your servers."


class SignInRequired(Exception):
    """The page needs a signed-in user; the browser goes to the sign-in page and comes back after."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "")
        self.reason = reason


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired as exc:
                response = sign_in_redirect(request, exc.reason)
            except AppError as exc:
                response = error_page(request, exc.status_code, exc.message, exc.headers)
            except RequestValidationError as exc:
                if _bad_path(exc):  # /servers/not-an-id names no page, like a path that matches no route
                    response = error_page(request, 404, NOT_FOUND_MESSAGE)
                else:
                    response = error_page(request, 422, _form_problem(exc))
            finish(request, response)
            return response

        return console_handler


def _bad_path(exc: RequestValidationError) -> bool:
    return any(error.get("loc", ())[:1] == ("path",) for error in exc.errors())


def _form_problem(exc: RequestValidationError) -> str:
    problems = [
        f"{detail['loc'][-1] if detail['loc'] else 'form'}: {detail['msg']}"
        for detail in validation_details(exc.errors())
    ]
    return "Please correct the form. " + "; ".join(problems[:5])


def safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//other.example`` or a scheme) is a place to return to."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/dashboard"
    return target


def sign_in_redirect(request: Request, reason: str | None = None) -> Response:
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if is_htmx(request):
        back = request.headers.get("hx-current-url", back)
        if back.startswith(("http://", "https://")):
            back = "/" + back.split("/", 3)[-1] if back.count("/") >= 3 else "/"
    target = f"/login?next={quote(safe_next(back), safe='/')}"
    if reason:
        target += f"&reason={quote(reason)}"
    return redirect(request, target)


def redirect(request: Request, target: str) -> Response:
    """Go to another page: htmx follows ``HX-Redirect``, a plain form post a 303."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_page(request: Request, status_code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    extra = {key: value for key, value in (headers or {}).items() if key.lower() == "retry-after"}
    if is_htmx(request):
        extra |= {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
        return render(request, "partials/error.html", {"message": message}, status_code=status_code, headers=extra)
    return render(
        request, "error.html", {"message": message, "status_code": status_code}, status_code=status_code, headers=extra
    )


async def optional_principal(request: Request, platform: PlatformDep, session: SessionDep) -> Principal | None:
    """The signed-in user of the browser's session cookie, or None. Safe methods only need this."""
    credential = request.cookies.get(SESSION_COOKIE)
    principal = None
    if credential:
        try:
            principal = await authenticate(session, platform.keys, credential)
        except AppError:
            principal = None
    request.state.principal = principal
    return principal


async def csrf_checked(request: Request, platform: PlatformDep) -> None:
    if request.method not in _SAFE_METHODS:
        await verify_csrf(request, platform)


async def console_principal(
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    _csrf: Annotated[None, Depends(csrf_checked)],
) -> Principal:
    """The signed-in user; state changes must also carry the page's CSRF token."""
    credential = request.cookies.get(SESSION_COOKIE)
    if not credential:
        raise SignInRequired()
    try:
        principal = await authenticate(session, platform.keys, credential)
    except AppError as exc:
        raise SignInRequired(exc.message) from exc
    request.state.principal = principal
    return principal


async def console_admin(principal: Annotated[Principal, Depends(console_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("Only administrators can open this page.", code="admin_required")
    return principal


OptionalUser = Annotated[Principal | None, Depends(optional_principal)]
ConsoleUser = Annotated[Principal, Depends(console_principal)]
ConsoleAdmin = Annotated[Principal, Depends(console_admin)]
CsrfChecked = Annotated[None, Depends(csrf_checked)]
