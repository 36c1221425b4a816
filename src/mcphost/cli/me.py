"""``mcphost me credentials``: your own values of the variables a server takes from each user (a token for your
account at some service, say). ``NAME`` alone asks for the value without echoing it (nothing in the shell's history);
``NAME=VALUE`` takes it from the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli import me_apps
from mcphost.cli.output import JsonOption, UrlOption, print_json, run_api

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

app = typer.Typer(help="Your own settings.", no_args_is_help=True)
credentials = typer.Typer(help="Your own values of servers' per-user variables.", no_args_is_help=True)
app.add_typer(credentials, name="credentials")
app.add_typer(me_apps.app, name="apps")
ServerArg = Annotated[str, typer.Argument(help="The server's id or slug.", show_default=False)]


@credentials.command()
def show(server: ServerArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Which variables the server takes from each user, which you have set, and which are missing."""

    async def fetch(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        return dict(await client.request("GET", f"/api/servers/{found['id']}/credentials"))

    found = run_api(fetch, url)
    if as_json:
        print_json(found)
        return
    _print(found)


@credentials.command("set")
def set_values(
    server: ServerArg,
    items: Annotated[list[str], typer.Argument(help="NAME (asked for, hidden) or NAME=VALUE.", show_default=False)],
    url: UrlOption = None,
) -> None:
    """Set your own values (encrypted at rest, never shown again); your instance of the server restarts with them."""
    values: dict[str, str | None] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not name:
            raise typer.BadParameter(f"{item!r} is not NAME or NAME=VALUE", param_hint="ITEMS")
        values[name] = value if sep else typer.prompt(name, hide_input=True)
    _put(server, values, url)


@credentials.command("unset")
def unset_values(
    server: ServerArg,
    names: Annotated[list[str], typer.Argument(help="The variables to remove.", show_default=False)],
    url: UrlOption = None,
) -> None:
    """Remove your own values."""
    _put(server, dict.fromkeys(names), url)


def _put(server: str, values: dict[str, str | None], url: str | None) -> None:
    async def act(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        body = {"values": values}
        return dict(await client.request("PUT", f"/api/servers/{found['id']}/credentials", json=body))

    _print(run_api(act, url))


def _print(found: dict[str, Any]) -> None:
    if not found["required"]:
        typer.echo("This server takes nothing per user.")
        return
    typer.echo(f"set: {', '.join(found['set']) or 'nothing yet'}")
    if found["missing"]:
        typer.echo(f"missing: {', '.join(found['missing'])}")
