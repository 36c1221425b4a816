"""``mcphost servers files``: a server's files in its /data — ``ls`` a directory, ``put`` a local file, ``get`` one
back (both with a progress bar), ``rm`` (asks first)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, YesOption, console, esc, fail, print_json, run_api, short_time

if TYPE_CHECKING:
    from rich.progress import Progress

    from mcphost.client import MCPHostClient

app = typer.Typer(help="Files of a server, in its data directory (/data inside the server).", no_args_is_help=True)
ServerArg = Annotated[str, typer.Argument(help="The server's id or slug.", show_default=False)]
RemoteArg = Annotated[str, typer.Argument(help="A path in the server's /data, e.g. docs/a.txt.", show_default=False)]


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return str(value)


@app.command("ls")
def list_files(
    server: ServerArg,
    path: Annotated[str, typer.Argument(help="A directory in /data; default: /data itself.")] = "",
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """List a directory: type, size, modification time, checksum and content type."""
    from mcphost.client import files

    async def fetch(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        return await files.list_files(client, found["id"], path)

    listing = run_api(fetch, url)
    if as_json:
        print_json(listing)
        return
    from rich.table import Table

    out = console()
    table = Table("NAME", "TYPE", "SIZE", "MODIFIED", "SHA256", "CONTENT TYPE", box=None)
    for entry in listing["entries"]:
        name = entry["name"] + ("/" if entry["type"] == "directory" else "")
        table.add_row(
            esc(name),
            entry["type"],
            _size(entry["size"]),
            short_time(entry["modified_at"]),
            (entry["sha256"] or "")[:12],
            entry["content_type"] or "",
        )
    if listing["entries"]:
        out.print(table)
    else:
        out.print(f"{esc(listing['path'])} is empty; upload with: mcphost servers files put {esc(server)} FILE")
    more = f" ({listing['total'] - len(listing['entries'])} more not listed)" if listing["truncated"] else ""
    out.print(f"[dim]{_size(listing['used_bytes'])} of {_size(listing['quota_bytes'])} used{more}[/dim]")


def _progress() -> Progress:
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console(stderr=True),
        transient=True,
    )


@app.command("put")
def put(
    server: ServerArg,
    local: Annotated[Path, typer.Argument(help="The local file to upload.", show_default=False)],
    remote: Annotated[
        str | None, typer.Argument(help="Where in /data (a path ending in / is a directory); default: its name.")
    ] = None,
    no_overwrite: Annotated[bool, typer.Option("--no-overwrite", help="Fail if the file exists.")] = False,
    url: UrlOption = None,
) -> None:
    """Upload a file into the server's /data (replaced atomically; the server sees it at /data/REMOTE)."""
    from mcphost.client import files

    if not local.is_file():
        fail(f"{local} is not a file")
    target = remote or local.name
    if target.endswith("/"):
        target += local.name
    size = local.stat().st_size

    async def act(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        with _progress() as bar:
            task = bar.add_task(f"uploading {local.name}", total=size)
            return await files.upload(
                client,
                found["id"],
                local,
                target,
                overwrite=not no_overwrite,
                progress=lambda done: bar.update(task, completed=done),
            )

    stored = run_api(act, url)
    verb = "uploaded" if stored["created"] else "replaced"
    typer.echo(f"{verb} /data/{stored['path']} ({_size(stored['size'])}, sha256 {stored['sha256']})")


@app.command("get")
def get(
    server: ServerArg,
    remote: RemoteArg,
    local: Annotated[Path | None, typer.Argument(help="Where to write it; default: its name, here.")] = None,
    url: UrlOption = None,
) -> None:
    """Download a file from the server's /data."""
    from mcphost.client import files

    target = local or Path(remote.rstrip("/").rsplit("/", 1)[-1])
    if target.is_dir():
        target = target / remote.rstrip("/").rsplit("/", 1)[-1]

    async def act(client: MCPHostClient) -> int:
        found = await client.resolve_server(server)
        with _progress() as bar:
            task = bar.add_task(f"downloading {target.name}", total=None)
            return await files.download(
                client,
                found["id"],
                remote,
                target,
                started=lambda total: bar.update(task, total=total),
                progress=lambda done: bar.update(task, completed=done),
            )

    written = run_api(act, url)
    typer.echo(f"downloaded {target} ({_size(written)})")


@app.command("rm")
def remove(
    server: ServerArg,
    remote: RemoteArg,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Delete a directory with its contents.")] = False,
    url: UrlOption = None,
    yes: YesOption = False,
) -> None:
    """Delete a file (or, with -r, a directory) from the server's /data."""
    from mcphost.client import files

    if not yes:
        typer.confirm(f"Delete /data/{remote.strip('/')} of {server}? The server loses it too.", abort=True)

    async def act(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        return await files.delete(client, found["id"], remote, recursive=recursive)

    deleted = run_api(act, url)
    typer.echo(f"deleted {deleted['type']} /data/{deleted['path']}")
