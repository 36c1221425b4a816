"""``mcphost servers webhook``: the server's webhook URLs with ready-to-use settings, its recent deliveries, and
rotating its secret (printed only then)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, console, esc, print_json, run_api, short_time

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

app = typer.Typer(help="The webhooks that redeploy a server (generic and GitHub).", no_args_is_help=True)
ServerArg = Annotated[str, typer.Argument(help="The server's id or slug.", show_default=False)]
OUTCOME_STYLES = {"redeployed": "green", "ignored": "dim", "rejected": "red"}


@app.command()
def show(
    server: ServerArg,
    url: UrlOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="How many recent deliveries.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """The webhook URLs, how to call them (curl, GitHub settings) and the recent deliveries."""

    async def fetch(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        webhook = await client.get_webhook(found["id"])
        deliveries = await client.list_webhook_deliveries(found["id"], limit=limit)
        return {"server": found, "webhook": webhook, "deliveries": deliveries["items"]}

    found = run_api(fetch, url)
    if as_json:
        print_json({**found["webhook"], "deliveries": found["deliveries"]})
        return
    webhook, slug = found["webhook"], found["server"]["slug"]
    out = console()
    if webhook["has_secret"]:
        secret = f"set {short_time(webhook['rotated_at'])} UTC (shown once; `mcphost servers webhook rotate {slug}`)"
    else:
        secret = f"none yet: `mcphost servers webhook rotate {slug}` makes one"
    if webhook["follows_pushes"]:
        follows = f"pushes to {webhook['git_branch'] or 'the default branch'}"
    else:
        follows = "nothing from GitHub: the server is not a git source (the generic webhook still redeploys it)"
    out.print(f"[bold]Webhook of {esc(slug)}[/]")
    out.print(f"  URL         {esc(webhook['url'])}")
    out.print(f"  GitHub URL  {esc(webhook['github_url'])}")
    out.print(f"  Secret      {esc(secret)}")
    out.print(f"  GitHub      {esc(follows)}")
    out.print("\n[bold]Redeploy from a script or CI[/] (answers 202 with the new revision):")
    out.print(f'  curl -X POST -H "X-Webhook-Secret: $WEBHOOK_SECRET" {esc(webhook["url"])}', soft_wrap=True)
    out.print("\n[bold]GitHub[/] (repository Settings > Webhooks > Add webhook):")
    out.print(f"  Payload URL   {esc(webhook['github_url'])}")
    out.print("  Content type  application/json")
    out.print("  Secret        the webhook secret")
    out.print("  Events        Just the push event")
    print_deliveries(found["deliveries"])


def print_deliveries(deliveries: list[dict[str, Any]]) -> None:
    out = console()
    if not deliveries:
        out.print("\nNo deliveries yet.")
        return
    from rich.table import Table

    table = Table("TIME", "ENDPOINT", "EVENT", "OUTCOME", "REV", "DETAIL", box=None)
    for delivery in deliveries:
        style = OUTCOME_STYLES.get(delivery["outcome"], "")
        table.add_row(
            short_time(delivery["received_at"]),
            esc(delivery["endpoint"]),
            esc(delivery["event"]),
            f"[{style}]{delivery['outcome']}[/]" if style else esc(delivery["outcome"]),
            str(delivery["revision"] or "-"),
            esc(delivery["detail"]),
        )
    out.print("\n[bold]Recent deliveries[/]")
    out.print(table)


@app.command()
def rotate(server: ServerArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Make a new webhook secret and print it (only this once); the old secret stops working now."""

    async def make(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        return await client.rotate_webhook(found["id"])

    rotated = run_api(make, url)
    if as_json:
        print_json(rotated)
        return
    typer.echo(rotated["webhook_secret"])
    typer.echo(
        "It is shown only now; the old secret no longer works. Update it where it is used (GitHub, CI).", err=True
    )
