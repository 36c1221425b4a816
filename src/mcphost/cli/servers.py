"""``mcphost servers``: list, inspect, start, stop, restart and delete servers; their logs, tools and calls.

A server is named by its id or its slug (or its name when only one server has it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli import (
    server_calls,
    server_deploy,
    server_domains,
    server_files,
    server_keys,
    server_pins,
    server_revisions,
    server_services,
    server_tools,
    server_webhook,
)
from mcphost.cli.follow import DEFAULT_TIMEOUT, TimeoutOption, WaitFailed, WaitOption, format_log_line
from mcphost.cli.output import (
    JsonOption,
    UrlOption,
    YesOption,
    console,
    esc,
    fail,
    print_json,
    run_api,
    short_time,
    styled_status,
)

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient
    from mcphost.client._client import ServerAction

app = typer.Typer(help="Deployed MCP servers: lifecycle, logs, tools and calls.", no_args_is_help=True)
app.add_typer(server_tools.app, name="tools")
app.command("call")(server_calls.call)
app.command("deploy")(server_deploy.deploy)
app.command("create")(server_deploy.create)
app.add_typer(server_keys.app, name="keys")
app.command("revisions")(server_revisions.revisions)
app.command("rollback")(server_revisions.rollback)
app.command("pins")(server_pins.pins)
app.command("approve")(server_pins.approve)
app.add_typer(server_webhook.app, name="webhook")
app.add_typer(server_domains.app, name="domains")
app.add_typer(server_files.app, name="files")
app.add_typer(server_services.app, name="services")

ServerArg = Annotated[str, typer.Argument(help="The server's id or slug.", show_default=False)]


@app.command("list")
def list_servers(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """The servers you may see (administrators: all)."""

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        return await client.all_servers()

    servers = run_api(fetch, url)
    if as_json:
        print_json(servers)
        return
    if not servers:
        typer.echo("No servers yet.")
        return
    from rich.table import Table

    table = Table("SLUG", "NAME", "STATUS", "RUNTIME", "ENDPOINT", box=None)
    for server in servers:
        table.add_row(
            esc(server["slug"]),
            esc(server["name"]),
            styled_status(server["status"]),
            esc(server["runtime"]),
            esc(server["endpoint_url"]),
        )
    console().print(table)


@app.command()
def show(server: ServerArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Everything about one server (secret values excepted)."""

    async def fetch(client: MCPHostClient) -> dict[str, Any]:
        return await client.resolve_server(server)

    found = run_api(fetch, url)
    if as_json:
        print_json(found)
        return
    from rich.table import Table

    reason = found.get("status_reason")
    status = styled_status(found["status"]) + (f" ({esc(reason)})" if reason else "")
    rows = [
        ("id", found["id"]),
        ("name", found["name"]),
        ("slug", found["slug"]),
        ("status", status),
        ("desired", found["desired_state"]),
        ("runtime", found["runtime"]),
        ("source", _compact(found["source"])),
        ("endpoint", found["endpoint_url"]),
        ("isolation", found["isolation"]),
        ("network", found["network"]),
        ("env", ", ".join(found.get("env") or {}) or "-"),
        ("secrets", ", ".join(found.get("secret_env") or []) or "-"),
        ("revision", str(found.get("revision", "-"))),
        ("restarts", str(found["restart_count"])),
        ("created", short_time(found["created_at"])),
        ("last started", short_time(found.get("last_started_at")) or "-"),
    ]
    rows += [("warning", warning) for warning in found.get("warnings") or []]
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value if key == "status" else esc(value))
    console().print(table)


def _act(
    server: str,
    action: ServerAction,
    url: str | None,
    wait: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    options: dict[str, bool] | None = None,
) -> None:
    async def act(client: MCPHostClient) -> dict[str, Any]:
        from mcphost.cli.follow import opened, wait_for

        found = await client.resolve_server(server)
        if not wait:
            return await client.server_action(found["id"], action, options)
        # The stream is open before the action, so no change it causes is missed.
        async with opened(client.follow_status(found["id"])) as (now, changes):
            changed = await client.server_action(found["id"], action, options)
            _requested(changed, action)
            target = "stopped" if action == "stop" else "running"
            must_change = action in ("restart", "redeploy") or now["status"] != target
            try:
                await wait_for(client, changed, target, within=timeout, changes=changes, must_change=must_change)
            except WaitFailed as exc:
                changed["wait_error"] = exc.message
        return changed

    changed = run_api(act, url)
    if not wait:
        _requested(changed, action)
    elif changed.get("wait_error"):
        fail(changed["wait_error"])
    else:
        typer.echo(f"{changed['slug']} is {'stopped' if action == 'stop' else 'running'}")


def _requested(changed: dict[str, Any], action: str) -> None:
    now, desired = changed["status"], changed["desired_state"]
    typer.echo(f"{changed['slug']}: {action} requested (status {now}, desired {desired})")


@app.command()
def start(
    server: ServerArg, url: UrlOption = None, wait: WaitOption = False, timeout: TimeoutOption = DEFAULT_TIMEOUT
) -> None:
    """Start a stopped server."""
    _act(server, "start", url, wait, timeout)


@app.command()
def stop(
    server: ServerArg, url: UrlOption = None, wait: WaitOption = False, timeout: TimeoutOption = DEFAULT_TIMEOUT
) -> None:
    """Stop a server (it keeps its configuration; `start` runs it again)."""
    _act(server, "stop", url, wait, timeout)


@app.command()
def restart(
    server: ServerArg, url: UrlOption = None, wait: WaitOption = False, timeout: TimeoutOption = DEFAULT_TIMEOUT
) -> None:
    """Restart a server."""
    _act(server, "restart", url, wait, timeout)


@app.command()
def redeploy(
    server: ServerArg,
    url: UrlOption = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Git sources: build every step again, without the layer cache.")
    ] = False,
    pull: Annotated[bool, typer.Option("--pull", help="Git sources: pull newer base images for the build.")] = False,
) -> None:
    """Prepare the server's source again (the newest version when none is pinned, the branch's head, the image's
    tag) and move to it without downtime: the running revision serves until the new one answers."""
    options = {"no_cache": no_cache, "pull": pull} if no_cache or pull else None
    _act(server, "redeploy", url, wait, timeout, options)


@app.command()
def delete(
    server: ServerArg,
    url: UrlOption = None,
    yes: YesOption = False,
) -> None:
    """Stop and delete a server, with its access keys."""

    async def find(client: MCPHostClient) -> dict[str, Any]:
        return await client.resolve_server(server)

    found = run_api(find, url)
    if not yes:
        typer.confirm(f"Delete {found['slug']} ({found['id']})?", abort=True)

    async def remove(client: MCPHostClient) -> None:
        await client.delete_server(found["id"])

    run_api(remove, url)
    typer.echo(f"{found['slug']}: deleted")


@app.command()
def logs(
    server: ServerArg,
    url: UrlOption = None,
    tail: Annotated[int, typer.Option("--tail", "-n", min=1, max=5000, help="How many of the newest lines.")] = 100,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl+C.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The newest log lines of a server: its own output (stderr) and what MCP Host did (platform).

    With --follow, new lines are printed as they are written (with --json: one JSON object a line)."""
    if follow:

        async def stream(client: MCPHostClient) -> None:
            from mcphost.cli.follow import print_logs

            found = await client.resolve_server(server)
            await print_logs(client, found["id"], tail, as_json)

        try:
            run_api(stream, url)
        except KeyboardInterrupt:
            raise typer.Exit(0) from None
        return

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        found = await client.resolve_server(server)
        return await client.tail_logs(found["id"], tail)

    lines = run_api(fetch, url)
    if as_json:
        print_json(lines)
        return
    for line in lines:
        typer.echo(format_log_line(line))


@app.command()
def invocations(
    server: ServerArg,
    url: UrlOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="How many of the newest.")] = 50,
    tool: Annotated[str | None, typer.Option("--tool", help="Only calls of this tool.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The requests the gateway relayed to a server, newest first."""

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        found = await client.resolve_server(server)
        page = await client.list_invocations(found["id"], limit=limit, tool=tool)
        return list(page["items"])

    records = run_api(fetch, url)
    if as_json:
        print_json(records)
        return
    if not records:
        typer.echo("No invocations recorded.")
        return
    from rich.table import Table

    table = Table("ID", "TIME", "METHOD", "NAME", "STATUS", "MS", "ERROR", box=None)
    for record in records:
        status = "[green]ok[/]" if record["status"] == "ok" else "[red]error[/]"
        table.add_row(
            str(record["id"]),
            short_time(record["ts"]),
            esc(record["method"]),
            esc(record.get("name")),
            status,
            f"{record['duration_ms']:.1f}",
            esc(record.get("error_message")),
        )
    console().print(table)


@app.command()
def metrics(
    server: ServerArg,
    url: UrlOption = None,
    interval: Annotated[str, typer.Option("--interval", help="Count per minute, hour or day.")] = "hour",
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Print each new event until Ctrl+C.")] = False,
    as_json: JsonOption = False,
) -> None:
    """What happened to a server (starts, stops, crashes, calls...): totals, per interval, and the newest events.

    With --follow, each new event is printed as it happens (with --json: one JSON object a line)."""
    if interval not in ("minute", "hour", "day"):
        raise typer.BadParameter("must be minute, hour or day", param_hint="--interval")
    if follow:

        async def stream(client: MCPHostClient) -> None:
            from mcphost.cli.follow import print_usage

            found = await client.resolve_server(server)
            await print_usage(client, found["id"], as_json)

        try:
            run_api(stream, url)
        except KeyboardInterrupt:
            raise typer.Exit(0) from None
        return

    async def fetch(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        return await client.metrics(found["id"], interval=interval)  # type: ignore[arg-type]

    found = run_api(fetch, url)
    if as_json:
        print_json(found)
        return
    from rich.table import Table

    out = console()
    totals = found.get("totals") or {}
    out.print(f"Since {short_time(found['since'])} UTC, per {found['interval']}:")
    if not totals:
        out.print("No events.")
        return
    kinds = sorted(totals)
    table = Table("START", *(kind.upper() for kind in kinds), box=None)
    for bucket in found.get("buckets") or []:
        table.add_row(short_time(bucket["start"]), *(str(bucket["counts"].get(kind, 0)) for kind in kinds))
    table.add_row("[bold]total[/]", *(f"[bold]{totals[kind]}[/]" for kind in kinds))
    out.print(table)
    events = Table("TIME", "EVENT", "DATA", box=None)
    for event in (found.get("events") or [])[:10]:
        events.add_row(short_time(event["ts"]), esc(event["kind"]), esc(_compact(event.get("data") or {})))
    out.print("Newest events:")
    out.print(events)


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, separators=(", ", ": "))
