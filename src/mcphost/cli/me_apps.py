"""``mcphost me apps``: the apps (OAuth clients: Claude, Cursor, VS Code…) you authorised to call a server for you,
and revoking one (every token it holds stops working at once)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, console, esc, print_json, run_api, short_time

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

app = typer.Typer(help="Apps you authorised through OAuth.", no_args_is_help=True)
APPS_PATH = "/api/me/oauth/apps"


@app.command("list")
def list_apps(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Each app you authorised: which server it may call, with which scopes, when it was last used."""

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        return list(await client.request("GET", APPS_PATH))

    apps = run_api(fetch, url)
    if as_json:
        print_json(apps)
        return
    if not apps:
        typer.echo("You have authorised no app.")
        return
    from rich.table import Table

    table = Table("ID", "APP", "FROM", "SERVER", "SCOPES", "AUTHORISED", "LAST USED", box=None)
    for item in apps:
        table.add_row(
            esc(item["id"]),
            esc(item["client_name"]),
            esc(item.get("client_host") or "-"),
            esc(item["server_slug"]),
            esc(",".join(item["scopes"])),
            short_time(item["authorised_at"]),
            short_time(item.get("last_used_at")) or "-",
        )
    console().print(table)


@app.command()
def revoke(
    app_id: Annotated[str, typer.Argument(help="The id `me apps list` shows.", show_default=False)],
    url: UrlOption = None,
) -> None:
    """Revoke an app's access: its tokens stop working at once; it must ask you again."""

    async def send(client: MCPHostClient) -> None:
        await client.request("DELETE", f"{APPS_PATH}/{app_id}")

    run_api(send, url)
    typer.echo(f"Revoked app {app_id}.")
