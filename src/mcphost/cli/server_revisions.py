"""``mcphost servers revisions`` and ``rollback``: every deploy of a server, numbered, and going back to one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.follow import DEFAULT_TIMEOUT, TimeoutOption, WaitFailed, WaitOption
from mcphost.cli.output import JsonOption, UrlOption, console, esc, fail, print_json, run_api, short_time

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

ServerArg = Annotated[str, typer.Argument(help="The server's id or slug.", show_default=False)]


def revisions(
    server: ServerArg,
    url: UrlOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="How many of the newest.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The server's revisions, newest first: what each deploy put in place, why and by whom (* is live)."""

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        found = await client.resolve_server(server)
        return list((await client.list_revisions(found["id"], limit=limit))["items"])

    found = run_api(fetch, url)
    if as_json:
        print_json(found)
        return
    from rich.table import Table

    from mcphost.revisions.views import describe_resolved

    table = Table("REV", "CREATED", "REASON", "BY", "SOURCE", "RESOLVED", "DETAIL", box=None)
    for revision in found:
        number = f"[bold green]{revision['number']} *[/]" if revision["live"] else str(revision["number"])
        table.add_row(
            number,
            short_time(revision["created_at"]),
            esc(revision["reason"]),
            esc(revision.get("created_by_email") or revision["actor"]),
            esc(describe_source(revision["source"])),
            esc(describe_resolved(revision.get("resolved"))),
            esc(revision.get("detail") or ""),
        )
    console().print(table)


def rollback(
    server: ServerArg,
    revision: Annotated[int, typer.Argument(min=1, help="The revision to deploy again.", show_default=False)],
    url: UrlOption = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Deploy an earlier revision's source and settings again (secrets stay as they are); a new revision."""

    async def act(client: MCPHostClient) -> dict[str, Any]:
        from mcphost.cli.follow import opened, wait_for

        found = await client.resolve_server(server)
        if not wait:
            return await client.rollback(found["id"], revision)
        async with opened(client.follow_status(found["id"])) as (_, changes):
            answer = await client.rollback(found["id"], revision)
            try:
                await wait_for(client, answer["server"], "running", within=timeout, changes=changes, must_change=True)
            except WaitFailed as exc:
                answer["wait_error"] = exc.message
        return answer

    answer = run_api(act, url)
    if as_json:
        print_json(answer)
    else:
        new, slug = answer["revision"], answer["server"]["slug"]
        typer.echo(f"{slug}: rolled back to revision {revision} as revision {new['number']} ({new['detail']})")
    if answer.get("wait_error"):
        fail(answer["wait_error"])
    if wait and not as_json:
        typer.echo(f"{answer['server']['slug']} is running")


def describe_source(source: dict[str, Any]) -> str:
    kind = source.get("type")
    if kind == "catalog":
        package = source.get("package") or {}
        return f"{source.get('name')} ({describe_source(package)})"
    if kind == "package":
        return f"{source.get('identifier')} {source.get('version') or '(newest)'}"
    if kind == "command":
        return " ".join(str(part) for part in source.get("command") or [])
    if kind == "image":
        return str(source.get("image"))
    if kind == "git":
        ref = source.get("ref")
        return f"{source.get('url')}" + (f" @{ref}" if ref else "")
    return str(kind)
