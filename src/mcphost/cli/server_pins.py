"""``mcphost servers pins`` and ``approve``: the server's tool, prompt and resource definitions as approved and as
declared now, what changed in the held ones, and approving them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, console, esc, print_json, run_api, short_time
from mcphost.pinning.definitions import differences

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

ServerArg = Annotated[str, typer.Argument(help="The server's id or slug.", show_default=False)]
STATE_STYLES = {"approved": "green", "held": "bold red", "changed": "yellow", "gone": "dim"}


def pins(server: ServerArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """The server's tools, prompts and resources: approved, held (changed or new, hidden and refused until approved),
    changed (served: policy warn or off) or gone; for each change, what differs."""

    async def fetch(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        return await client.list_pins(found["id"])

    found = run_api(fetch, url)
    if as_json:
        print_json(found)
        return
    from rich.table import Table

    out = console()
    out.print(f"policy: {found['policy']}")
    table = Table("KIND", "NAME", "STATE", "SINCE", box=None)
    for item in found["items"]:
        style = STATE_STYLES.get(item["state"], "")
        table.add_row(item["kind"], esc(item["name"]), f"[{style}]{item['state']}[/]", short_time(item["changed_at"]))
    out.print(table)
    for item in found["items"]:
        if item["state"] in ("held", "changed"):
            out.print(f"\n[bold]{item['kind']} {esc(item['name'])}[/]")
            for line in differences(item.get("approved"), item.get("current")):
                out.print(esc(line))
    if found["held"]:
        out.print(f"\napprove with: mcphost servers approve {esc(server)} [NAME …]")


def approve(
    server: ServerArg,
    names: Annotated[
        list[str] | None, typer.Argument(help="The held items (tool or prompt names, resource URIs); default: all.")
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve the changed definitions of held items: they are listed and served again as they are now."""

    async def act(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        return await client.approve_pins(found["id"], names or None)

    answer = run_api(act, url)
    if as_json:
        print_json(answer)
        return
    approved = [f"{item['kind']} {item['name']}" for item in answer["approved"]]
    typer.echo(f"approved: {', '.join(approved) or 'nothing was held'}")
    still = [name for held in answer["held"].values() for name in held]
    if still:
        typer.echo(f"still held: {', '.join(still)}")
