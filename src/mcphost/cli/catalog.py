"""``mcphost catalog``: browse the servers that can be deployed, and (administrators) import a server.json."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, console, esc, fail, print_json, run_api, short_time

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

app = typer.Typer(help="The catalog of deployable MCP servers.", no_args_is_help=True)

NameArg = Annotated[
    str, typer.Argument(help="The entry's server.json name, or its short name (time) or title.", show_default=False)
]
LimitOption = Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many entries.")]


def _search(query: str | None, url: str | None, limit: int, as_json: bool) -> None:
    from mcphost.client import resources

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        return await resources.search_catalog(client, query, limit=limit)

    entries = run_api(fetch, url)
    if as_json:
        print_json(entries)
        return
    if not entries:
        typer.echo("No catalog entries match." if query else "The catalog is empty.")
        return
    from rich.table import Table

    table = Table("NAME", "VERSION", "TITLE", "INSTALL", "DESCRIPTION", box=None)
    for entry in entries:
        table.add_row(
            esc(entry["name"]),
            esc(entry["version"]),
            esc(entry.get("title") or ""),
            esc(", ".join(entry.get("registry_types") or [])),
            esc(entry.get("description") or ""),
        )
    console().print(table)


def find_entry(ref: str, version: str | None, url: str | None) -> dict[str, Any]:
    """The catalog entry named ``ref`` (its full name, or its short name or title); when there is none, one line
    that says how to search the catalog."""
    from mcphost.client import ApiError, resources

    async def fetch(client: MCPHostClient) -> dict[str, Any]:
        try:
            return await resources.find_catalog_entry(client, ref, version)
        except ApiError as exc:
            if exc.status != 404:
                raise
            # In the command line's words: the API's message names its HTTP route.
            which = f"{ref!r} in version {version}" if version else repr(ref)
            words = ref.rsplit("/", 1)[-1]
            hint = f"search the catalog with `mcphost catalog search {words}`"
            raise ApiError(404, exc.code, f"No catalog entry is called {which}; {hint}.") from None

    return run_api(fetch, url)


@app.command("list")
def list_entries(url: UrlOption = None, limit: LimitOption = 100, as_json: JsonOption = False) -> None:
    """Every catalog entry (the newest version of each)."""
    _search(None, url, limit, as_json)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words in the name, title or description.", show_default=False)],
    url: UrlOption = None,
    limit: LimitOption = 100,
    as_json: JsonOption = False,
) -> None:
    """Catalog entries whose name, title or description holds QUERY."""
    _search(query, url, limit, as_json)


@app.command()
def show(
    name: NameArg,
    url: UrlOption = None,
    version: Annotated[str | None, typer.Option("--version", help="A given version (default: newest).")] = None,
    as_json: JsonOption = False,
) -> None:
    """One catalog entry: what it installs and the inputs a deployment takes."""
    entry = find_entry(name, version, url)
    if as_json:
        print_json(entry)
        return
    from rich.table import Table

    rows = [
        ("name", entry["name"]),
        ("version", entry["version"]),
        ("title", entry.get("title") or "-"),
        ("description", entry.get("description") or "-"),
        ("install", ", ".join(entry.get("registry_types") or []) or "-"),
        ("builtin", "yes" if entry.get("builtin") else "no"),
        ("updated", short_time(entry.get("updated_at"))),
    ]
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, esc(value))
    out = console()
    out.print(table)
    inputs = entry.get("inputs") or []
    if inputs:
        inputs_table = Table("INPUT", "REQUIRED", "SECRET", "DEFAULT", "DESCRIPTION", box=None, title="inputs")
        for item in inputs:
            inputs_table.add_row(
                esc(item.get("name")),
                "yes" if item.get("required") else "no",
                "yes" if item.get("secret") else "no",
                esc(item.get("default") or ""),
                esc(item.get("description") or ""),
            )
        out.print(inputs_table)


@app.command("import")
def import_entry(
    file: Annotated[Path, typer.Argument(help="A server.json document.", show_default=False)],
    url: UrlOption = None,
) -> None:
    """Add a server.json to the catalog (administrators)."""
    import json

    from mcphost.client import resources

    try:
        document = json.loads(file.read_text())
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    except ValueError as exc:
        fail(f"{file} is not JSON: {exc}")
    if not isinstance(document, dict):
        fail(f"{file} does not hold a JSON object")

    async def send(client: MCPHostClient) -> dict[str, Any]:
        return await resources.import_catalog_entry(client, document)

    entry = run_api(send, url)
    typer.echo(f"Imported {entry['name']} {entry['version']}")
