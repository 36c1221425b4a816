"""``mcphost servers domains``: a server's custom domains (``servers domains [list] [SERVER]``), claiming one
(``add``: prints what to publish), verifying it, and removing it (``rm``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from mcphost.cli.output import JsonOption, UrlOption, YesOption, console, esc, print_json, run_api, short_time

if TYPE_CHECKING:
    from rich.console import Console

    from mcphost.client import MCPHostClient


class _ListByDefault(TyperGroup):
    """``servers domains SERVER`` is ``servers domains list SERVER``; ``servers domains`` lists every server's."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return list(super().parse_args(ctx, args or ["list"]))

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().resolve_command(ctx, args)


app = typer.Typer(cls=_ListByDefault, help="Custom domains of servers: https://DOMAIN/mcp with automatic TLS.")
ServerArg = Annotated[str, typer.Argument(help="The server's id or slug.", show_default=False)]
DomainArg = Annotated[str, typer.Argument(help="The domain, e.g. mcp.example.com.", show_default=False)]
STATUS_STYLES = {"verified": "green", "pending_verification": "yellow"}
CERTIFICATE_STYLES = {"issued": "green", "pending": "yellow", "failed": "bold red"}


@app.command("list")
def list_domains(
    server: Annotated[
        str | None, typer.Argument(help="The server's id or slug; default: every server you see.", show_default=False)
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Domains with their state and certificate."""

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        servers = [await client.resolve_server(server)] if server else await client.all_servers()
        found = []
        for item in servers:
            found += [domain | {"server": item["slug"]} for domain in await client.list_domains(item["id"])]
        return found

    domains = run_api(fetch, url)
    if as_json:
        print_json(domains)
        return
    from rich.table import Table

    out = console()
    if not domains:
        out.print("no custom domains; add one with: mcphost servers domains add SERVER DOMAIN")
        return
    table = Table("DOMAIN", "SERVER", "STATUS", "CERTIFICATE", "DETAIL", box=None)
    for domain in domains:
        status, certificate = domain["status"], domain["certificate"]["status"] or ""
        table.add_row(
            esc(domain["display_name"]),
            esc(domain["server"]),
            f"[{STATUS_STYLES.get(status, '')}]{status}[/]",
            f"[{CERTIFICATE_STYLES.get(certificate, '')}]{certificate or '-'}[/]",
            esc(domain["certificate"]["detail"] or ""),
        )
    out.print(table)


@app.command()
def add(server: ServerArg, domain: DomainArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Claim DOMAIN for the server and print how to prove you control it."""

    async def act(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        return await client.add_domain(found["id"], domain)

    added = run_api(act, url)
    if as_json:
        print_json(added)
        return
    out = console()
    out.print(f"[bold]{esc(added['display_name'])}[/] added to {esc(server)}: pending verification")
    _instructions(out, added)
    out.print(f"\nthen: mcphost servers domains verify {esc(server)} {esc(added['domain'])}")


def _instructions(out: Console, domain: dict[str, Any]) -> None:
    verification = domain["verification"]
    out.print("\nProve you control it, either way:")
    out.print("  1. a DNS TXT record")
    out.print(f"       name   {esc(verification['dns']['name'])}")
    out.print(f"       value  {esc(verification['dns']['value'])}")
    out.print("  2. an HTTP file")
    out.print(f"       {esc(verification['http']['url'])}  answering  {esc(verification['http']['body'])}")
    out.print(f"       {esc(verification['http']['note'])}", soft_wrap=True)
    if verification["point_to"]:
        out.print(f"\nPoint {esc(domain['domain'])} (CNAME or A/AAAA) at {esc(verification['point_to'])}.")


@app.command()
def verify(server: ServerArg, domain: DomainArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Check the published token; once verified, the domain is served and its certificate obtained."""

    async def act(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        return await client.verify_domain(found["id"], domain)

    verified = run_api(act, url)
    if as_json:
        print_json(verified)
        return
    certificate = verified["certificate"]
    typer.echo(
        f"{verified['domain']}: verified ({verified['verified_with']}, {short_time(verified['verified_at'])} UTC); "
        f"certificate {certificate['status']}: {certificate['detail']}"
    )
    typer.echo(f"endpoint: {verified['endpoint_url']}")


@app.command("rm")
def remove(server: ServerArg, domain: DomainArg, url: UrlOption = None, yes: YesOption = False) -> None:
    """Remove DOMAIN from the server: it stops being served at once."""
    if not yes:
        typer.confirm(
            f"Remove {domain} from {server}? Clients using https://{domain}/mcp will stop reaching it.", abort=True
        )

    async def act(client: MCPHostClient) -> None:
        found = await client.resolve_server(server)
        await client.remove_domain(found["id"], domain)

    run_api(act, url)
    typer.echo(f"removed {domain}")
