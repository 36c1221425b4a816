"""``mcphost login``, ``logout`` and ``whoami``: the credentials the other API commands use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, fail, print_json, run_api

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient


def login(
    url: UrlOption = None,
    email: Annotated[str | None, typer.Option("--email", "-e", help="Account email (prompted if missing).")] = None,
    password: Annotated[
        str | None, typer.Option("--password", "-p", help="Password (prompted without echo if missing).")
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="Use a personal access token instead of email and password.")
    ] = None,
) -> None:
    """Sign in to an MCP Host instance and remember it for the next commands."""
    from mcphost.cli import credentials

    base_url = credentials.chosen_url(url)
    if token is not None and (email is not None or password is not None):
        raise typer.BadParameter("use either --token or --email/--password", param_hint="--token")
    _check_instance(base_url, credentials.url_origin(url))  # before asking for a password it could not use
    if token is None:
        email = email or typer.prompt("Email")
        password = password or typer.prompt("Password", hide_input=True)

    async def sign_in(client: MCPHostClient) -> tuple[str, dict[str, Any]]:
        if token is not None:
            client.token = token
        else:
            assert email is not None and password is not None
            await client.login(email, password)
        assert client.token is not None
        return client.token, await client.me()

    # The URL is passed on explicitly; a token from $MCPHOST_TOKEN must not stand in for the one being checked.
    issued, me = run_api(sign_in, base_url, auth=False)
    kind: credentials.TokenKind = "token" if token is not None else "session"
    path = credentials.save(credentials.Credentials(base_url, issued, kind, me.get("email")))
    typer.echo(f"Logged in to {base_url} as {me.get('email')} ({me.get('role')}); credentials in {path}")


def _check_instance(base_url: str, origin: str) -> None:
    """Fail in one line, saying how to give the right address, when no MCP Host answers at ``base_url``."""
    import asyncio

    from mcphost.client import ApiError, MCPHostClient, Unreachable

    async def probe() -> None:
        async with MCPHostClient(base_url) as client:
            await client.probe()

    hint = "give its address with `mcphost login --url URL` (or set MCPHOST_URL)"
    try:
        asyncio.run(probe())
    except Unreachable as exc:
        fail(f"cannot reach {base_url} ({origin}): {exc.reason}. Is MCP Host running there? If not there, {hint}")
    except ApiError as exc:
        fail(f"{exc.message}; {hint}")


def logout() -> None:
    """Forget the stored credentials (and end the session on the instance)."""
    from mcphost.cli import credentials
    from mcphost.client import ClientError, MCPHostClient

    stored = credentials.load()
    if stored is None:
        typer.echo("Not logged in.")
        credentials.delete()  # an unreadable file is not kept either
        return
    if stored.kind == "session":
        import asyncio

        async def end() -> None:
            async with MCPHostClient(stored.url, stored.token) as client:
                await client.logout()

        try:
            asyncio.run(end())
        except ClientError as exc:  # an expired session or a gone instance: forgetting it is all that is left
            typer.echo(f"note: could not end the session on {stored.url}: {exc.message}", err=True)
    credentials.delete()
    typer.echo(f"Logged out of {stored.url}.")


def whoami(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Show the signed-in user and the instance."""

    async def me(client: MCPHostClient) -> tuple[str, dict[str, Any]]:
        return client.base_url, await client.me()

    base_url, user = run_api(me, url)
    if as_json:
        print_json(user)
        return
    orgs = ", ".join(org["slug"] for org in user.get("orgs", []))
    typer.echo(f"{user['email']} ({user.get('role')}) at {base_url}" + (f"; orgs: {orgs}" if orgs else ""))
