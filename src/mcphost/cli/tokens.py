"""``mcphost tokens``: personal access tokens, for scripts and CI (``MCPHOST_TOKEN``)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, console, esc, print_json, run_api, short_time

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

app = typer.Typer(help="Personal access tokens.", no_args_is_help=True)


class Scope(StrEnum):
    read = "read"
    write = "write"
    invoke = "invoke"
    admin = "admin"


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="A name to recognise the token by.", show_default=False)],
    scope: Annotated[
        list[Scope] | None,
        typer.Option(
            "--scope", "-s", help="What the token may do; repeat for several (default: read).", show_default=False
        ),
    ] = None,
    expires_days: Annotated[
        int | None,
        typer.Option("--expires-days", min=1, help="Expire after N days (default: the instance's, 90 unless changed)."),
    ] = None,
    no_expiry: Annotated[
        bool, typer.Option("--no-expiry", help="Never expire (only where the instance allows such tokens).")
    ] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token; it is printed once, and cannot be shown again."""
    from mcphost.client import resources

    if no_expiry and expires_days is not None:
        raise typer.BadParameter("give either --expires-days or --no-expiry", param_hint="--no-expiry")
    scopes = [item.value for item in scope] if scope else ["read"]

    async def send(client: MCPHostClient) -> dict[str, Any]:
        return await resources.create_token(client, name, scopes, expires_in_days=expires_days, never_expires=no_expiry)

    created = run_api(send, url)
    if as_json:
        print_json(created)
        return
    expiry = f", expires {short_time(created['expires_at'])}" if created.get("expires_at") else ", never expires"
    typer.echo(f"Created token {created['name']} ({created['id']}; scopes {', '.join(created['scopes'])}{expiry}).")
    typer.echo("Copy it now, it will not be shown again:", err=True)
    typer.echo(created["token"])


@app.command("list")
def list_tokens(
    url: UrlOption = None,
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Your personal access tokens (never their secret)."""
    from mcphost.client import resources

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        return await resources.list_tokens(client, include_revoked=include_revoked)

    tokens = run_api(fetch, url)
    if as_json:
        print_json(tokens)
        return
    if not tokens:
        typer.echo("No tokens.")
        return
    from rich.table import Table

    table = Table("ID", "NAME", "PREFIX", "SCOPES", "CREATED", "EXPIRES", "LAST USED", box=None)
    for token in tokens:
        name = esc(token["name"]) + (" [red](revoked)[/]" if token.get("revoked_at") else "")
        table.add_row(
            esc(token["id"]),
            name,
            esc(token["prefix"]),
            esc(",".join(token["scopes"])),
            short_time(token["created_at"]),
            short_time(token.get("expires_at")) or "never",
            short_time(token.get("last_used_at")) or "-",
        )
    console().print(table)


@app.command()
def revoke(
    token: Annotated[str, typer.Argument(help="The token's id, or its name (see `tokens list`).", show_default=False)],
    url: UrlOption = None,
) -> None:
    """Revoke a token: it stops working at once."""
    from mcphost.client import ApiError, resources

    async def send(client: MCPHostClient) -> str:
        token_id = token
        if not resources.is_uuid(token):
            named = [item for item in await resources.list_tokens(client) if item["name"] == token]
            if len(named) != 1:
                problem = "Several tokens are" if named else "No token is"
                raise ApiError(404, "not_found", f"{problem} named {token!r}; use its id (see `mcphost tokens list`).")
            token_id = named[0]["id"]
        await resources.revoke_token(client, token_id)
        return token_id

    revoked = run_api(send, url)
    typer.echo(f"Revoked token {revoked}.")
