"""``mcphost servers keys``: the access keys of a server's endpoint (create, list, revoke)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, console, esc, print_json, run_api, short_time

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

app = typer.Typer(help="Access keys of a server's endpoint.", no_args_is_help=True)
ServerArg = Annotated[str, typer.Argument(help="The server's id or slug.", show_default=False)]


@app.command()
def create(
    server: ServerArg,
    name: Annotated[str, typer.Option("--name", help="What the key is for.")] = "default",
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make a new access key; it is printed only this once."""

    async def make(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        return await client.create_key(found["id"], name)

    created = run_api(make, url)
    if as_json:
        print_json(created)
        return
    typer.echo(f"Created key {created['name']} ({created['id']}):")
    typer.echo(created["key"])
    typer.echo("It is shown only now.", err=True)


@app.command("list")
def list_keys(server: ServerArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """The server's access keys (their prefixes, never the keys)."""

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        found = await client.resolve_server(server)
        return await client.list_keys(found["id"])

    keys = run_api(fetch, url)
    if as_json:
        print_json(keys)
        return
    if not keys:
        typer.echo("No access keys.")
        return
    from rich.table import Table

    table = Table("ID", "NAME", "PREFIX", "CREATED", "CREATED BY", "LAST USED", "STATE", box=None)
    for key in keys:
        table.add_row(
            esc(key["id"]),
            esc(key["name"]),
            esc(key["prefix"]),
            short_time(key["created_at"]),
            esc(key.get("created_by_email") or "(deleted account)"),
            short_time(key.get("last_used_at")) or "-",
            _state(key),
        )
    console().print(table)


def _state(key: dict[str, Any]) -> str:
    if key.get("revoked_at"):
        return f"[red]revoked[/] {short_time(key['revoked_at'])}"
    if not key.get("creator_has_access", True):
        return "[red]not working: its creator lost access[/]"
    return "[green]active[/]"


@app.command()
def revoke(
    server: ServerArg,
    key: Annotated[
        str,
        typer.Argument(
            metavar="KEY", help="The key's id or its prefix, as `keys list` shows them.", show_default=False
        ),
    ],
    url: UrlOption = None,
) -> None:
    """Revoke an access key: clients using it are refused from now on."""
    ref = key.strip().removesuffix("…").removesuffix("...")

    async def remove(client: MCPHostClient) -> str:
        found = await client.resolve_server(server)
        await client.revoke_key(found["id"], ref)
        return str(found["slug"])

    slug = run_api(remove, url)
    typer.echo(f"{slug}: key {ref} revoked")
