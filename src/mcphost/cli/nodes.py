"""``mcphost nodes``: the nodes hosting servers and whether each is up (administrators)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, console, esc, print_json, run_api, short_time

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

app = typer.Typer(help="Nodes hosting servers (administrators).", no_args_is_help=True)
STATE_STYLES = {"up": "green", "down": "red", "stopped": "dim"}


@app.command("list")
def list_nodes(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Every node that registered, its internal address, state and last heartbeat."""

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        return list(await client.request("GET", "/api/nodes"))

    nodes = run_api(fetch, url)
    if as_json:
        print_json(nodes)
        return
    if not nodes:
        typer.echo("No node has registered (nodes register when mcphost up hosts servers).")
        return
    from rich.table import Table

    table = Table("NODE", "STATE", "SINCE", "LAST HEARTBEAT", "SERVERS", "INTERNAL ADDRESS", "VERSION", box=None)
    for node in nodes:
        state = node["state"]
        table.add_row(
            esc(node["name"]),
            f"[{STATE_STYLES.get(state, 'white')}]{state}[/]",
            short_time(node.get("down_since") or node["started_at"]),
            short_time(node["heartbeat_at"]),
            str(node["servers"]),
            esc(node["internal_url"]),
            esc(node["version"]),
        )
    console().print(table)
