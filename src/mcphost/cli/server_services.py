"""``mcphost servers services``: a server's attached PostgreSQL database, Redis key prefix or S3 bucket — ``ls``,
``attach``, ``rotate`` (new credentials), ``detach`` (drops the data: asks for the server's slug first)."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, YesOption, console, esc, fail, print_json, run_api, short_time

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

app = typer.Typer(
    help="Services attached to a server: its own PostgreSQL database, Redis key prefix or S3 bucket.",
    no_args_is_help=True,
)
ServerArg = Annotated[str, typer.Argument(help="The server's id or slug.", show_default=False)]


class Kind(enum.StrEnum):
    POSTGRES = "postgres"
    REDIS = "redis"
    S3 = "s3"


KindArg = Annotated[Kind, typer.Argument(help="postgres, redis or s3.", show_default=False)]


@app.command("ls")
def list_services(server: ServerArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """The attached services, what was made and the variables the server gets (never their values)."""
    from mcphost.client import services

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        return await services.list_services(client, (await client.resolve_server(server))["id"])

    found = run_api(fetch, url)
    if as_json:
        print_json(found)
        return
    from rich.table import Table

    out = console()
    if not found:
        out.print(f"no services attached; attach one with: mcphost servers services attach {esc(server)} postgres")
        return
    table = Table("KIND", "RESOURCE", "USER", "VARIABLES", "SINCE", box=None)
    for item in found:
        table.add_row(
            item["kind"], esc(item["resource"]), esc(item["username"]), ", ".join(item["env"]),
            short_time(item["created_at"]),
        )  # fmt: skip
    out.print(table)


@app.command()
def attach(server: ServerArg, kind: KindArg, url: UrlOption = None) -> None:
    """Give the server a database / key prefix / bucket of its own; it restarts with the new variables."""
    from mcphost.client import services

    async def act(client: MCPHostClient) -> dict[str, Any]:
        return await services.attach(client, (await client.resolve_server(server))["id"], kind.value)

    made = run_api(act, url)
    typer.echo(f"attached {kind.value}: {made['resource']} (the server restarts with {', '.join(made['env'])})")


@app.command()
def rotate(server: ServerArg, kind: KindArg, url: UrlOption = None) -> None:
    """New credentials for an attached service (the old ones stop working); the server restarts with them."""
    from mcphost.client import services

    async def act(client: MCPHostClient) -> dict[str, Any]:
        return await services.rotate(client, (await client.resolve_server(server))["id"], kind.value)

    run_api(act, url)
    typer.echo(f"new {kind.value} credentials; the server restarts with them")


@app.command()
def detach(server: ServerArg, kind: KindArg, url: UrlOption = None, yes: YesOption = False) -> None:
    """Detach a service and DROP its data (the database, keys or bucket); asks for the server's slug first."""
    from mcphost.client import services

    async def slug_of(client: MCPHostClient) -> str:
        return str((await client.resolve_server(server))["slug"])

    slug = run_api(slug_of, url)
    if not yes:
        typed = typer.prompt(f"This drops the {kind.value} data of {slug} for good. Type the server's slug to confirm")
        if typed.strip() != slug:
            fail(f"not confirmed ({typed.strip()!r} is not {slug!r}); nothing was dropped")

    async def act(client: MCPHostClient) -> dict[str, Any]:
        return await services.detach(client, (await client.resolve_server(slug))["id"], kind.value, slug)

    gone = run_api(act, url)
    typer.echo(f"detached {kind.value}: dropped {gone['resource']}")
